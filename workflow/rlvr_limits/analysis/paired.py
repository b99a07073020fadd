"""Paired sign-flip tests of other − base over problems, with intervals by test inversion.

Which problems a benchmark holds dominates the uncertainty, and benchmarks as small as AIME24 (30 problems)
leave the bootstrap's large-sample promise unkept: when few problems are solved by only one model, the
resampled differences all share one sign and the percentile interval excludes zero on little evidence. The
sign-flip test needs no large sample: if the two models behave alike on every problem, each problem's
difference d_i is as likely to be −d_i, so the distribution of Σ d_i under random sign flips is its exact null
distribution at any number of problems. (The sum of squares does not change under flips, so the studentized
statistic orders the flips exactly as the sum does.)

Where every d_i is −1, 0 or +1 (pass@k at k = n: solved by one model only, or not) the flip distribution is
enumerated instead of sampled, and the test of δ = 0 is the exact McNemar (sign) test on the problems solved
by only one model.

The test of δ₀ ≠ 0 assumes d − δ₀ symmetric, which a skewed difference is not, so the inverted sign-flip
interval alone covers too rarely when the models really differ (91% at 30 AIME-like problems, in a simulation
like the tests'); the studentized bootstrap (bootstrap-t) covers then, but over-rejects a true zero (12%). Each
δ₀ is therefore kept when either test keeps it: the interval is the union of both intervals, its p-value the
larger of the two p-values, and a difference is claimed only when both tests reject. The seeded simulation in
tests/test_statistics_simulation.py holds the rates at 30 and 500 problems.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import lgamma, log

import numpy as np

from rlvr_limits.analysis.bootstrap import studentized_draws

#: Random sign flips of the Monte-Carlo test: its smallest p-value is 1/10000, fine enough for a Bonferroni
#: level of 0.05/11 over the k grid.
N_FLIPS = 9999

EXACT = "exact sign test (McNemar)"
SIGN_FLIP = "sign-flip permutation test"
BOOTSTRAP_T = "studentized bootstrap"

#: Bisection stops when the interval end is known to within this (a 0.0001-point difference).
_TOLERANCE = 1e-6


@dataclass(frozen=True)
class PairedTest:
    """A mean difference with its interval (level 1 − alpha), the p-value of δ = 0 and the method used."""

    value: float
    low: float
    high: float
    p_value: float
    alpha: float
    method: str

    @property
    def excludes_zero(self) -> bool:
        """The test rejects δ = 0 at level alpha; by construction the interval then excludes zero."""
        return bool(self.p_value <= self.alpha)

    def as_dict(self) -> dict[str, float | str | bool]:
        return {"value": self.value, "low": self.low, "high": self.high, "p_value": self.p_value,
                "method": self.method, "excludes_zero": self.excludes_zero}


def sign_flips(n_problems: int, seed: int, n_flips: int = N_FLIPS) -> np.ndarray:
    """(n_flips, n_problems) random signs ±1, seeded; shared by every model and k of one verifier."""
    if n_problems < 1 or n_flips < 1:
        raise ValueError("need at least one problem and one flip")
    rng = np.random.default_rng(seed)
    return (2 * rng.integers(0, 2, size=(n_flips, n_problems), dtype=np.int8) - 1).astype(np.int8)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment: adjusted p ≤ alpha controls the family-wise error over all given tests."""
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    scaled = (p.size - np.arange(p.size)) * p[order]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted


def _monte_carlo(d: np.ndarray, flipped_sums: np.ndarray, sign_sums: np.ndarray) -> Callable[[float], float]:
    """p(δ₀) of the sign-flip test of d − δ₀, from Σ s·d and Σ s of every flip s."""
    total, n = float(d.sum()), d.size

    def p_value(delta: float) -> float:
        observed = abs(total - n * delta)
        flipped = np.abs(flipped_sums - delta * sign_sums)
        return float((1 + np.count_nonzero(flipped >= observed * (1 - 1e-12) - 1e-12)) / (1 + flipped.size))

    return p_value


def _half_binomial(n: int) -> np.ndarray:
    """P(J = j), j = 0..n, for J ~ Binomial(n, 1/2)."""
    j = np.arange(n + 1)
    log_pmf = np.array([lgamma(n + 1) - lgamma(i + 1) - lgamma(n - i + 1) for i in j]) - n * log(2.0)
    return np.exp(log_pmf)


def _exact(d: np.ndarray) -> Callable[[float], float]:
    """p(δ₀) of the sign-flip test of d − δ₀ for d in {−1, 0, 1}, by enumerating the flips.

    The three groups of problems (other only, base only, neither or both) take the values 1 − δ₀, −1 − δ₀
    and −δ₀; the number of plus signs in each group is Binomial(size, 1/2).
    """
    plus, minus = int(np.sum(d > 0)), int(np.sum(d < 0))
    zero = d.size - plus - minus
    pmf_plus, pmf_minus, pmf_zero = _half_binomial(plus), _half_binomial(minus), _half_binomial(zero)
    j_plus = 2 * np.arange(plus + 1) - plus
    j_minus = 2 * np.arange(minus + 1) - minus
    j_zero = 2 * np.arange(zero + 1) - zero
    weights = np.outer(pmf_plus, pmf_minus).ravel()

    def p_value(delta: float) -> float:
        observed = abs(plus - minus - d.size * delta) * (1 - 1e-12) - 1e-12
        partial = (((1 - delta) * j_plus)[:, None] + ((-1 - delta) * j_minus)[None, :]).ravel()
        order = np.argsort(partial)
        values, cumulative = partial[order], np.concatenate(([0.0], np.cumsum(weights[order])))
        shift = -delta * j_zero
        # P(|partial + shift| >= observed) for each shift: partial >= observed − shift or <= −observed − shift
        above = cumulative[-1] - cumulative[np.searchsorted(values, observed - shift, side="left")]
        below = cumulative[np.searchsorted(values, -observed - shift, side="right")]
        both = np.where(observed > 0, above + below, cumulative[-1])
        return min(1.0, float(np.dot(pmf_zero, both)))

    return p_value


