"""Throughput and agreement of the math verifier against Math-Verify, on a realistic corpus, in one run.

Corpus: for every problem of the six math benchmarks (tests/data/math), `--per-problem` responses built the way
sampling produces them: a chain of thought (the benchmark's own solution text, boxes removed, or a generic
one), then a final answer that is the gold verbatim, the gold reformatted (`\\dfrac`, decimals, `x =`, units,
thousands separators, reordered lists ...), a wrong answer (another problem's gold, a perturbed number) or no
answer at all (a chain of thought cut at the token limit, finish_reason "length"), stated in one of the usual
formats (boxed, "final answer is", Minerva's "I hope it is correct", `Answer:`, GSM8K's `####`). Each problem
draws its responses from a small pool, so answers repeat within a problem as they do in real samples.

Measured, on the same corpus and machine (ours verifies each response in one worker process under the deadline
and runs its sympy path in another, both started before timing; their start-up is reported separately):
  1. Math-Verify (the `math-verify` backend: gold `parse("$gold$")`, response `parse(text)`, `verify`), one run,
  2. ours with the verdict cache (`batch.verify_table`, workers=1): first run, then the median of --repeat runs,
  3. ours without any cache (`Checker(cache=False)`: every memo and cache cleared before each sample): likewise,
     with the time of the slowest response and the share of responses that reached the deadline.
Then every disagreement with Math-Verify is printed once per distinct (benchmark, gold, answer), with who is
right (see `adjudicate`); `--markdown` writes them as perf/verify_math_disagreements.md.

Usage: nice python perf/verify_math.py [--per-problem 8] [--seed 0] [--repeat 3] [--json F] [--markdown F]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from fractions import Fraction
from importlib.metadata import version
from pathlib import Path

import polars as pl

from rlvr_limits.verify import mathverify_backend
from rlvr_limits.verify.math import batch, checker
from rlvr_limits.verify.math.gold import gold_from_record

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "math"
BENCHMARKS = ("aime24", "amc23", "gsm8k", "math500", "minerva_math", "olympiadbench")
_INTEGER = re.compile(r"-?\d+")
_FRACTION = re.compile(r"(-?)\\frac\{(\d+)\}\{(\d+)\}")
_NUMBER = re.compile(r"\d+")
_OPERATOR_SPACES = re.compile(r"\s*([-+=,()])\s*")
_GENERIC_COT = ("Let us work through the problem step by step. First we write down what is given and what is "
                "asked. Then we set up the relations between the quantities and simplify them carefully, "
                "checking each step. Substituting the known values gives the result below.")


def _records(benchmark: str) -> list[dict]:
    with open(DATA / benchmark / "test.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _cot(benchmark: str, record: dict) -> str:
    """A chain of thought: the benchmark's solution with its boxes opened, else a generic paragraph."""
    solution = record.get("solution")
    if benchmark == "gsm8k":
        solution = record["answer"].split("####")[0]
    if isinstance(solution, list):
        solution = "\n".join(solution)
    if not isinstance(solution, str) or not solution.strip():
        return _GENERIC_COT
    solution = solution.replace("\\boxed", "").replace("\\fbox", "")
    solution = solution.split("Final answer:")[0]  # Minerva solutions end by stating the answer
    return solution[:3000]


def _reformats(gold: str, rng: random.Random) -> list[str]:
    """Spellings of the same answer that a model might write."""
    out = [_OPERATOR_SPACES.sub(r"\1", gold), gold.replace("\\frac", "\\dfrac")]
    if _INTEGER.fullmatch(gold):
        value = int(gold)
        out += [f"{value}.0", f"x = {value}", f"{value} \\text{{ units}}"]
        if abs(value) >= 1000:
            out.append(f"{value:,}")
    match = _FRACTION.fullmatch(gold)
    if match:
        sign, a, b = match.groups()
        value = Fraction(int(a), int(b)) * (-1 if sign else 1)
        out += [f"{sign}{a}/{b}", f"{float(value):.4g}" if value.denominator not in (2, 4, 5, 8, 10)
                else str(float(value))]
    if "," in gold and not gold.startswith(("(", "[", "\\")):
        parts = [p.strip() for p in gold.split(",")]
        out.append(", ".join(reversed(parts)))
    if gold.startswith("(") and gold.endswith(")"):
        out.append(f"\\left( {gold[1:-1]} \\right)")
    if "^\\circ" in gold:
        out.append(gold.replace("^\\circ", ""))
    if gold.startswith("\\text{") and gold.endswith("}"):
        out.append(gold[len("\\text{"):-1])
    return [s for s in dict.fromkeys(out) if s and s != gold] or [gold]


