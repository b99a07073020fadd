"""Unbiased pass@k (Chen et al. 2021) from per-problem sample counts.

pass@k of one problem with n samples of which c are correct is 1 − C(n−c, k)/C(n, k): the chance that k
samples drawn without replacement from the n contain a correct one. The binomial ratio overflows for the
paper's n = 1024, so it is computed as the product Π_{i=n−c+1}^{n} (1 − k/i), which only multiplies numbers
in [0, 1]. For a fixed (n, k) the product for every c is one cumulative product over i = n, n−1, …, so a
whole benchmark costs O(n) per k however many problems it has.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from rlvr_limits.analysis.bootstrap import bootstrap_curve
from rlvr_limits.errors import UserError
from rlvr_limits.tables import COUNT_COLUMNS, PASSK_COLUMNS, conform


def k_grid(k_max: int) -> list[int]:
    """Powers of two up to `k_max`, plus `k_max` itself (the paper's log2 x axis, ending at n)."""
    if k_max < 1:
        raise ValueError(f"k_max must be at least 1, got {k_max}")
    ks = [1 << e for e in range(k_max.bit_length()) if (1 << e) <= k_max]
    if ks[-1] != k_max:
        ks.append(k_max)
    return ks


def _survival_table(n: int, k: int) -> np.ndarray:
    """q[c] = C(n−c, k)/C(n, k) for c = 0..n, i.e. the chance that k draws miss all c correct samples."""
    i = np.arange(n, 0, -1, dtype=np.float64)  # n, n-1, ..., 1
    factors = np.clip(1.0 - k / i, 0.0, None)  # the factor i = k is exactly 0: every draw of k hits
    return np.concatenate(([1.0], np.cumprod(factors)))


def pass_at_k_matrix(n: np.ndarray, c: np.ndarray, ks: Sequence[int]) -> np.ndarray:
    """Per-problem pass@k, shape (problems, len(ks)), for sample counts `n` and correct counts `c`."""
    n = np.asarray(n, dtype=np.int64)
    c = np.asarray(c, dtype=np.int64)
    if n.shape != c.shape or n.ndim != 1:
        raise ValueError("n and c must be 1-d arrays of the same length")
    if np.any(c < 0) or np.any(c > n):
        raise ValueError("every problem needs 0 <= c <= n")
    if len(ks) and (min(ks) < 1 or (n.size and max(ks) > n.min())):
        raise ValueError(f"k must lie in [1, min n = {n.min() if n.size else 0}], got {list(ks)}")
    out = np.empty((n.size, len(ks)), dtype=np.float64)
    for n_value in np.unique(n):
        rows = n == n_value
        for j, k in enumerate(ks):
            out[rows, j] = 1.0 - _survival_table(int(n_value), int(k))[c[rows]]
    return out


def pass_at_k(n: int, c: int, k: int) -> float:
    """pass@k of a single problem (convenience wrapper of `pass_at_k_matrix`)."""
    return float(pass_at_k_matrix(np.array([n]), np.array([c]), [k])[0, 0])


def counts_from_verdicts(verdicts: pl.DataFrame, source: str = "verdicts") -> pl.DataFrame:
    """Samples (n) and correct samples (c) per verifier × problem, in the verdicts' problem order.

    The order of first appearance is kept so that a problem's position in the counts table is its position
    in the benchmark (the paper's solved-index tables count problems that way). Duplicate or undecided
    verdicts are refused: they would silently inflate n or c.
    """
    if verdicts.is_empty():
        raise UserError(f"{source}: the verdict table is empty; rerun the verify rule")
    nulls = verdicts.filter(pl.col("correct").is_null() | pl.col("problem_id").is_null()
                            | pl.col("verifier").is_null())
    if not nulls.is_empty():
        row = nulls.row(0, named=True)
        raise UserError(f"{source}: {nulls.height} verdict rows have no correct/problem_id/verifier value "
                        f"(first: problem {row['problem_id']!r}, sample {row['sample_idx']}); rerun verify")
    dup = (verdicts.group_by("verifier", "problem_id", "sample_idx", maintain_order=True).len()
           .filter(pl.col("len") > 1))
    if not dup.is_empty():
        row = dup.row(0, named=True)
        raise UserError(f"{source}: problem {row['problem_id']!r} sample {row['sample_idx']} has "
                        f"{row['len']} verdicts from verifier {row['verifier']!r}; each sample must be "
                        "verified once (were sample blocks read twice?)")
    counts = verdicts.group_by("verifier", "problem_id", maintain_order=True).agg(
        n=pl.len(), c=pl.col("correct").cast(pl.Int64).sum())
    return conform(counts, COUNT_COLUMNS)


def check_counts(counts: pl.DataFrame, source: str, n_samples: int | None = None,
                 k_max: int | None = None) -> None:
    """Refuse counts that cannot give the requested curve, naming the first offending problem."""
    if counts.is_empty():
        raise UserError(f"{source}: no problems to compute pass@k on")
    bad = counts.filter((pl.col("c") < 0) | (pl.col("c") > pl.col("n")) | (pl.col("n") < 1))
    if not bad.is_empty():
        row = bad.row(0, named=True)
        raise UserError(f"{source}: problem {row['problem_id']!r} (verifier {row['verifier']!r}) has "
                        f"c={row['c']} correct of n={row['n']} samples; need 0 <= c <= n and n >= 1")
    if n_samples is not None:
        off = counts.filter(pl.col("n") != n_samples)
        if not off.is_empty():
            row = off.row(0, named=True)
            raise UserError(f"{source}: problem {row['problem_id']!r} (verifier {row['verifier']!r}) has "
                            f"{row['n']} samples but n_samples is {n_samples} ({off.height} problems "
                            "differ); the verdicts were made for another n_samples: rerun verification")
    if k_max is not None:
        short = counts.filter(pl.col("n") < k_max)
        if not short.is_empty():
            row = short.row(0, named=True)
            raise UserError(f"{source}: problem {row['problem_id']!r} has n={row['n']} samples, fewer than "
                            f"k_max={k_max}; pass@k needs n >= k")


def verifier_matrix(counts: pl.DataFrame, verifier: str, ks: Sequence[int]) -> np.ndarray:
    """Per-problem pass@k (problems in table order × ks) of one verifier's rows of a counts table."""
    rows = counts.filter(pl.col("verifier") == verifier)
    return pass_at_k_matrix(rows["n"].to_numpy(), rows["c"].to_numpy(), ks)


def passk_table(counts: pl.DataFrame, ks: Sequence[int], n_resamples: int, ci: float,
                seed: int) -> pl.DataFrame:
    """One row per verifier × k: mean pass@k over problems with its bootstrap interval (PASSK_COLUMNS).

    Every verifier is resampled with the same seed, so its intervals come from the same problem draws.
    """
    rows = []
    for verifier in counts["verifier"].unique(maintain_order=True).to_list():
        values = verifier_matrix(counts, verifier, ks)
        for k, interval in zip(ks, bootstrap_curve(values, n_resamples, ci, seed), strict=True):
            rows.append({"verifier": verifier, "k": k, "pass_at_k": interval.value, "ci_low": interval.low,
                         "ci_high": interval.high, "n_problems": values.shape[0]})
    return conform(pl.DataFrame(rows), PASSK_COLUMNS)
