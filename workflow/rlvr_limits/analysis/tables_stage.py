"""`python -m rlvr_limits tables`: the report's CSV tables of one comparison, from its compare summaries.

`--out` gets one row per benchmark × verifier × model (analysis.summary). `--wide` additionally writes the
paper's Tables 2–3 shape (one row per model; per benchmark and verifier pass@1, pass@k_max and ΔSE), the
natural view for comparisons of RL algorithms or training steps.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from rlvr_limits.analysis.efficiency import best_delta_se, wide_table
from rlvr_limits.analysis.findings import findings_html
from rlvr_limits.analysis.summary import summary_frame
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_json, write_text
from rlvr_limits.progress import LOG


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--summaries", required=True, nargs="+",
                        help="results/compare/{comparison}/{bench}.json, one per benchmark")
    parser.add_argument("--out", required=True, help="results/tables/{comparison}.csv")
    parser.add_argument("--html", help="also write the findings as sentences with intervals (for the report)")
    parser.add_argument("--wide", help="also write the model × benchmark table (pass@1, pass@k_max, ΔSE)")


def write_csv(df: pl.DataFrame, path: str | Path) -> None:
    """Write `df` as CSV atomically, like every other output of the workflow."""
    write_text(df.write_csv(), path)


def paper_shape(table: pl.DataFrame) -> pl.DataFrame:
    """One row per model; columns `<bench>/<verifier> pass@1`, `… pass@k_max`, `… ΔSE` (ΔSE at the compare
    stage's `delta_se_k`, empty where it is not computable)."""
    bases = table.filter(pl.col("is_base"))["model"].unique().to_list()
    if len(bases) != 1:
        raise UserError(f"the summaries name different base models {sorted(bases)}; tabulate one comparison")
    long = table.select(
        "model", benchmark=pl.concat_str("benchmark", "verifier", separator="/"),
        pass_at_1="pass@1", pass_at_kmax="pass@k_max", delta_se="ΔSE")
    for row in best_delta_se(long, bases[0]).iter_rows(named=True):
        LOG.info("best ΔSE on %s: %.3f (%s)", row["benchmark"], row["delta_se"], row["model"])
    return wide_table(long, bases[0])


def run(args: argparse.Namespace) -> int:
    summaries = [(path, read_json(path)) for path in args.summaries]
    for path, summary in summaries:
        if not isinstance(summary, dict):
            raise UserError(f"{path}: expected a JSON object written by the compare stage")
    table = summary_frame(summaries)
    write_csv(table, args.out)
    LOG.info("tables: %d rows from %d summaries -> %s", table.height, len(summaries), args.out)
    if args.wide:
        write_csv(paper_shape(table), args.wide)
    if args.html:
        comparison = str(summaries[0][1]["comparison"])
        write_text(findings_html(comparison, [summary for _, summary in summaries]), args.html)
    return 0