def _bootstrap_t(d: np.ndarray, means: np.ndarray, mean_squares: np.ndarray) -> Callable[[float], float]:
    """Equal-tailed p(δ₀) of the studentized bootstrap, from each resample's mean of d and of d²."""
    n = d.size
    estimate = float(d.mean())
    se = float(d.std(ddof=1)) / np.sqrt(n) if n > 1 else 0.0
    se_star = np.sqrt(np.maximum(mean_squares - means ** 2, 0.0) * n / max(n - 1, 1) / n)
    # Resamples that drew only ties (3 discordant problems in 100 are all missed 5% of the time) are far out, but
    # not infinitely: otherwise δ₀ = 1 could never be rejected.
    t_star = studentized_draws(means - estimate, se_star, se, n)

    def p_value(delta: float) -> float:
        gap = estimate - delta
        if se <= 1e-15:
            return 1.0 if abs(gap) <= 1e-15 else 0.0
        t0 = gap / se
        upper = np.count_nonzero(t_star >= t0 - 1e-12)
        lower = np.count_nonzero(t_star <= t0 + 1e-12)
        return min(1.0, 2.0 * min(upper, lower) / t_star.size)

    return p_value


def _end(p_value: Callable[[float], float], estimate: float, bound: float, alpha: float) -> float:
    """The interval end between the estimate (accepted) and `bound`, by bisection.

    δ₀ = 0 enters the bracket when it lies on this side, so that the interval excludes zero exactly when the
    test of zero rejects.
    """
    accepted, rejected = estimate, bound
    if min(estimate, bound) < 0.0 < max(estimate, bound):
        if p_value(0.0) > alpha:
            accepted = 0.0
        else:
            rejected = 0.0
    if rejected == bound and p_value(bound) > alpha:
        return bound
    while abs(rejected - accepted) > _TOLERANCE:
        middle = (accepted + rejected) / 2
        if p_value(middle) > alpha:
            accepted = middle
        else:
            rejected = middle
    return accepted


def _test(d: np.ndarray, p_value: Callable[[float], float], alpha: float, method: str) -> PairedTest:
    estimate = float(d.mean())
    low = _end(p_value, estimate, -1.0, alpha)
    high = _end(p_value, estimate, 1.0, alpha)
    return PairedTest(estimate, float(low), float(high), float(p_value(0.0)), alpha, method)


def is_ternary(d: np.ndarray) -> bool:
    """Every per-problem difference is −1, 0 or +1 (both models' values are 0 or 1, e.g. pass@k at k = n)."""
    return bool(np.all((d == -1.0) | (d == 0.0) | (d == 1.0)))


def mean_tests(diff: np.ndarray, flips: np.ndarray, weights: np.ndarray,
               alphas: Sequence[float]) -> list[list[PairedTest]]:
    """Tests that the mean over problems of each column of `diff` (problems × columns) is zero, with intervals.

    Returns one list per alpha, each with one test per column. The flips (n_flips × problems, from
    `sign_flips`) and the bootstrap weights (resamples × problems) are shared so that every model, k and
    level sees the same resamples.
    """
    n = diff.shape[0]
    if flips.shape[1] != n or weights.shape[1] != n:
        raise ValueError(f"{flips.shape[1]} flip and {weights.shape[1]} weight columns for {n} problems")
    signs = flips.astype(np.float64)
    flipped = signs @ diff
    sign_sums = signs.sum(axis=1)
    means, mean_squares = weights @ diff / n, weights @ (diff * diff) / n
    n_resamples = weights.shape[0]
    out: list[list[PairedTest]] = [[] for _ in alphas]
    for j in range(diff.shape[1]):
        d = diff[:, j]
        if is_ternary(d):
            flip_p, name = _exact(d), EXACT
        else:
            flip_p, name = _monte_carlo(d, flipped[:, j], sign_sums), f"{SIGN_FLIP} ({flips.shape[0]} flips)"
        boot_p = _bootstrap_t(d, means[:, j], mean_squares[:, j])
        method = f"{name} and {BOOTSTRAP_T} ({n_resamples} resamples), the larger p-value"

        def either(delta: float, flip_p: Callable[[float], float] = flip_p,
                   boot_p: Callable[[float], float] = boot_p) -> float:
            return max(flip_p(delta), boot_p(delta))

        for row, alpha in zip(out, alphas, strict=True):
            row.append(_test(d, either, alpha, method))
    return out


def paired_tests(base: np.ndarray, other: np.ndarray, flips: np.ndarray, weights: np.ndarray,
                 alphas: Sequence[float]) -> list[list[PairedTest]]:
    """Tests of other − base for every column of the per-problem values (problems × k), at each level."""
    if base.shape != other.shape:
        raise ValueError(f"paired values need the same shape, got {base.shape} and {other.shape}")
    return mean_tests(other - base, flips, weights, alphas)
