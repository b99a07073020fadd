"""Seeded simulation: the intervals and tests hold their nominal rates at 30 and at 500 problems.

Problems come from an AIME-like population with n = 1024 samples each: a quarter no model can solve, a fifth
solved about once in a thousand samples (the paper's AIME24 split of 4 base-only problems is made of such),
the rest with success probability ~ Beta(0.5, 1.5). Under the null the other model *is* the base model (same
probability on every problem); the sharpened model doubles the base's probability where it is above 2% and
never solves the rest, so it leads at k = 1 and trails at k = 256 and k = n, as RL models do in the paper.
The true pass@k of a population is 1 − E[(1 − p)^k], taken from a million draws.

A rate measured on R replicates has binomial standard deviation √(q(1 − q)/R) around its true value q; each
check allows Z = 3 of them around the nominal 95% coverage or 5% rejection. The percentile bootstrap the
workflow used for differences fails these checks at 30 problems (the last test shows it), the paired tests
of analysis.paired pass them.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from rlvr_limits.analysis.bootstrap import difference_intervals, mean_intervals, resample_weights
from rlvr_limits.analysis.paired import paired_tests, sign_flips
from rlvr_limits.analysis.passk import pass_at_k_matrix

N = 1024
KS = (1, 256, N)
ALPHA = 0.05
Z = 3.0
REPLICATES = {30: 300, 500: 100}
FLIPS = 499       # the sign-flip p-value is exact for any number of flips; fewer keep the test fast
RESAMPLES = 300


def population(rng: np.random.Generator, size: int, sharpened: bool) -> tuple[np.ndarray, np.ndarray]:
    """Success probabilities of the base and the other model on `size` problems."""
    kind = rng.random(size)
    p = np.where(kind < 0.25, 0.0, np.where(kind < 0.45, rng.uniform(0.0, 3.0 / N, size),
                                            rng.beta(0.5, 1.5, size)))
    q = np.where(p > 0.02, np.minimum(1.0, 2.0 * p), 0.0) if sharpened else p
    return p, q


@cache
def truth(sharpened: bool) -> tuple[np.ndarray, np.ndarray]:
    p, q = population(np.random.default_rng(0), 1_000_000, sharpened)
    return tuple(np.array([1.0 - np.mean((1.0 - x) ** k) for k in KS]) for x in (p, q))


def band(rate: float, replicates: int) -> float:
    return Z * np.sqrt(rate * (1.0 - rate) / replicates)


@cache
def simulate(n_problems: int, sharpened: bool) -> dict[str, np.ndarray]:
    """Per k: coverage of base, other and difference intervals and rejection rates, new and percentile."""
    true_base, true_other = truth(sharpened)
    true_diff = true_other - true_base
    rng = np.random.default_rng(1000 * n_problems + sharpened)
    hits = {name: np.zeros(len(KS)) for name in
            ("base", "other", "diff", "reject", "percentile diff", "percentile reject")}
    replicates = REPLICATES[n_problems]
    for r in range(replicates):
        p, q = population(rng, n_problems, sharpened)
        n = np.full(n_problems, N)
        base = pass_at_k_matrix(n, rng.binomial(N, p), KS)
        other = pass_at_k_matrix(n, rng.binomial(N, q), KS)
        weights = resample_weights(n_problems, RESAMPLES, seed=r)
        tests = paired_tests(base, other, sign_flips(n_problems, seed=r, n_flips=FLIPS), weights, [ALPHA])[0]
        percentile = difference_intervals(base, other, weights, 1 - ALPHA)
        for name, intervals, target in (("base", mean_intervals(base, weights, 1 - ALPHA), true_base),
                                         ("other", mean_intervals(other, weights, 1 - ALPHA), true_other),
                                         ("diff", tests, true_diff), ("percentile diff", percentile, true_diff)):
            hits[name] += [iv.low <= t <= iv.high for iv, t in zip(intervals, target, strict=True)]
        hits["reject"] += [t.excludes_zero for t in tests]
        hits["percentile reject"] += [iv.excludes(0.0) for iv in percentile]
    return {name: count / replicates for name, count in hits.items()}


def covers(rates: np.ndarray, n_problems: int) -> bool:
    return bool(np.all(rates >= 1 - ALPHA - band(1 - ALPHA, REPLICATES[n_problems])))


@pytest.mark.parametrize("n_problems", [30, 500])
@pytest.mark.parametrize("sharpened", [False, True], ids=["same model", "sharpened"])
def test_single_curve_intervals_cover_pass_at_1_and_256(n_problems: int, sharpened: bool) -> None:
    rates = simulate(n_problems, sharpened)
    for name in ("base", "other"):
        assert covers(rates[name], n_problems), (name, rates[name])


@pytest.mark.parametrize("n_problems", [30, 500])
def test_paired_difference_holds_its_level_when_the_models_are_equal(n_problems: int) -> None:
    rates = simulate(n_problems, sharpened=False)
    assert covers(rates["diff"], n_problems), rates["diff"]
    assert np.all(rates["reject"] <= ALPHA + band(ALPHA, REPLICATES[n_problems])), rates["reject"]


@pytest.mark.parametrize("n_problems", [30, 500])
def test_paired_difference_covers_when_the_models_differ(n_problems: int) -> None:
    rates = simulate(n_problems, sharpened=True)
    assert covers(rates["diff"], n_problems), rates["diff"]
    assert rates["reject"][0] > 0.95  # a ten-point lead at k = 1 is found
    if n_problems == 500:
        assert np.all(rates["reject"] > 0.95)  # and every difference once the benchmark is large


def test_the_percentile_bootstrap_fails_at_30_problems() -> None:
    """The defect the paired tests fix: at k = 256 it excludes zero far more often than 5% of the time."""
    rates = simulate(30, sharpened=False)
    at_256 = KS.index(256)
    assert rates["percentile reject"][at_256] > ALPHA + band(ALPHA, REPLICATES[30])
    assert not covers(rates["percentile diff"], 30)
