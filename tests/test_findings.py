"""The findings page states every number with its interval and never hides an inconclusive result."""

from __future__ import annotations

from rlvr_limits.analysis.findings import findings_html


def interval(value: float, low: float, high: float) -> dict[str, float]:
    return {"value": value, "low": low, "high": high}


def summary() -> dict:
    return {
        "comparison": "rl_vs_base", "benchmark": "toy", "base": "base", "k_max": 256, "ci": 0.95, "bootstrap": 1000,
        "results": [{
            "model": "rl", "verifier": "math",
            "pass_at_1": {"base": interval(0.134, 0.11, 0.16), "other": interval(0.204, 0.18, 0.23)},
            "pass_at_k_max": {"base": interval(0.98, 0.95, 1.0), "other": interval(0.67, 0.58, 0.76)},
            "n_samples": {"base": [1024], "other": [1024]},
            "diff_at_1": {**interval(0.07, 0.05, 0.09), "excludes_zero": True, "p_value": 0.0001,
                          "p_adjusted": 0.0002, "family": [1, 256], "level": 0.975, "method": "sign-flip"},
            "diff_at_k_max": {**interval(-0.31, -0.62, 0.01), "excludes_zero": False, "p_value": 0.04,
                              "p_adjusted": 0.08, "family": [1, 256], "level": 0.975, "method": "exact sign test"},
            "crossover": {"statement": "crossover at k=8 [4, 16] <base reaches rl>"},
            "coverage": {"n_problems": 100, "counts": {"both": 67, "base_only": 31, "other_only": 0, "neither": 2}},
            "delta_se": {"k": 256, **interval(0.776, 0.7, 0.85)},
        }],
    }


def test_sentences_carry_values_and_intervals() -> None:
    page = findings_html("rl_vs_base", [summary()])
    assert "pass@1: rl 20.4% [18.0%, 23.0%] vs base 13.4% [11.0%, 16.0%]" in page
    assert "difference +7.0 points [+5.0, +9.0] (97.5% interval), p &lt; 0.001, adjusted p &lt; 0.001: " in page
    assert "Coverage within 1024 samples per problem (100 problems): both 67, base only 31, rl only 0" in page
    assert "ΔSE (base pass@256 − rl pass@1): +77.6 points [+70.0, +85.0]" in page
    assert "&lt;base reaches rl&gt;" in page  # statements are escaped


def test_inconclusive_difference_is_said_so() -> None:
    page = findings_html("rl_vs_base", [summary()])
    assert page.count("a difference at the 5% level") == 1
    assert ('p = 0.04, adjusted p = 0.08: <span class="no">inconclusive at the 5% level</span> (exact sign test)'
            in page)
    assert "Bonferroni-adjusted" in page and "k=1 and k=256" in page


def test_delta_se_that_cannot_be_computed_is_said_so() -> None:
    data = summary()
    data["results"][0]["delta_se"] = {"k": 256, "value": None, "low": None, "high": None,
                                      "not_computable": "needs n >= 256 samples of the base per problem, has 128"}
    assert ("ΔSE (base pass@256 − rl pass@1) is not computable: needs n &gt;= 256 samples of the base per "
            "problem, has 128.") in findings_html("rl_vs_base", [data])


def test_guess_filter_is_stated() -> None:
    assert "guess filter" not in findings_html("rl_vs_base", [summary()])
    page = findings_html("rl_vs_base", [{**summary(), "guess_filter": {"direct": "base_direct", "threshold": 0.05}}])
    assert "<b>base_direct</b> answers correctly without chain of thought at a rate in (0, 0.05)" in page
