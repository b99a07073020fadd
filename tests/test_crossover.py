"""Crossover k on synthetic curves with known answers, and its bootstrap interval."""

from __future__ import annotations

import numpy as np
import pytest

from analysis_data import counts
from rlvr_limits.analysis.bootstrap import resample_weights
from rlvr_limits.analysis.compare import compare_pair
from rlvr_limits.analysis.crossover import crossover, first_reach

KS = [1, 2, 4, 8, 16, 32, 64, 128, 256]
BASE = np.array([0.13, 0.21, 0.30, 0.40, 0.52, 0.66, 0.81, 0.91, 0.98])  # the toy study's curves
RL = np.array([0.20, 0.28, 0.34, 0.38, 0.42, 0.47, 0.53, 0.60, 0.67])


def fixed(curve: np.ndarray, times: int = 50) -> np.ndarray:
    return np.tile(curve, (times, 1))


def test_first_reach() -> None:
    assert first_reach(BASE, RL) == 3
    assert first_reach(RL, BASE) == 0
    assert first_reach(np.zeros(3), np.ones(3)) == 3
    np.testing.assert_array_equal(first_reach(np.array([[0, 1], [0, 0]]), np.array([[1, 1], [1, 1]])), [1, 2])


def test_the_toy_curves_cross_at_k_8() -> None:
    got = crossover(KS, BASE, RL, fixed(BASE), fixed(RL), ci=0.95)
    assert (got.k, got.k_low, got.k_high, got.share_crossing) == (8, 8, 8, 1.0)
    assert got.statement("base", "rl") == "base reaches rl at k=8 (95% interval k=8)"


def test_no_crossover_is_stated_as_such() -> None:
    distill = np.minimum(BASE + 0.3, 1.0) + 0.001  # above the base everywhere
    got = crossover(KS, BASE, distill, fixed(BASE), fixed(distill), ci=0.95)
    assert got.k is None and got.k_low is None and got.k_high is None and got.share_crossing == 0.0
    assert got.statement("base", "distill") == "no crossover up to k=256: base stays below distill"
    assert got.as_dict("base", "distill")["none_up_to_k_max"] is True


def test_base_ahead_from_the_start() -> None:
    got = crossover(KS, RL, BASE * 0.5, fixed(RL), fixed(BASE * 0.5), ci=0.95)
    assert got.k == 1 and got.other_never_leads
    assert "at or above" in got.statement("base", "other")


def test_equal_curves_count_as_reached() -> None:
    a = np.array([0.1, 0.5, 1.0])
    b = np.array([0.2, 0.5, 1.0])
    assert crossover([1, 2, 4], a, b, fixed(a), fixed(b), ci=0.9).k == 2


def test_interval_spans_resamples_that_cross_late_or_never() -> None:
    late = BASE.copy()
    late[:6] = RL[:6] - 0.01  # crosses only at k=64
    never = RL - 0.01
    base_draws = np.vstack([fixed(BASE, 40), fixed(late, 40), fixed(never, 20)])
    other_draws = fixed(RL, 100)
    got = crossover(KS, BASE, RL, base_draws, other_draws, ci=0.95)
    assert got.k == 8 and got.k_low == 8 and got.k_high is None
    assert got.share_crossing == pytest.approx(0.8)
    assert got.statement("b", "o") == "b reaches o at k=8 (95% interval k=8 to >256)"


def test_crossover_from_counts_is_found_with_an_interval() -> None:
    """RL: a sure solver of half the problems, never of the rest; base: rarely right on all of them."""
    n = 64
    n_problems = 60
    base = counts([n] * n_problems, [4] * n_problems)
    rl = counts([n] * n_problems, [48] * 30 + [0] * 30)
    result = compare_pair(base, rl, "base", "rl", "math", [1, 2, 4, 8, 16, 32, 64],
                          resample_weights(n_problems, 200, seed=1), ci=0.95)
    cross = result.summary["crossover"]
    # base pass@k = 1 - C(60,k)/C(64,k): 0.0625, 0.12, 0.23, 0.42, 0.68, 0.94, 1; RL 0.375, 0.47, then
    # 0.5 flat. Resampling moves RL's share of sure problems (0.5 ± 0.065), so the crossing is 8 or 16.
    assert cross["k"] == 16
    assert cross["k_low"] == 8 and cross["k_high"] == 16
    assert result.summary["diff_at_k_max"]["value"] == pytest.approx(-0.5)
    assert result.summary["diff_at_k_max"]["excludes_zero"]
