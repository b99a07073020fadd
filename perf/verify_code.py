"""Throughput and verdict agreement of the code verifier against evalplus's own executor, in one run.

Corpus: the 164 HumanEval problems (tests/data/code/HumanEval.jsonl.gz). Each problem's test inputs are the
literal arguments of the `candidate(...)` calls in its official test (evalplus's HumanEval+ "base" inputs
were taken the same way); problems whose tests only build inputs at run time are left out. Programs per
problem: the canonical solution and broken variants: `return None`, an exception, an int answer off by one,
a float answer off by 1e-9 (within evalplus's tolerance: both must accept it), list answers returned as tuples
(we accept them as LiveCodeBench does; evalplus does not) and, for the first --loops problems, an infinite
loop. Every program is checked --repeat times by both harnesses, with the same number of workers and the same
time limits (max(--min-time-limit, 4 x reference time) per input; first failing input ends a check):

  evalplus: `evalplus.eval.untrusted_check` in a ProcessPoolExecutor, as `evalplus.evaluate` runs it
            (forked child per check, rlimits + reliability_guard, no OS isolation);
  ours:     `batch.check_all` over a SandboxPool (bubblewrap sandbox per worker, fresh child per program,
            timeouts retried once), every program executed (no de-duplication).

Expected outputs are computed by each harness in its own way beforehand (evalplus `trusted_exec` in this
process; ours: the reference solution in the sandbox) and are not timed. Prints programs/s for both, the
ratio, verdict agreement, and every disagreement with its cause.

Usage: nice python perf/verify_code.py [--repeat 3] [--workers N] [--loops 3] [--min-time-limit 1.0]
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rlvr_limits.verify.code.batch import SandboxPool, check_all, cpu_count
from rlvr_limits.verify.code.check import run_reference
from rlvr_limits.verify.code.sandbox import isolation
from rlvr_limits.verify.code.task import CodeTask

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "code" / "HumanEval.jsonl.gz"
FACTOR = 4.0


def literal_inputs(test: str) -> list[tuple]:
    """Argument tuples of the `candidate(...)` calls in a HumanEval test whose arguments are all literals."""
    found: list[tuple] = []
    for node in ast.walk(ast.parse(test)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "candidate" \
                and not node.keywords:
            try:
                args = tuple(ast.literal_eval(arg) for arg in node.args)
            except (ValueError, SyntaxError, TypeError):
                continue
            if args not in found:
                found.append(args)
    return found


def variants(record: dict, with_loop: bool) -> dict[str, str]:
    prompt, entry = record["prompt"], record["entry_point"]
    canonical = prompt + record["canonical_solution"]

    def wrap(expression: str) -> str:
        return f"{canonical}\n\n_reference = {entry}\n\ndef {entry}(*args):\n    r = _reference(*args)\n" \
               f"    return {expression}\n"

    programs = {
        "canonical": canonical,
        "none": prompt + "    return None\n",
        "raises": prompt + "    raise ValueError('not implemented')\n",
        "off_by_one": wrap("r + 1 if type(r) is int else r"),
        "float_1e-9": wrap("r + 1e-9 if type(r) is float else r"),
        "tuple": wrap("tuple(r) if type(r) is list else r"),
    }
    if with_loop:
        programs["loop"] = prompt + "    while True:\n        pass\n"
    return programs


def _evalplus_check(args: tuple) -> str:
    from evalplus.eval import untrusted_check

    code, inputs, entry, expected, atol, ref_time, min_limit = args
    status, _ = untrusted_check("humaneval", code, inputs, entry, expected, atol, ref_time, fast_check=True,
                                min_time_limit=min_limit, gt_time_limit_factor=FACTOR)
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=cpu_count())
    parser.add_argument("--loops", type=int, default=3, help="problems that also get an infinite-loop variant")
    parser.add_argument("--min-time-limit", type=float, default=1.0)
    args = parser.parse_args()
    try:
        from evalplus.gen.util import trusted_exec
    except ImportError:
        print("perf/verify_code.py needs evalplus (pip install evalplus==0.3.1)", file=sys.stderr)
        return 2

    with gzip.open(DATA, "rt") as lines:
        records = [json.loads(line) for line in lines]
    problems = [(r, literal_inputs(r["test"])) for r in records]
    problems = [(r, inputs) for r, inputs in problems if inputs]
    print(f"isolation: {isolation()}; workers: {args.workers}; problems with literal test inputs: "
          f"{len(problems)}/{len(records)}")

    # Ground truth, each harness its own way (not timed).
    evalplus_truth, our_tasks = {}, {}
    with SandboxPool(args.workers) as pool:
        for record, inputs in problems:
            canonical = record["prompt"] + record["canonical_solution"]
            outputs, times = trusted_exec(canonical, inputs, record["entry_point"], record_time=True)
            evalplus_truth[record["task_id"]] = (inputs, outputs, times)

        def reference(box, item):
            record, inputs = item
            probe = CodeTask.functional(record["entry_point"], [(a, None) for a in inputs], 60.0,
                                        min_output_cap=64 << 20)
            values, times = run_reference(record["prompt"] + record["canonical_solution"], probe, box)
            limits = [max(args.min_time_limit, FACTOR * t) for t in times]
            return CodeTask.functional(record["entry_point"], list(zip(inputs, values, strict=True)),
                                       args.min_time_limit, time_limits=limits,
                                       total_time_s=min(60.0, sum(limits)) + 1, atol=0.0, task_id=record["task_id"])

        for (record, _), task in zip(problems, pool.map(reference, problems), strict=True):
            our_tasks[record["task_id"]] = task

        corpus = [(record["task_id"], name, program)
                  for n, (record, _) in enumerate(problems)
                  for name, program in variants(record, n < args.loops).items()]
        runs = corpus * args.repeat
        print(f"programs: {len(corpus)} x {args.repeat} repetitions = {len(runs)} checks per harness")

        started = time.perf_counter()
        ours = check_all([(program, our_tasks[tid]) for tid, _, program in runs], pool, "ours")
        our_s = time.perf_counter() - started

    jobs = []
    for tid, _, program in runs:
        inputs, outputs, times = evalplus_truth[tid]
        entry = our_tasks[tid].entry_point
        jobs.append((program, inputs, entry, outputs, 0, times, args.min_time_limit))
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as executor:
        theirs = list(executor.map(_evalplus_check, jobs, chunksize=1))
    their_s = time.perf_counter() - started

    print(f"evalplus {len(runs) / their_s:8.1f} programs/s ({their_s:.1f} s)")
    print(f"ours     {len(runs) / our_s:8.1f} programs/s ({our_s:.1f} s)   ratio ours/evalplus: "
          f"{their_s / our_s:.2f}x")
    print("ours by verdict:", dict(Counter(v.status for v in ours)))
    print("evalplus by status:", dict(Counter(theirs)))

    agree, disagreements, classes = 0, Counter(), Counter()
    for (tid, name, _), mine, other in zip(runs, ours, theirs, strict=True):
        same = mine.correct == (other == "pass")
        agree += same
        classes[(other, mine.status)] += 1
        if not same:
            disagreements[(tid, name, other, mine.status, mine.detail[:80])] += 1
    print("(evalplus status, our verdict) pairs:", dict(classes))
    print("  (evalplus reports an input past its time limit as `fail`; `timeout` only when its watchdog fires)")
    print(f"pass/fail agreement: {agree}/{len(runs)} ({100 * agree / len(runs):.2f}%)")
    causes = {"tuple": "list answer returned as a tuple: accepted by ours (LiveCodeBench's tuple->list rule), "
                       "rejected by evalplus (type differs from the reference's list)"}
    for (tid, name, other, mine, detail), count in sorted(disagreements.items()):
        print(f"  {tid} [{name}] evalplus={other} ours={mine} x{count}: {causes.get(name, detail)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
