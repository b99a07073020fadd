"""`python -m rlvr_limits import`: samples another harness drew, as one block of the standard samples table.

    python -m rlvr_limits import --problems results/problems/B.parquet --format qwen-math \\
        --files outputs/math_cot.jsonl --spec '{"model": "m", "match": "auto", "unmatched": "error"}' \\
        --block p0-99_s0-7 --out results/samples/m/B/imported/p0-99_s0-7.parquet

The files are read by the format's reader (`sampling/importers.py`) and every record is matched to a problem of
the benchmark: by the source's id where every record's id is a problem id of ours (`match: id`; the Qwen toolkit's
`idx` and lm-eval's `doc_id` are positions in the same file, evalplus' `task_id` is the id), else by the question
text with whitespace collapsed (`match: question`). A record that matches no problem is an error naming its file
and line (`unmatched: ignore` counts and skips them instead); records of problems past the block are left out. A
problem's samples take their source's index, or the next free one in file order. Every problem of the block needs
at least as many samples as the block holds (an error names each problem short of it and its count); the first
ones are kept.

Writes the block table (tables.SAMPLE_COLUMNS: seed, prompt_tokens and entropy are null, the model having drawn
elsewhere; finish_reason and n_tokens where the source has them, else null), `<block>.grades.parquet` with the
source's own grade and extracted answer of every sample when it graded them all (no rows otherwise), and the
`.json` sidecar: format, files with their sha256, the matching, counts and which columns the source left null.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import polars as pl

from rlvr_limits import __version__, tables
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_parquet, write_json, write_parquet
from rlvr_limits.progress import LOG
from rlvr_limits.sampling.importers import FORMATS, Imported, read_source
from rlvr_limits.sampling.store import Block

MATCHES = ("auto", "id", "question")
UNMATCHED = ("error", "ignore")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problems", required=True, help="results/problems/{dataset}.parquet")
    parser.add_argument("--format", required=True, choices=sorted(FORMATS), help="the tool that wrote the files")
    parser.add_argument("--files", required=True, nargs="+", help="the source's sample files")
    parser.add_argument("--spec", required=True,
                        help='JSON: {"model", "match": auto|id|question, "unmatched": error|ignore}')
    parser.add_argument("--block", required=True, help="p0-<P-1>_s0-<n-1>: the first P problems x n samples")
    parser.add_argument("--out", required=True, help="the block table (.parquet; .grades.parquet and .json beside)")


def grades_path(out: str | Path) -> Path:
    return Path(out).with_suffix(".grades.parquet")


def normalized(question: str) -> str:
    return " ".join(question.split())


def _parse_spec(text: str) -> dict[str, Any]:
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"import --spec: invalid JSON ({exc.msg})") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("model"), str):
        raise UserError('import --spec: expected {"model": NAME, "match": ..., "unmatched": ...}')
    spec.setdefault("match", "auto")
    spec.setdefault("unmatched", "error")
    if spec["match"] not in MATCHES:
        raise UserError(f"import --spec: match must be one of {', '.join(MATCHES)}, got {spec['match']!r}")
    if spec["unmatched"] not in UNMATCHED:
        raise UserError(f"import --spec: unmatched must be one of {', '.join(UNMATCHED)}, got {spec['unmatched']!r}")
    return spec


class Matcher:
    """Maps a source record to a problem id of the benchmark: by its id where that is one of ours, else by its
    question text (`match: auto`), or by one of the two only."""

    def __init__(self, problems: pl.DataFrame, how: str) -> None:
        ids = problems["problem_id"].to_list()
        self.ids = set(ids)
        self.how = how
        self.used: Counter[str] = Counter()
        self.by_question: dict[str, str] = {}
        self.ambiguous: dict[str, list[str]] = defaultdict(list)
        for pid, question in zip(ids, problems["question"].to_list(), strict=True):
            key = normalized(question)
            if key in self.by_question:
                self.ambiguous[key] += [self.by_question[key], pid]
            self.by_question.setdefault(key, pid)

    def __call__(self, record: Imported) -> str | None:
        if self.how in ("auto", "id") and record.source_id in self.ids:
            self.used["id"] += 1
            return record.source_id
        if self.how == "id" or (self.how == "auto" and record.question is None):
            return None
        if record.question is None:
            raise UserError(f"{record.where}: the record has no question to match by; set `match: id` or `auto`")
        key = normalized(record.question)
        if key in self.ambiguous:
            raise UserError(f"{record.where}: its question is the question of several problems "
                            f"({', '.join(sorted(set(self.ambiguous[key])))}); match by id instead")
        pid = self.by_question.get(key)
        if pid is not None:
            self.used["question"] += 1
        return pid

    @property
    def matched_by(self) -> str:
        """How the records found their problems: id, question, or both (with counts)."""
        if len(self.used) > 1:
            return ", ".join(f"{how} ({n})" for how, n in sorted(self.used.items()))
        return next(iter(self.used), self.how)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    spec = _parse_spec(args.spec)
    block = Block.parse(args.block)
    if block.problem_start or block.sample_start:
        raise UserError(f"--block {block.name}: an import holds the first problems and samples (p0-..._s0-...)")
    files = [Path(f) for f in args.files]
    for path in files:
        if not path.is_file():
            raise UserError(f"{path}: no such file")
    problems = read_parquet(args.problems, required=tables.PROBLEM_COLUMNS)
    if block.problem_stop > problems.height:
        raise UserError(f"--block {block.name}: {args.problems} has only {problems.height} problems")
    records = list(read_source(args.format, files))
    match = Matcher(problems, spec["match"])
    position = {pid: i for i, pid in enumerate(problems["problem_id"].to_list())}
    questions = dict(zip(problems["problem_id"], problems["question"], strict=True))

    unmatched: list[Imported] = []
    outside = 0
    chosen: dict[str, dict[int, Imported]] = defaultdict(dict)
    for record in records:
        pid = match(record)
        if pid is None:
            unmatched.append(record)
            continue
        if position[pid] >= block.problem_stop:
            outside += 1
            continue
        samples = chosen[pid]
        index = record.sample_idx if record.sample_idx is not None else len(samples)
        if index in samples:
            raise UserError(f"{record.where}: sample {index} of problem {pid} appears twice (first at "
                            f"{samples[index].where})")
        samples[index] = record
    if unmatched:
        firsts = list({r.where: r for r in unmatched}.values())[:3]  # a line may hold several responses
        examples = "; ".join(f"{r.where} ({r.source_id or (r.question or '')[:60]!r})" for r in firsts)
        if spec["unmatched"] == "error":
            raise UserError(f"{len(unmatched)} records match no problem of {args.problems} (match: "
                            f"{spec['match']}), e.g. {examples}; set `unmatched: ignore` in the model's `samples:` "
                            "to skip them")
        LOG.warning("import %s: %d records match no problem (match: %s) and are skipped, e.g. %s",
                    spec["model"], len(unmatched), spec["match"], examples)

    n = block.sample_stop
    wanted = problems["problem_id"].to_list()[:block.problem_stop]
    counts = {pid: _contiguous(chosen.get(pid, {})) for pid in wanted}
    short = [(pid, c) for pid, c in counts.items() if c < n]
    if short:
        listed = ", ".join(f"{pid} ({c})" for pid, c in short[:5])
        fewest = min(c for _, c in short)
        fix = (f"import more samples, or lower the benchmark's n_samples (and k_max) to {fewest}" if fewest else
               "import samples of these problems, or lower the benchmark's limit")
        raise UserError(f"{len(short)} of {len(wanted)} problems have fewer than n_samples={n} samples in "
                        f"{', '.join(map(str, files))}: {listed}; {fix}")

    rows, grades = [], []
    for pid in wanted:
        for i in range(n):
            record = chosen[pid][i]
            text = f"{questions[pid]}\n{record.text}" if record.continues_prompt else record.text
            rows.append({"problem_id": pid, "sample_idx": i, "seed": None, "text": text, "prompt_tokens": None,
                         "n_tokens": record.n_tokens, "finish_reason": record.finish_reason, "entropy": None})
            grades.append({"problem_id": pid, "sample_idx": i, "correct": record.correct,
                           "extracted": record.extracted})
    graded = all(g["correct"] is not None for g in grades)
    write_parquet(pl.DataFrame(rows, schema=tables.SAMPLE_COLUMNS), args.out)
    write_parquet(pl.DataFrame(grades if graded else [], schema=tables.GRADE_COLUMNS), grades_path(args.out))
    absent = [c for c in ("finish_reason", "n_tokens") if all(r[c] is None for r in rows)]
    write_json({
        "model": spec["model"],
        "block": {"name": block.name, "problems": block.problem_stop, "samples": n},
        "format": args.format,
        "files": {str(path): _sha256(path) for path in files},
        "matched_by": match.matched_by,
        "records": len(records),
        "unmatched": len(unmatched),
        "outside_the_block": outside,
        "samples": len(rows),
        "samples_per_problem_in_source": dict(Counter(counts.values())),
        "graded_by_the_source": graded,
        "null_columns": ["seed", "prompt_tokens", "entropy", *absent],
        "wall_s": round(time.monotonic() - started, 3),
        "rlvr_limits": __version__,
    }, Path(args.out).with_suffix(".json"))
    LOG.info("import %s: %d problems x %d samples from %d %s records (matched by %s; %d unmatched, %d past the "
             "block); source grades: %s; left null: %s", spec["model"], len(wanted), n, len(records), args.format,
             match.matched_by, len(unmatched), outside, "kept" if graded else "none",
             ", ".join(absent) or "nothing more")
    return 0


def _contiguous(samples: dict[int, Imported]) -> int:
    """How many samples a problem has at indices 0, 1, 2, ... without a gap."""
    count = 0
    while count in samples:
        count += 1
    return count
