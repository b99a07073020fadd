"""Where the grades an imported model's source gave (verifier `imported`) and ours agree, sample by sample.

For each of our verifiers: samples correct under both, under ours only, under theirs only, under neither, the
share on which they agree, and each one's accuracy (pass@1); and every sample on which they differ, with the
answer each extracted, to be read by hand.
"""

from __future__ import annotations

import argparse

import polars as pl

from rlvr_limits.io import read_parquet
from rlvr_limits.progress import LOG
from rlvr_limits.tables import VERDICT_COLUMNS

THEIRS = "imported"


def agreement(verdicts: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(summary per verifier of ours, disagreements) of a verdicts table holding verifier `imported`."""
    theirs = verdicts.filter(pl.col("verifier") == THEIRS).select(
        "problem_id", "sample_idx", theirs_correct="correct", theirs_extracted="extracted")
    ours = [v for v in verdicts["verifier"].unique(maintain_order=True).to_list() if v != THEIRS]
    if theirs.is_empty():  # the files graded not every sample (e.g. NeMo-Skills output before its evaluation)
        return pl.DataFrame({"verifier": ours, "samples": [verdicts.filter(pl.col("verifier") == v).height
                                                            for v in ours],
                             "note": "the source graded not every sample: nothing to compare"}), \
            pl.DataFrame(schema={"problem_id": pl.String, "sample_idx": pl.Int32})
    summaries, differing = [], []
    for verifier in ours:
        joined = (verdicts.filter(pl.col("verifier") == verifier)
                  .join(theirs, on=["problem_id", "sample_idx"], how="inner"))
        both = joined.filter(pl.col("correct") & pl.col("theirs_correct")).height
        only_ours = joined.filter(pl.col("correct") & ~pl.col("theirs_correct")).height
        only_theirs = joined.filter(~pl.col("correct") & pl.col("theirs_correct")).height
        summaries.append({"verifier": verifier, "samples": joined.height, "both correct": both,
                          "ours only": only_ours, "theirs only": only_theirs,
                          "neither": joined.height - both - only_ours - only_theirs,
                          "agreement": round(1 - (only_ours + only_theirs) / joined.height, 4),
                          "pass@1 ours": round(joined["correct"].mean(), 4),
                          "pass@1 theirs": round(joined["theirs_correct"].mean(), 4)})
        differing.append(joined.filter(pl.col("correct") != pl.col("theirs_correct")).select(
            "problem_id", "sample_idx", pl.lit(verifier).alias("verifier"), pl.col("verdict").alias("ours"),
            pl.col("extracted").alias("ours extracted"), pl.col("theirs_correct").alias("theirs correct"),
            pl.col("theirs_extracted").alias("theirs extracted")))
    return pl.DataFrame(summaries), pl.concat(differing).sort("verifier", "problem_id", "sample_idx")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verdicts", required=True, help="results/verdicts/{model}/{bench}.parquet")
    parser.add_argument("--out", required=True, help="the summary CSV")
    parser.add_argument("--disagreements", required=True, help="the CSV of the samples graded differently")


def run(args: argparse.Namespace) -> int:
    verdicts = read_parquet(args.verdicts, required=VERDICT_COLUMNS)
    summary, disagreements = agreement(verdicts)
    summary.write_csv(args.out)
    disagreements.write_csv(args.disagreements)
    if "note" in summary.columns:
        LOG.warning("%s: %s", args.verdicts, summary["note"][0])
        return 0
    for row in summary.iter_rows(named=True):
        LOG.info("%s vs the source's grades: agree on %.2f%% of %d samples (ours only %d, theirs only %d)",
                 row["verifier"], 100 * row["agreement"], row["samples"], row["ours only"], row["theirs only"])
    return 0
