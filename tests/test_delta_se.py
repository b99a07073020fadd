"""ΔSE = base pass@k_max − model pass@1 reproduces the paper's annotations from its own table."""

from __future__ import annotations

import polars as pl
import pytest

from rlvr_limits.analysis.efficiency import best_delta_se, delta_se, wide_table, with_delta_se
from rlvr_limits.errors import UserError

# paper §6, v2 Table 2: pass@1 / pass@256 in percent on Omni-MATH-Train, Omni-MATH-Test and MATH500.
PAPER = {
    "Qwen2.5-7B": [(9.9, 67.2), (10.2, 69.1), (34.5, 96.2)],
    "GRPO": [(26.1, 66.3), (25.1, 68.3), (74.4, 97.2)],
    "PPO": [(27.2, 65.8), (26.8, 69.2), (75.2, 97.2)],
    "ReMax": [(24.4, 65.5), (23.8, 67.5), (73.5, 96.6)],
    "RLOO": [(28.6, 66.4), (28.1, 69.2), (75.0, 97.4)],
    "Reinforce++": [(28.2, 67.7), (28.0, 69.7), (75.4, 96.8)],
    "DAPO": [(31.4, 66.1), (26.5, 67.0), (75.6, 96.4)],
}
BENCHMARKS = ["omni_train", "omni_test", "math500"]


def paper_summary() -> pl.DataFrame:
    return pl.DataFrame([
        {"model": model, "benchmark": bench, "pass_at_1": p1 / 100, "pass_at_kmax": pk / 100}
        for model, values in PAPER.items() for bench, (p1, pk) in zip(BENCHMARKS, values, strict=True)])


def test_annotations_of_figure_8() -> None:
    best = best_delta_se(paper_summary(), base="Qwen2.5-7B")
    got = {row["benchmark"]: (round(row["delta_se"], 3), row["model"]) for row in best.iter_rows(named=True)}
    assert got == {"omni_train": (0.358, "DAPO"), "omni_test": (0.410, "RLOO"), "math500": (0.206, "DAPO")}


def test_per_algorithm_values() -> None:
    table = with_delta_se(paper_summary(), "Qwen2.5-7B")
    grpo = table.filter(pl.col("model") == "GRPO")["delta_se"].to_list()
    assert [round(100 * x, 1) for x in grpo] == [41.1, 44.0, 21.8]
    assert table.filter(pl.col("model") == "Qwen2.5-7B")["delta_se"].null_count() == 3
    assert delta_se(0.962, 0.756) == pytest.approx(0.206)


def test_table_has_the_papers_shape() -> None:
    wide = wide_table(paper_summary(), "Qwen2.5-7B", BENCHMARKS)
    assert wide["model"].to_list() == list(PAPER)
    assert wide.columns[:4] == ["model", "omni_train pass@1", "omni_train pass@k_max", "omni_train ΔSE"]
    assert wide.row(by_predicate=pl.col("model") == "DAPO", named=True)["omni_train ΔSE"] == \
        pytest.approx(0.358)


def test_base_missing_on_a_benchmark_is_refused() -> None:
    base_on_math500 = (pl.col("model") == "Qwen2.5-7B") & (pl.col("benchmark") == "math500")
    summary = paper_summary().filter(~base_on_math500)
    with pytest.raises(UserError, match=r"no results on \['math500'\]"):
        with_delta_se(summary, "Qwen2.5-7B")
