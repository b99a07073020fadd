"""One comparison on one benchmark: a base model against each other model, per verifier.

Everything a figure or caption states about a pair is computed here from the two counts tables: both pass@k
curves and their paired difference with bootstrap intervals, the crossover k, the coverage split, ΔSE and the
accuracy histograms. All models of a comparison share one set of problem resamples per verifier, so their
intervals are directly comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from rlvr_limits.analysis.bootstrap import Interval, paired_bootstrap, percentile_bounds, resample_weights
from rlvr_limits.analysis.coverage import align, split_summary, split_table
from rlvr_limits.analysis.crossover import crossover
from rlvr_limits.analysis.histogram import BIN_LABELS, histogram
from rlvr_limits.analysis.passk import pass_at_k_matrix
from rlvr_limits.errors import UserError

#: results/compare/{comparison}/{bench}.parquet: one row per model × verifier × k.
DIFFERENCE_COLUMNS = {
    "comparison": pl.String, "benchmark": pl.String, "base": pl.String, "model": pl.String,
    "verifier": pl.String, "k": pl.Int64,
    "base_pass_at_k": pl.Float64, "base_ci_low": pl.Float64, "base_ci_high": pl.Float64,
    "other_pass_at_k": pl.Float64, "other_ci_low": pl.Float64, "other_ci_high": pl.Float64,
    "diff": pl.Float64, "diff_ci_low": pl.Float64, "diff_ci_high": pl.Float64,
    "diff_excludes_zero": pl.Boolean,
}

#: results/compare/{comparison}/{bench}.coverage.parquet: one row per model × verifier × problem.
COVERAGE_COLUMNS = {
    "comparison": pl.String, "benchmark": pl.String, "base": pl.String, "model": pl.String,
    "verifier": pl.String, "index": pl.Int64, "problem_id": pl.String,
    "n_base": pl.Int64, "c_base": pl.Int64, "n_other": pl.Int64, "c_other": pl.Int64,
    "acc_base": pl.Float64, "acc_other": pl.Float64,
    "solved_base": pl.Boolean, "solved_other": pl.Boolean, "split": pl.String,
}


@dataclass(frozen=True)
class PairResult:
    """The comparison of `other` against `base` under one verifier."""

    model: str
    verifier: str
    differences: pl.DataFrame  # DIFFERENCE_COLUMNS minus comparison/benchmark/base
    coverage: pl.DataFrame     # split table (coverage.split_table)
    summary: dict[str, Any]    # JSON-ready numbers


def _intervals(point: np.ndarray, draws: np.ndarray, ci: float) -> list[Interval]:
    low, high = percentile_bounds(draws, ci)
    return [Interval(float(p), float(lo), float(hi)) for p, lo, hi in zip(point, low, high, strict=True)]


def compare_pair(base_counts: pl.DataFrame, other_counts: pl.DataFrame, base: str, model: str,
                 verifier: str, ks: Sequence[int], weights: np.ndarray, ci: float) -> PairResult:
    """Compare two models' counts (one verifier each, same problems) with the given resample weights."""
    aligned = align(base_counts, other_counts, base, model)
    ks = list(ks)
    base_values = pass_at_k_matrix(aligned["n_base"].to_numpy(), aligned["c_base"].to_numpy(), ks)
    other_values = pass_at_k_matrix(aligned["n_other"].to_numpy(), aligned["c_other"].to_numpy(), ks)
    draws = paired_bootstrap(base_values, other_values, weights)
    base_curve, other_curve = base_values.mean(axis=0), other_values.mean(axis=0)
    base_iv = _intervals(base_curve, draws.base, ci)
    other_iv = _intervals(other_curve, draws.other, ci)
    diff_iv = _intervals(other_curve - base_curve, draws.diff, ci)
    differences = pl.DataFrame({
        "model": model, "verifier": verifier, "k": ks,
        "base_pass_at_k": [i.value for i in base_iv], "base_ci_low": [i.low for i in base_iv],
        "base_ci_high": [i.high for i in base_iv],
        "other_pass_at_k": [i.value for i in other_iv], "other_ci_low": [i.low for i in other_iv],
        "other_ci_high": [i.high for i in other_iv],
        "diff": [i.value for i in diff_iv], "diff_ci_low": [i.low for i in diff_iv],
        "diff_ci_high": [i.high for i in diff_iv], "diff_excludes_zero": [i.excludes(0.0) for i in diff_iv],
    })
    cross = crossover(ks, base_curve, other_curve, draws.base, draws.other, ci)
    delta_point = base_curve[-1] - other_curve[0]
    delta_low, delta_high = percentile_bounds(draws.base[:, -1] - draws.other[:, 0], ci)
    coverage = split_table(aligned)
    k_max = ks[-1]
    summary = {
        "model": model, "verifier": verifier, "n_problems": aligned.height,
        "n_samples": {"base": sorted(set(aligned["n_base"].to_list())),
                      "other": sorted(set(aligned["n_other"].to_list()))},
        "pass_at_1": {"base": base_iv[0].as_dict(), "other": other_iv[0].as_dict()},
        "pass_at_k_max": {"k": k_max, "base": base_iv[-1].as_dict(), "other": other_iv[-1].as_dict()},
        "diff_at_1": {**diff_iv[0].as_dict(), "excludes_zero": diff_iv[0].excludes(0.0)},
        "diff_at_k_max": {**diff_iv[-1].as_dict(), "excludes_zero": diff_iv[-1].excludes(0.0)},
        "crossover": cross.as_dict(base, model),
        "coverage": split_summary(coverage),
        "delta_se": {"value": float(delta_point), "low": float(delta_low), "high": float(delta_high)},
        "histogram": {"bins": list(BIN_LABELS),
                      "base": histogram(aligned["n_base"].to_numpy(), aligned["c_base"].to_numpy()),
                      "other": histogram(aligned["n_other"].to_numpy(), aligned["c_other"].to_numpy())},
    }
    return PairResult(model, verifier, differences, coverage, summary)


def compare_models(counts: dict[str, pl.DataFrame], base: str, models: Sequence[str], ks: Sequence[int],
                   n_resamples: int, ci: float, seed: int) -> list[PairResult]:
    """Every model against the base, for every verifier of the base's counts.

    The resample weights are drawn once per verifier from `seed` and shared by all models.
    """
    results = []
    base_counts = counts[base]
    verifiers = base_counts["verifier"].unique(maintain_order=True).to_list()
    for model in models:
        theirs = set(counts[model]["verifier"].unique())
        if theirs != set(verifiers):
            raise UserError(f"{base} was verified with {sorted(verifiers)} but {model} with "
                            f"{sorted(theirs)}; both need the benchmark's verifiers "
                            "(rerun verify for the older one)")
    for verifier in verifiers:
        base_rows = base_counts.filter(pl.col("verifier") == verifier)
        weights = resample_weights(base_rows.height, n_resamples, seed)
        for model in models:
            other_rows = counts[model].filter(pl.col("verifier") == verifier)
            results.append(compare_pair(base_rows, other_rows, base, model, verifier, ks, weights, ci))
    return results
