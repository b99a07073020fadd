"""`python -m rlvr_limits export`: a run's samples in the plain exchange format (`sampling/importers.py`).

    python -m rlvr_limits export --problems results/problems/B.parquet --region '{"problems": 100, "samples": 8}' \\
        --samples results/samples/M/B/<draw>/*.parquet --out M-B.jsonl

One JSON line per sample (`problem_id`, `question`, `response`, `sample_idx`, `finish_reason`, `n_tokens`), in
problem then index order, read as the stages read them: the first `problems` problems x indices 0..samples-1.
A model entry with `samples: {path: M-B.jsonl, format: plain}` imports it again.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rlvr_limits.io import read_parquet
from rlvr_limits.progress import LOG
from rlvr_limits.sampling.store import parse_region, read_samples
from rlvr_limits.tables import PROBLEM_COLUMNS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problems", required=True, help="results/problems/{bench}.parquet")
    parser.add_argument("--region", required=True,
                        help='JSON {"problems": P, "samples": N}: the first P problems x sample indices 0..N-1')
    parser.add_argument("--samples", required=True, nargs="+", help="the sample blocks of one model")
    parser.add_argument("--out", required=True, help="the JSON Lines file to write")


def run(args: argparse.Namespace) -> int:
    n_problems, n_samples = parse_region(args.region, "export --region")
    problems = read_parquet(args.problems, required=PROBLEM_COLUMNS)
    samples = read_samples(args.samples, problems["problem_id"].to_list(), n_problems, n_samples)
    questions = dict(zip(problems["problem_id"], problems["question"], strict=True))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    with open(partial, "w", encoding="utf-8") as handle:
        for row in samples.iter_rows(named=True):
            handle.write(json.dumps({"problem_id": row["problem_id"], "question": questions[row["problem_id"]],
                                     "response": row["text"], "sample_idx": row["sample_idx"],
                                     "finish_reason": row["finish_reason"], "n_tokens": row["n_tokens"]},
                                    ensure_ascii=False) + "\n")
    partial.replace(out)
    LOG.info("export: %d samples of %d problems to %s", samples.height, n_problems, out)
    return 0
