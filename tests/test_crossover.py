"""The crossover on synthetic curves with known answers: claimed only where the data carry it."""

from __future__ import annotations

import numpy as np
import pytest

from analysis_data import counts
from rlvr_limits.analysis.bootstrap import resample_weights
from rlvr_limits.analysis.compare import compare_pair
from rlvr_limits.analysis.crossover import crossover, from_dict
from rlvr_limits.analysis.paired import sign_flips

KS = [1, 2, 4, 8, 16, 32, 64, 128, 256]
BASE = np.array([0.13, 0.21, 0.30, 0.40, 0.52, 0.66, 0.81, 0.91, 0.98])  # the toy study's curves
RL = np.array([0.20, 0.28, 0.34, 0.38, 0.42, 0.47, 0.53, 0.60, 0.67])
ALL = [True] * len(KS)


def test_the_toy_curves_cross_at_k_8() -> None:
    got = crossover(KS, RL - BASE, ALL, 0.001, True, ci=0.95)
    assert (got.status, got.k, got.k_low, got.k_high) == ("crossover", 8, 8, 8)
    assert got.statement("base", "rl") == "base overtakes rl at k=8 and stays ahead to k=256 (p = 0.001 at k=256)"


def test_noise_around_the_crossing_is_named() -> None:
    significant = [True, True, False, False, False, True, True, True, True]
    got = crossover(KS, RL - BASE, significant, 0.001, True, ci=0.95)
    assert (got.k, got.k_low, got.k_high) == (8, 4, 32)
    assert got.noise == [[4, 16]]
    text = got.statement("base", "rl")
    assert "the crossing lies between k=4 and k=32" in text
    assert "within each other's noise (95% pointwise) at k=4 to 16" in text


def test_no_crossover_is_stated_as_such() -> None:
    distill = np.minimum(BASE + 0.3, 1.0) + 0.001  # above the base everywhere
    got = crossover(KS, distill - BASE, ALL, 0.001, True, ci=0.95)
    assert got.k is None and got.status == "none"
    assert got.statement("base", "distill") == "no crossover up to k=256: base stays below distill"
    assert got.as_dict("base", "distill")["none_up_to_k_max"] is True


def test_base_ahead_from_the_start() -> None:
    got = crossover(KS, BASE * 0.5 - RL, ALL, 0.001, True, ci=0.95)
    assert got.status == "base_ahead" and got.k is None
    assert got.statement("base", "other").startswith("base is ahead of other at every k up to 256")


def test_saturated_curves_tie_rather_than_cross() -> None:
    """Both at 1.0 from k=128 on: the base never gets ahead, so there is no crossover at k_max."""
    rl = np.minimum(RL + 0.5, 1.0)
    base = BASE.copy()
    base[-2:] = rl[-2:] = 1.0
    got = crossover(KS, rl - base, [True] * 7 + [False] * 2, 1.0, False, ci=0.95)
    assert got.status == "none" and got.ties == [128, 256]
    assert got.statement("b", "o").startswith("no crossover: the curves tie at k=256")


def test_curves_at_zero_are_not_the_base_ahead() -> None:
    got = crossover(KS, np.zeros(len(KS)), [False] * len(KS), 1.0, False, ci=0.95)
    assert got.status == "none" and got.ties == KS
    assert "within each other's noise (95% pointwise) at k=1 to 256" in got.statement("b", "o")


def test_a_blip_does_not_hide_the_real_crossing() -> None:
    diffs = np.array([0.05, -0.01, 0.04, 0.06, 0.05, 0.03, 0.01, -0.05, -0.10])
    significant = [True, False, True, True, True, True, False, True, True]
    got = crossover(KS, diffs, significant, 0.002, True, ci=0.95)
    assert (got.status, got.k, got.k_low, got.k_high) == ("crossover", 128, 64, 128)
    assert got.sign_changes == [2, 4, 128]
    assert "the sign of the difference changes 3 times (at k=2, 4, 128)" in got.statement("b", "o")


def test_base_ahead_at_k_max_without_evidence_is_no_crossover() -> None:
    diffs = RL - BASE
    got = crossover(KS, diffs, [*ALL[:-1], False], 0.2, False, ci=0.95)
    assert got.status == "none" and got.k is None
    assert got.statement("base", "rl").startswith(
        "no crossover established: base is ahead at k=256 but not significantly (p = 0.2 at k=256)")


def test_the_summary_restates_with_other_labels() -> None:
    got = crossover(KS, RL - BASE, ALL, 0.001, True, ci=0.95)
    again = from_dict(got.as_dict("base", "rl"))
    assert again.statement("Base", "RL") == got.statement("Base", "RL")


def test_crossover_from_counts_is_found_with_its_window() -> None:
    """RL: a sure solver of half the problems, never of the rest; base: rarely right on all of them."""
    n, n_problems = 64, 60
    base = counts([n] * n_problems, [4] * n_problems)
    rl = counts([n] * n_problems, [48] * 30 + [0] * 30)
    result = compare_pair(base, rl, "base", "rl", "math", [1, 2, 4, 8, 16, 32, 64],
                          resample_weights(n_problems, 200, seed=1), sign_flips(n_problems, seed=1), ci=0.95)
    cross = result.summary["crossover"]
    # base pass@k = 1 - C(60,k)/C(64,k): 0.0625, 0.12, 0.23, 0.42, 0.68, 0.94, 1; RL 0.375, 0.47, then
    # 0.5 flat. RL leads clearly to k=4, the base clearly from k=32; k=8 and 16 are close.
    assert cross["status"] == "crossover" and cross["k"] == 16
    assert cross["k_low"] <= 16 <= cross["k_high"]
    assert result.differences.filter(result.differences["crossover"])["k"].to_list() == [16]
    at_k_max = result.summary["diff_at_k_max"]
    assert at_k_max["value"] == pytest.approx(-0.5)
    assert at_k_max["excludes_zero"] and at_k_max["method"].startswith("exact sign test")
    assert at_k_max["p_value"] == pytest.approx(2 * 0.5 ** 30)
