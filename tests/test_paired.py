"""Paired tests of other − base: exact where binary, intervals consistent with p-values, the paper's AIME24 split."""

from __future__ import annotations

import numpy as np
import pytest

from analysis_data import counts
from rlvr_limits.analysis.bootstrap import resample_weights
from rlvr_limits.analysis.compare import compare_pair
from rlvr_limits.analysis.findings import findings_html
from rlvr_limits.analysis.paired import holm, mean_tests, paired_tests, sign_flips

N, PROBLEMS = 1024, 30


def aime_split(base_only: int, rl_only: int = 0) -> dict:
    """Table 2 of the paper on AIME24 at n = 1024: `base_only` problems the base solves once in 1024 samples
    and RL never, 7 neither solves, the rest (19 in the paper) both."""
    neither = 7
    both = PROBLEMS - neither - base_only - rl_only
    base_c = [1] * base_only + [0] * rl_only + [300] * both + [0] * neither
    rl_c = [0] * base_only + [1] * rl_only + [600] * both + [0] * neither
    result = compare_pair(counts([N] * PROBLEMS, base_c), counts([N] * PROBLEMS, rl_c), "base", "rl", "math",
                          [1, 16, 256, 1024], resample_weights(PROBLEMS, 1000, seed=3),
                          sign_flips(PROBLEMS, seed=3), ci=0.95)
    summary = {"comparison": "rl", "benchmark": "aime24", "base": "base", "k_max": 1024, "ci": 0.95,
               "bootstrap": 1000, "results": [result.summary]}
    return {"result": result.summary, "page": findings_html("rl", [summary])}


@pytest.mark.parametrize(("base_only", "p_value", "stated"), [(4, 0.125, "p = 0.125, adjusted p = 0.25"),
                                                             (5, 0.0625, "p = 0.0625, adjusted p = 0.125")])
def test_the_papers_aime24_split_is_inconclusive(base_only: int, p_value: float, stated: str) -> None:
    got = aime_split(base_only)
    at_k_max = got["result"]["diff_at_k_max"]
    assert at_k_max["value"] == pytest.approx(-base_only / PROBLEMS)
    assert at_k_max["p_value"] == pytest.approx(p_value)  # the exact two-sided McNemar (sign) test
    assert not at_k_max["excludes_zero"] and at_k_max["high"] >= 0.0
    assert f"{stated}: " in got["page"]
    assert "inconclusive at the 5% level</span> (exact sign test (McNemar)" in got["page"]
    assert got["result"]["crossover"]["status"] == "none"
    assert "no crossover established" in got["result"]["crossover"]["statement"]


def test_twelve_problems_solved_only_by_the_base_are_a_difference() -> None:
    got = aime_split(12)
    at_k_max = got["result"]["diff_at_k_max"]
    assert at_k_max["p_value"] == pytest.approx(2 * 0.5 ** 12)
    assert at_k_max["excludes_zero"] and at_k_max["high"] < 0.0
    assert at_k_max["p_adjusted"] == pytest.approx(4 * 0.5 ** 12)  # Bonferroni over k=1 and k=1024
    assert "a difference at the 5% level" in got["page"]


def test_a_few_discordant_problems_among_ties_keep_a_bounded_interval() -> None:
    """The demo's distilled model at k = n: 3 problems only it solves, 97 ties. Resamples that miss all three
    (5% of them) once counted as infinitely far out, so no difference up to +1 could be rejected."""
    diff = np.array([1.0] * 3 + [0.0] * 97)[:, None]
    test = mean_tests(diff, sign_flips(100, 0), resample_weights(100, 1000, 0), [0.05])[0][0]
    assert test.p_value == pytest.approx(0.25) and not test.excludes_zero
    assert test.low <= 0.0 and 0.03 < test.high < 0.5


def test_exact_test_is_the_sign_test_on_discordant_problems() -> None:
    base = np.zeros((40, 1))
    other = np.zeros((40, 1))
    base[:7] = 1.0  # 7 base only
    other[7:9] = 1.0  # 2 other only
    test = paired_tests(base, other, sign_flips(40, 0), resample_weights(40, 200, 0), [0.05])[0][0]
    assert test.method.startswith("exact sign test (McNemar)")
    # two-sided: 2 P(X <= 2), X ~ Binomial(9, 1/2) = 2 * 46 / 512
    assert test.p_value == pytest.approx(2 * 46 / 512)


def test_interval_and_p_value_agree() -> None:
    rng = np.random.default_rng(4)
    diff = np.clip(rng.normal(0.03, 0.15, (30, 6)), -1, 1)
    diff[:, 5] = rng.choice([-1.0, 0.0, 1.0], 30, p=[0.1, 0.8, 0.1])
    for alpha in (0.05, 0.01):
        for test in mean_tests(diff, sign_flips(30, 1), resample_weights(30, 500, 1), [alpha])[0]:
            assert test.low <= test.value <= test.high
            assert test.excludes_zero == (test.low > 0 or test.high < 0)


def test_identical_models_differ_by_nothing() -> None:
    values = np.random.default_rng(2).random((30, 3))
    for test in paired_tests(values, values, sign_flips(30, 1), resample_weights(30, 100, 1), [0.05])[0]:
        assert (test.value, test.low, test.high, test.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_holm_steps_down() -> None:
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.5]), [0.04, 0.09, 0.09, 0.5])
    assert holm([0.2]).tolist() == [0.2]


def test_flips_do_not_match_problems_refused() -> None:
    with pytest.raises(ValueError, match="flip"):
        mean_tests(np.zeros((5, 1)), sign_flips(4, 0), resample_weights(5, 10, 0), [0.05])
