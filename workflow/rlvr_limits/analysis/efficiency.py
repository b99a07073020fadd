"""Sampling-efficiency gap ΔSE and the per-model pass@1 / pass@k_max tables (paper Tables 2–3, Fig. 8).

ΔSE = base pass@k − model pass@1 with the paper's k = 256: how far one sample of the trained model stays from
what the base reaches with k samples (lower is better). The paper annotates each benchmark with the best
(lowest) ΔSE over the RL algorithms it compares. The compare stage computes it at `analysis.delta_se_k`; a
table that already carries a `delta_se` column (from the compare summaries) keeps it, otherwise it is taken
from the table's pass@k_max.
"""

from __future__ import annotations

import polars as pl

from rlvr_limits.errors import UserError

#: Long input: one row per (model, benchmark), pass@1 and pass@k_max as fractions.
SUMMARY_COLUMNS = ("model", "benchmark", "pass_at_1", "pass_at_kmax")


def delta_se(base_pass_at_kmax: float, model_pass_at_1: float) -> float:
    """ΔSE of one model on one benchmark."""
    return base_pass_at_kmax - model_pass_at_1


def with_delta_se(summary: pl.DataFrame, base: str) -> pl.DataFrame:
    """Add `delta_se` to each model's rows (null for the base itself), using the base's pass@k_max, unless the
    table carries it already."""
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise ValueError(f"summary table lacks columns {missing}")
    if "delta_se" in summary.columns:
        return summary.with_columns(delta_se=pl.when(pl.col("model") != base).then(pl.col("delta_se")))
    base_rows = summary.filter(pl.col("model") == base).select("benchmark", base_kmax="pass_at_kmax")
    lacking = set(summary["benchmark"].unique()) - set(base_rows["benchmark"])
    if lacking:
        raise UserError(f"base model {base!r} has no results on {sorted(lacking)}; ΔSE needs the base's "
                        "pass@k_max on every benchmark")
    return (summary.join(base_rows, on="benchmark", how="left", maintain_order="left")
            .with_columns(delta_se=pl.when(pl.col("model") != base)
                          .then(pl.col("base_kmax") - pl.col("pass_at_1")))
            .drop("base_kmax"))


def best_delta_se(summary: pl.DataFrame, base: str) -> pl.DataFrame:
    """Per benchmark: the lowest ΔSE over the non-base models and the model that attains it."""
    table = with_delta_se(summary, base).filter((pl.col("model") != base) & pl.col("delta_se").is_not_null())
    return (table.sort("delta_se", "model")
            .group_by("benchmark", maintain_order=True).first()
            .select("benchmark", "model", "delta_se"))


def wide_table(summary: pl.DataFrame, base: str, benchmarks: list[str] | None = None) -> pl.DataFrame:
    """The paper's table shape: one row per model (base first, then input order), per benchmark the columns
    `<bench> pass@1`, `<bench> pass@k_max` and `<bench> ΔSE`."""
    table = with_delta_se(summary, base)
    benchmarks = benchmarks or list(dict.fromkeys(table["benchmark"].to_list()))
    models = [base, *(m for m in dict.fromkeys(table["model"].to_list()) if m != base)]
    out = pl.DataFrame({"model": models})
    for bench in benchmarks:
        part = table.filter(pl.col("benchmark") == bench).select(
            "model",
            pl.col("pass_at_1").alias(f"{bench} pass@1"),
            pl.col("pass_at_kmax").alias(f"{bench} pass@k_max"),
            pl.col("delta_se").alias(f"{bench} ΔSE"))
        out = out.join(part, on="model", how="left", maintain_order="left")
    return out
