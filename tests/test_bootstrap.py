"""Bootstrap over problems: nominal coverage in a seeded simulation, pairing, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from rlvr_limits.analysis.bootstrap import (
    bootstrap_curve,
    difference_intervals,
    mean_intervals,
    paired_bootstrap,
    resample_weights,
)
from rlvr_limits.analysis.passk import pass_at_k_matrix
from scipy_free_beta import beta_survival_mean


def test_weights_are_resamples_of_the_problems() -> None:
    w = resample_weights(7, 50, seed=3)
    assert w.shape == (50, 7)
    assert np.all(w.sum(axis=1) == 7) and np.all(w >= 0)
    np.testing.assert_array_equal(w, resample_weights(7, 50, seed=3))
    assert not np.array_equal(w, resample_weights(7, 50, seed=4))


def test_constant_values_give_a_degenerate_interval() -> None:
    got = bootstrap_curve(np.full((5, 2), 0.3), n_resamples=20, ci=0.95, seed=0)
    for interval in got:
        assert interval.value == pytest.approx(0.3)
        assert interval.low == pytest.approx(0.3) and interval.high == pytest.approx(0.3)


def test_a_nearly_saturated_curve_keeps_a_narrow_band() -> None:
    """The demo's distilled model (correct counts out of 256 on 100 problems): at k >= 8 almost every problem's
    pass@k is 1 up to rounding (1 − 1e-15), and resamples of those alone once gave t* ≈ 1e10, drawing the band
    from 0 to 1 around 0.9999."""
    correct = np.repeat([115, 196, 203, 214, 231, 235, 236, 238, 239, 240, 242, 243, 244, 245, 247, 248, 249, 250,
                         251, 252, 253, 254, 255, 256],
                        [1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 3, 2, 3, 6, 3, 5, 11, 10, 6, 15, 14, 9])
    values = pass_at_k_matrix(np.full(correct.size, 256), correct, [1, 4, 8, 16, 32])
    for k, interval in zip([1, 4, 8, 16, 32], bootstrap_curve(values, n_resamples=1000, ci=0.95, seed=0),
                           strict=True):
        assert interval.low <= interval.value <= interval.high <= 1.0
        assert interval.value - interval.low < 0.05, (k, interval)


def test_intervals_cover_the_true_pass_at_k_at_the_nominal_rate() -> None:
    """Problems of a population with success probability p ~ Beta(a, b); true pass@k = 1 - E[(1-p)^k]."""
    a, b, n, n_problems, trials = 0.5, 2.0, 16, 60, 300
    ks = [1, 4, 16]
    truth = np.array([1.0 - beta_survival_mean(a, b, k) for k in ks])
    rng = np.random.default_rng(20250418)
    hits = np.zeros(len(ks))
    for trial in range(trials):
        p = rng.beta(a, b, n_problems)
        c = rng.binomial(n, p)
        values = pass_at_k_matrix(np.full(n_problems, n), c, ks)
        intervals = mean_intervals(values, resample_weights(n_problems, 300, seed=trial), ci=0.95)
        hits += [iv.low <= t <= iv.high for iv, t in zip(intervals, truth, strict=True)]
    coverage = hits / trials
    assert np.all(coverage > 0.89) and np.all(coverage < 0.99), coverage


def test_a_90_percent_interval_is_narrower() -> None:
    values = np.random.default_rng(1).random((40, 1))
    weights = resample_weights(40, 500, seed=2)
    wide, narrow = mean_intervals(values, weights, 0.95)[0], mean_intervals(values, weights, 0.90)[0]
    assert narrow.high - narrow.low < wide.high - wide.low


def test_paired_difference_removes_shared_problem_variation() -> None:
    rng = np.random.default_rng(5)
    difficulty = rng.random((80, 1))
    base = difficulty
    other = np.clip(difficulty + 0.05 + rng.normal(0, 0.01, (80, 1)), 0, 1)
    weights = resample_weights(80, 500, seed=9)
    paired = difference_intervals(base, other, weights, 0.95)[0]
    unpaired_base = mean_intervals(base, resample_weights(80, 500, seed=10), 0.95)[0]
    assert paired.low > 0.03 and paired.high < 0.07
    assert paired.excludes(0.0)
    assert paired.high - paired.low < (unpaired_base.high - unpaired_base.low) / 5


def test_a_model_against_itself_differs_by_exactly_zero() -> None:
    values = np.random.default_rng(2).random((30, 3))
    draws = paired_bootstrap(values, values, resample_weights(30, 100, seed=1))
    assert np.all(draws.diff == 0)
    assert not difference_intervals(values, values, resample_weights(30, 100, seed=1), 0.95)[0].excludes(0.0)
