"""One comparison on one benchmark: a base model against each other model, per verifier.

Everything a figure or caption states about a pair is computed here from the two counts tables: both pass@k
curves with bootstrap intervals, their paired difference with its test at every k (analysis.paired), the
crossover, the coverage split, ΔSE and the accuracy histograms. All models of a comparison share one set of
problem resamples and sign flips per verifier, so their intervals are directly comparable.

Three families of claims carry their own error control: each k alone (`diff_ci_*`, `diff_p_value`); the whole
k grid of one model × verifier × benchmark (`diff_band_*`, Bonferroni, and `diff_p_holm`, Holm); and the two
headline claims at k = 1 and k = k_max (Bonferroni over the two), which the findings state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from rlvr_limits.analysis.bootstrap import mean_intervals, resample_weights, studentized_bounds
from rlvr_limits.analysis.coverage import align, split_summary, split_table
from rlvr_limits.analysis.crossover import crossover
from rlvr_limits.analysis.histogram import BIN_LABELS, histogram
from rlvr_limits.analysis.paired import PairedTest, holm, paired_tests, sign_flips
from rlvr_limits.analysis.passk import pass_at_k_matrix
from rlvr_limits.errors import UserError

#: results/compare/{comparison}/{bench}.parquet: one row per model × verifier × k.
DIFFERENCE_COLUMNS = {
    "comparison": pl.String, "benchmark": pl.String, "base": pl.String, "model": pl.String,
    "verifier": pl.String, "k": pl.Int64,
    "base_pass_at_k": pl.Float64, "base_ci_low": pl.Float64, "base_ci_high": pl.Float64,
    "other_pass_at_k": pl.Float64, "other_ci_low": pl.Float64, "other_ci_high": pl.Float64,
    "diff": pl.Float64, "diff_ci_low": pl.Float64, "diff_ci_high": pl.Float64,
    "diff_excludes_zero": pl.Boolean, "diff_p_value": pl.Float64, "diff_p_holm": pl.Float64,
    "diff_band_low": pl.Float64, "diff_band_high": pl.Float64, "diff_method": pl.String,
    "crossover": pl.Boolean,
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


def headline(test: PairedTest, p_value: float, k: int, family: list[int]) -> dict[str, Any]:
    """A headline claim: its interval is simultaneous over `family`, p-values raw and Bonferroni-adjusted."""
    return {**test.as_dict(), "k": k, "p_value": p_value, "p_adjusted": min(1.0, len(family) * p_value),
            "family": family, "level": 1.0 - test.alpha}


def delta_se(aligned: pl.DataFrame, other_values: np.ndarray, weights: np.ndarray, k: int,
             ci: float) -> dict[str, Any]:
    """ΔSE = base pass@k − other pass@1 (the paper's k = 256) with its paired studentized bootstrap interval.

    With fewer than k samples of the base on some problem it is not computable, and the summary says so
    instead of using another k.
    """
    n_base = aligned["n_base"].to_numpy()
    if n_base.min() < k:
        return {"k": k, "value": None, "low": None, "high": None,
                "not_computable": f"needs n >= {k} samples of the base per problem, has {int(n_base.min())}"}
    base_at_k = pass_at_k_matrix(n_base, aligned["c_base"].to_numpy(), [k])[:, 0]
    gap = base_at_k - other_values[:, 0]
    low, high = studentized_bounds(gap[:, None], weights, ci, limits=(-1.0, 1.0))
    return {"k": k, "value": float(gap.mean()), "low": float(low[0]), "high": float(high[0])}


def compare_pair(base_counts: pl.DataFrame, other_counts: pl.DataFrame, base: str, model: str,
                 verifier: str, ks: Sequence[int], weights: np.ndarray, flips: np.ndarray, ci: float,
                 delta_se_k: int = 256) -> PairResult:
    """Compare two models' counts (one verifier each, same problems) with the given resamples and flips."""
    aligned = align(base_counts, other_counts, base, model)
    ks = list(ks)
    base_values = pass_at_k_matrix(aligned["n_base"].to_numpy(), aligned["c_base"].to_numpy(), ks)
    other_values = pass_at_k_matrix(aligned["n_other"].to_numpy(), aligned["c_other"].to_numpy(), ks)
    base_iv = mean_intervals(base_values, weights, ci)
    other_iv = mean_intervals(other_values, weights, ci)
    alpha = 1.0 - ci
    family = sorted({ks[0], ks[-1]})
    pointwise, band, heads = paired_tests(base_values, other_values, flips, weights,
                                          [alpha, alpha / len(ks), alpha / len(family)])
    p_values = [t.p_value for t in pointwise]
    cross = crossover(ks, [t.value for t in pointwise], [t.excludes_zero for t in pointwise],
                      min(1.0, len(family) * p_values[-1]), heads[-1].excludes_zero, ci)
    differences = pl.DataFrame({
        "model": model, "verifier": verifier, "k": ks,
        "base_pass_at_k": [i.value for i in base_iv], "base_ci_low": [i.low for i in base_iv],
        "base_ci_high": [i.high for i in base_iv],
        "other_pass_at_k": [i.value for i in other_iv], "other_ci_low": [i.low for i in other_iv],
        "other_ci_high": [i.high for i in other_iv],
        "diff": [t.value for t in pointwise], "diff_ci_low": [t.low for t in pointwise],
        "diff_ci_high": [t.high for t in pointwise], "diff_excludes_zero": [t.excludes_zero for t in pointwise],
        "diff_p_value": p_values, "diff_p_holm": holm(p_values).tolist(),
        "diff_band_low": [t.low for t in band], "diff_band_high": [t.high for t in band],
        "diff_method": [t.method for t in pointwise], "crossover": [k == cross.k for k in ks],
    })
    head_at = {k: headline(heads[ks.index(k)], p_values[ks.index(k)], k, family) for k in family}
    coverage = split_table(aligned)
    k_max = ks[-1]
    summary = {
        "model": model, "verifier": verifier, "n_problems": aligned.height,
        "n_samples": {"base": sorted(set(aligned["n_base"].to_list())),
                      "other": sorted(set(aligned["n_other"].to_list()))},
        "pass_at_1": {"base": base_iv[0].as_dict(), "other": other_iv[0].as_dict()},
        "pass_at_k_max": {"k": k_max, "base": base_iv[-1].as_dict(), "other": other_iv[-1].as_dict()},
        "diff_at_1": head_at[ks[0]],
        "diff_at_k_max": head_at[ks[-1]],
        "crossover": cross.as_dict(base, model),
        "coverage": split_summary(coverage),
        "delta_se": delta_se(aligned, other_values, weights, delta_se_k, ci),
        "histogram": {"bins": list(BIN_LABELS),
                      "base": histogram(aligned["n_base"].to_numpy(), aligned["c_base"].to_numpy()),
                      "other": histogram(aligned["n_other"].to_numpy(), aligned["c_other"].to_numpy())},
    }
    return PairResult(model, verifier, differences, coverage, summary)


def compare_models(counts: dict[str, pl.DataFrame], base: str, models: Sequence[str], ks: Sequence[int],
                   n_resamples: int, ci: float, seed: int, delta_se_k: int = 256) -> list[PairResult]:
    """Every model against the base, for every verifier of the base's counts.

    The resample weights and sign flips are drawn once per verifier from `seed` and shared by all models.
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
        flips = sign_flips(base_rows.height, seed)
        for model in models:
            other_rows = counts[model].filter(pl.col("verifier") == verifier)
            results.append(compare_pair(base_rows, other_rows, base, model, verifier, ks, weights, flips, ci,
                                        delta_se_k))
    return results
