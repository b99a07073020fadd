"""`python -m rlvr_limits entropy`: the temperature at which a model's output entropy matches a reference
(paper Fig. 17): the base model's samples at its temperature against the other model's temperature sweep.

    python -m rlvr_limits entropy --problems results/problems/B.parquet --region '{"problems": 30, "samples": 64}' \
        --reference results/samples/base_t06/B/<draw>/*.parquet \
        --sweep 0.6=results/samples/rl_t06/B/<draw>/p0-29_s0-63.parquet 1.0=... \
        --out results/entropy/rl_vs_base.json

A temperature may be given once per sample block; its blocks are pooled. Every model is read on the same region
of the benchmark (its first `problems` problems x sample indices 0..samples-1), whatever else its blocks hold. The
JSON holds the reference entropy, the mean per-token entropy at every swept temperature and the interpolated
matching temperature (null when the sweep does not bracket the reference).
"""

from __future__ import annotations

import argparse

import polars as pl

from rlvr_limits.analysis.entropy import matching_temperature, mean_entropy
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_parquet, write_json
from rlvr_limits.progress import LOG
from rlvr_limits.sampling.store import parse_region, read_samples
from rlvr_limits.tables import PROBLEM_COLUMNS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problems", required=True, help="results/problems/{bench}.parquet")
    parser.add_argument("--region", required=True,
                        help='JSON {"problems": P, "samples": N}: the first P problems x sample indices 0..N-1')
    parser.add_argument("--reference", required=True, nargs="+", help="sample blocks of the reference model")
    parser.add_argument("--sweep", required=True, nargs="+", metavar="TEMPERATURE=PATH",
                        help="sample blocks of the other model, each with the temperature it was drawn at")
    parser.add_argument("--out", required=True, help="JSON summary")


def parse_sweep(items: list[str]) -> dict[float, list[str]]:
    sweep: dict[float, list[str]] = {}
    for item in items:
        temp, sep, path = item.partition("=")
        try:
            value = float(temp)
        except ValueError:
            value = -1.0
        if not sep or not path or value < 0:
            raise UserError(f"entropy --sweep {item!r}: expected TEMPERATURE=PATH with a temperature >= 0")
        sweep.setdefault(value, []).append(path)
    return sweep


def run(args: argparse.Namespace) -> int:
    sweep = parse_sweep(args.sweep)
    n_problems, n_samples = parse_region(args.region, "entropy --region")
    problem_ids = read_parquet(args.problems, required=PROBLEM_COLUMNS)["problem_id"].to_list()

    def read(paths: list[str]) -> pl.DataFrame:
        return read_samples(paths, problem_ids, n_problems, n_samples).select("entropy", "n_tokens")

    target = mean_entropy(read(args.reference), source="--reference")
    points = [(temp, mean_entropy(read(paths), source=f"--sweep {temp}"))
              for temp, paths in sorted(sweep.items())]
    match = matching_temperature(points, target)
    write_json({"reference_entropy": target,
                "sweep": [{"temperature": t, "entropy": h} for t, h in points],
                "matching_temperature": match.temperature,
                "statement": match.statement("the swept model")}, args.out)
    LOG.info("entropy: reference %.3f; %s", target, match.statement("the swept model"))
    return 0
