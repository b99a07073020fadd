"""`python -m rlvr_limits guessed`: which problems the guess filter drops (paper App. D.2), as a CSV table.

    python -m rlvr_limits guessed --counts results/passk/DIRECT/B.counts.parquet --threshold 0.05 \
        --out results/unguessed/COMPARISON/B.guessed.csv

One row per (verifier, problem) of the direct-answer run: samples, correct direct answers, their rate and
the filter's decision (`guessed` problems are dropped; `never answered` and `answered directly` stay).
"""

from __future__ import annotations

import argparse

import polars as pl

from rlvr_limits.analysis.guess import guess_table
from rlvr_limits.io import read_parquet, write_text
from rlvr_limits.progress import LOG
from rlvr_limits.tables import COUNT_COLUMNS, conform


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--counts", required=True, help="counts of the direct-answer run")
    parser.add_argument("--threshold", type=float, default=0.05,
                        help="direct-answer accuracy below which a correct answer counts as guessed")
    parser.add_argument("--out", required=True, help="CSV table")


def run(args: argparse.Namespace) -> int:
    direct = conform(read_parquet(args.counts, required=COUNT_COLUMNS), COUNT_COLUMNS)
    table = guess_table(direct, args.threshold)
    write_text(table.write_csv(float_precision=4), args.out)
    for verifier in table["verifier"].unique(maintain_order=True).to_list():
        rows = table.filter(pl.col("verifier") == verifier)
        LOG.info("guessed [%s]: %d of %d problems guessed (direct accuracy in (0, %g)), %d answered directly, "
                 "%d never answered", verifier, (rows["status"] == "guessed").sum(), rows.height,
                 args.threshold, (rows["status"] == "answered directly").sum(),
                 (rows["status"] == "never answered").sum())
    return 0