def _perturbed(gold: str, rng: random.Random) -> str | None:
    numbers = list(_NUMBER.finditer(gold))
    if not numbers:
        return None
    target = rng.choice(numbers)
    value = int(target.group()) + rng.choice((1, -1, 10))
    return gold[:target.start()] + str(max(value, 0)) + gold[target.end():]


_FORMATS = (
    "{cot}\n\nTherefore, the final answer is $\\boxed{{{ans}}}$.",
    "{cot}\n\nSo the answer is $\\boxed{{{ans}}}$.",
    "{cot}\n\\[\n\\boxed{{{ans}}}\n\\]",
    "{cot}\nFinal Answer: The final answer is ${ans}$. I hope it is correct.",
    "{cot}\n\n**Answer:** ${ans}$",
    "{cot}\nThe answer is ${ans}$.",
)
_GSM8K_FORMAT = "{cot}\n#### {ans}"


def build_corpus(per_problem: int, seed: int) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    rng = random.Random(seed)
    corpus = {}
    for benchmark in BENCHMARKS:
        records = _records(benchmark)
        golds = [gold_from_record(benchmark, r) for r in records]
        problems, samples = [], []
        for index, (record, gold) in enumerate(zip(records, golds, strict=True)):
            problem_id = str(index)
            meta = {"error": record.get("error")} if benchmark == "olympiadbench" else {}
            problems.append({"problem_id": problem_id, "answer": gold, "meta": json.dumps(meta)})
            cot = _cot(benchmark, record)
            other = golds[rng.randrange(len(golds))]
            pool = [("verbatim", gold), ("reformatted", rng.choice(_reformats(gold, rng))),
                    ("other gold", other), ("perturbed", _perturbed(gold, rng)), ("truncated", None)]
            weights = [0.35, 0.25, 0.15, 0.1, 0.15]
            formats = rng.sample(_FORMATS, 2) + ([_GSM8K_FORMAT] if benchmark == "gsm8k" else [])
            for sample_idx in range(per_problem):
                kind, answer = rng.choices(pool, weights)[0]
                finish = "stop"
                if kind == "truncated" or answer is None:
                    kind, finish = "truncated", "length"
                    text = cot[:rng.randrange(max(len(cot) // 5, 1), max(7 * len(cot) // 10, 2))]
                else:
                    text = rng.choice(formats).format(cot=cot, ans=answer)
                samples.append({"problem_id": problem_id, "sample_idx": sample_idx, "text": text,
                                "finish_reason": finish, "kind": kind})
        corpus[benchmark] = (pl.DataFrame(problems), pl.DataFrame(samples))
    return corpus


def run_uncached(corpus: dict[str, tuple[pl.DataFrame, pl.DataFrame]], work: checker.Checker) -> tuple[
        dict[str, list[checker.Outcome]], float]:
    """Our verifier with every memo and cache cleared before each sample (`Checker(cache=False)`)."""
    verdicts: dict[str, list[checker.Outcome]] = {}
    total = 0.0
    for benchmark, (problems, samples) in corpus.items():
        golds = dict(problems.select("problem_id", "answer").iter_rows())
        tolerance = {pid: batch._tolerance(meta, pid) for pid, meta in problems.select("problem_id", "meta")
                     .iter_rows()}
        tasks = [(text, golds[pid], benchmark, tolerance[pid], finish == "length")
                 for pid, text, finish in samples.select("problem_id", "text", "finish_reason").iter_rows()]
        started = time.perf_counter()
        verdicts[benchmark] = work.verify_many(tasks)
        total += time.perf_counter() - started
    return verdicts, total


def start_workers(uncached: checker.Checker) -> float:
    """Start (and warm) the worker processes that the timed runs use; a one-time cost per process."""
    started = time.perf_counter()
    batch._checker(checker.DEFAULT_TIMEOUT_S, checker.DEFAULT_MEMORY_MB, 1).warm()
    uncached.warm()
    return time.perf_counter() - started


def run_cached(corpus: dict[str, tuple[pl.DataFrame, pl.DataFrame]]) -> tuple[dict[str, pl.DataFrame], float]:
    """`batch.verify_table` as the workflow runs it, starting from empty memos as a `verify` job does."""
    work = batch._checker(checker.DEFAULT_TIMEOUT_S, checker.DEFAULT_MEMORY_MB, 1)
    work._memo.clear()
    work.responses.run(("", "0", None, None, False, False), work.timeout_s)  # cache=False: the worker forgets
    out, total = {}, 0.0
    for benchmark, (problems, samples) in corpus.items():
        started = time.perf_counter()
        out[benchmark] = batch.verify_table(problems, samples, benchmark, {"workers": 1})
        total += time.perf_counter() - started
    return out, total


def run_mathverify(corpus: dict[str, tuple[pl.DataFrame, pl.DataFrame]]) -> tuple[dict[str, pl.DataFrame], float]:
    out, total = {}, 0.0
    for benchmark, (problems, samples) in corpus.items():
        started = time.perf_counter()
        out[benchmark] = mathverify_backend.verify_table(problems, samples, benchmark, {})
        total += time.perf_counter() - started
    return out, total


def disagreements(corpus: dict[str, tuple[pl.DataFrame, pl.DataFrame]], ours: dict[str, pl.DataFrame],
                  theirs: dict[str, pl.DataFrame]) -> list[dict]:
    """One entry per distinct (benchmark, gold, our extracted answer, verdicts) where the two disagree."""
    seen: dict[tuple, dict] = {}
    for benchmark, (problems, _) in corpus.items():
        golds = dict(problems.select("problem_id", "answer").iter_rows())
        kinds = corpus[benchmark][1].select("problem_id", "sample_idx", "kind")
        joined = ours[benchmark].join(theirs[benchmark], on=["problem_id", "sample_idx"], suffix="_mv").join(
            kinds, on=["problem_id", "sample_idx"])
        for row in joined.filter(pl.col("correct") != pl.col("correct_mv")).iter_rows(named=True):
            key = (benchmark, golds[row["problem_id"]], row["extracted"], row["verdict"], row["verdict_mv"],
                   row["kind"])
            entry = seen.setdefault(key, {"benchmark": benchmark, "problem_id": row["problem_id"],
                                          "gold": key[1], "kind": row["kind"], "ours_extracted": row["extracted"],
                                          "ours": row["verdict"], "mv_extracted": row["extracted_mv"],
                                          "mv": row["verdict_mv"], "samples": 0})
            entry["samples"] += 1
    return sorted(seen.values(), key=lambda e: (e["benchmark"], int(e["problem_id"])))


#: Rows the rules below cannot judge from the kind of response alone, adjudicated by reading them:
#: (benchmark, problem_id, our extracted answer) -> (who is right, why). Valid for the default corpus (seed 0, 8).
NOTES = {
    ("minerva_math", "160", "13.11"): ("ours", "the perturbed answer 13.11 rounds to Minerva's gold 13.1 at the "
                                               "gold's printed precision (Minerva golds are rounded values)"),
    ("math500", "227", "{\\text{(C)}}."): ("ours", "the response states `the answer is $\\text{(C)}$` before the "
                                                   "cut; Math-Verify cannot read `{\\text{(C)}}.`"),
    ("math500", "255", "{\\text{(E)}}."): ("ours", "the response states `the answer is $\\text{(E)}$` before the "
                                                   "cut; Math-Verify cannot read `{\\text{(E)}}.`"),
    ("math500", "302", "{5}."): ("ours", "the response states `our final answer is ${5}.$` before the cut"),
    ("olympiadbench", "318", "1938"): ("ours", "the response states its answer 1938 before the cut"),
    ("minerva_math", "101", "-\\sin (3 t) / 5+ C_{1} \\sin (2 t)+C_{3} \\cos (2 t)"): (
        "ours", "the perturbation only renames an arbitrary constant (C_2 to C_3): the same general solution "
                "(policy: arbitrary constants)"),
}
_DECIMAL = re.compile(r"-?\d*\.\d+")


def adjudicate(e: dict) -> tuple[str, str]:
    """(who is right: ours | math-verify, why) for one disagreement."""
    note = NOTES.get((e["benchmark"], e["problem_id"], e["ours_extracted"]))
    if note is not None:
        return note
    ours_correct = e["ours"] == "correct"
    same = "".join((e["mv_extracted"] or "").split()) == "".join((e["ours_extracted"] or "").split())
    elsewhere = f"Math-Verify takes {e['mv_extracted']!r} from the reasoning instead of the final answer"
    if e["kind"] in ("verbatim", "reformatted"):
        if not ours_correct:
            return "math-verify", "UNADJUDICATED: we reject the gold or a rewriting of it"
        if _DECIMAL.fullmatch(e["ours_extracted"] or "") and e["mv"] == "wrong":
            return "ours", ("a decimal with at least 3 significant figures, at its printed precision (policy); "
                            "Math-Verify requires 6 decimals")
        return "ours", ("Math-Verify extracts the same answer but rejects it (it misreads the gold or the "
                        "notation)") if same else elsewhere
    if e["kind"] in ("other gold", "perturbed"):
        if ours_correct:
            return "math-verify", "UNADJUDICATED: we accept a different answer"
        return "ours", "Math-Verify accepts this different answer (a partial parse)" if same else elsewhere
    if e["kind"] == "truncated" and e["ours_extracted"] is None:
        return "ours", ("the response is cut before it states an answer; Math-Verify credits "
                        f"{e['mv_extracted']!r} taken from the unfinished reasoning")
    return "math-verify", "UNADJUDICATED"


def _cell(text: str | None) -> str:
    return "–" if text is None else "`" + text.replace("|", "\\|").replace("`", "'")[:120] + "`"


def write_markdown(path: str, summary: list[str], found: list[dict], args: argparse.Namespace) -> None:
    lines = ["# Disagreements between our math verifier and Math-Verify", "",
             f"Written by `perf/verify_math.py --markdown` (corpus: seed {args.seed}, {args.per_problem} responses "
             "per problem). Each row is "
             "one distinct (benchmark, gold, answer) on which the two verifiers disagree about *correct*; "
             "`samples` counts the responses. The corpus knows what each response is (the gold verbatim or "
             "reformatted, another problem's gold, a perturbed gold, or a chain of thought cut at the token "
             "limit), which decides most rows; the others were read one by one (`NOTES` in the script).", "",
             "## Run", "", *[f"    {line}" for line in summary], "", "## Rows", "",
             "| # | benchmark | problem | kind | samples | gold | ours | Math-Verify | right | why |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for index, e in enumerate(found, 1):
        who, why = adjudicate(e)
        lines.append(f"| {index} | {e['benchmark']} | {e['problem_id']} | {e['kind']} | {e['samples']} | "
                     f"{_cell(e['gold'])} | {e['ours']} on {_cell(e['ours_extracted'])} | {e['mv']} on "
                     f"{_cell(e['mv_extracted'])} | {who} | {why.replace('|', '/')} |")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-problem", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of ours after the first (median)")
    parser.add_argument("--json", help="also write the numbers and disagreements here")
    parser.add_argument("--markdown", help="also write every disagreement, adjudicated, as a markdown table")
    args = parser.parse_args(argv)

    summary: list[str] = []

    def report(line: str) -> None:
        summary.append(line)
        print(line, flush=True)

    corpus = build_corpus(args.per_problem, args.seed)
    n = sum(samples.height for _, samples in corpus.values())
    distinct = sum(samples.select("problem_id", "text").n_unique() for _, samples in corpus.values())
    kinds = Counter(k for _, samples in corpus.values() for k in samples["kind"].to_list())
    report(f"corpus: {n} responses over {sum(p.height for p, _ in corpus.values())} problems "
           f"({distinct} distinct texts; {dict(sorted(kinds.items()))})")

    theirs, t_mv = run_mathverify(corpus)
    report(f"Math-Verify {version('math-verify')}: {t_mv:8.2f} s  {n / t_mv:9.1f} responses/s")
    fresh = checker.Checker(checker.DEFAULT_TIMEOUT_S, checker.DEFAULT_MEMORY_MB, 1, warm_up=True, cache=False)
    t_start = start_workers(fresh)
    report(f"ours, one-time start of the worker processes (not in the times below): {t_start:.2f} s")
    ours, t_cached_first = run_cached(corpus)
    t_cached = statistics.median(run_cached(corpus)[1] for _ in range(args.repeat))
    checked, t_uncached_first = run_uncached(corpus, fresh)
    t_uncached = statistics.median(run_uncached(corpus, fresh)[1] for _ in range(args.repeat))
    fresh.close()
    uncached = {bench: [c.status for c in results] for bench, results in checked.items()}
    for label, first, median in (("with cache", t_cached_first, t_cached),
                                 ("without cache", t_uncached_first, t_uncached)):
        report(f"ours, {label + ':':15s}{median:8.2f} s  {n / median:9.1f} responses/s  {t_mv / median:6.1f}x "
               f"Math-Verify (median of {args.repeat} runs; first run {first:.2f} s = {t_mv / first:.1f}x)")

    mismatched = sum(a != b for bench in corpus for a, b in zip(ours[bench]["verdict"].to_list(),
                                                                 uncached[bench], strict=True))
    counts = Counter(v for table in ours.values() for v in table["verdict"].to_list())
    agree = sum(int((ours[b]["correct"] == theirs[b]["correct"]).sum()) for b in corpus)
    report(f"our verdicts: {dict(counts)}; cached vs uncached runs differ on {mismatched} responses")
    seconds = [(c.seconds, bench, index) for bench, results in checked.items() for index, c in enumerate(results)]
    slowest, bench, index = max(seconds)
    row = corpus[bench][1].row(index, named=True)
    at_deadline = sum(c.status == "timeout" for results in checked.values() for c in results)
    report(f"slowest response (uncached run): {slowest * 1e3:.1f} ms ({bench} problem {row['problem_id']}, "
           f"sample {row['sample_idx']}, {len(row['text'])} characters); responses that reached the "
           f"{checker.DEFAULT_TIMEOUT_S:g} s deadline: {at_deadline}/{n} ({100 * at_deadline / n:.3f}%)")
    report(f"agreement with Math-Verify on correct/not correct: {agree}/{n} ({100 * agree / n:.2f}%)")
    found = disagreements(corpus, ours, theirs)
    print(f"{len(found)} distinct disagreements:")
    for e in found:
        who, why = adjudicate(e)
        print(f"  [{e['benchmark']} #{e['problem_id']}, {e['samples']}x, {e['kind']}] gold={e['gold']!r} "
              f"ours={e['ours']} on {e['ours_extracted']!r} | math-verify={e['mv']} on {e['mv_extracted']!r}"
              f" -> right: {who} ({why})")
    right = Counter((e["kind"], adjudicate(e)[0]) for e in found)
    report(f"{len(found)} distinct disagreements ({sum(e['samples'] for e in found)} responses); right, by kind "
           f"of response: {dict(sorted(right.items()))}")
    report(f"disagreements where Math-Verify is right and we are wrong: "
           f"{sum(adjudicate(e)[0] == 'math-verify' for e in found)}")
    if args.markdown:
        write_markdown(args.markdown, summary, found, args)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "responses": n, "seconds": {"math_verify": t_mv, "ours_cached": t_cached, "ours_uncached": t_uncached,
                                        "ours_cached_first": t_cached_first,
                                        "ours_uncached_first": t_uncached_first, "ours_worker_start": t_start},
            "speedup": {"cached": t_mv / t_cached, "uncached": t_mv / t_uncached},
            "slowest_s": slowest, "at_deadline": at_deadline, "agreement": agree, "disagreements": found},
            indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
