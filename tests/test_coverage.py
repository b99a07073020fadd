"""Solved-at-least-once sets, the four-way split and the solved index lists."""

from __future__ import annotations

import pytest

from analysis_data import counts
from rlvr_limits.analysis.coverage import align, split_summary, split_table
from rlvr_limits.errors import UserError


def test_four_way_split_by_hand() -> None:
    base = counts([8] * 5, [3, 0, 1, 0, 8])
    other = counts([8] * 5, [1, 2, 0, 0, 8], ids=["p001", "p000", "p002", "p003", "p004"])  # other order
    table = split_table(align(base, other, "base", "rl"))
    # p000: base 3, other 2 -> both; p001: base 0, other 1 -> other_only; p002: base_only; p003: neither.
    assert table["split"].to_list() == ["both", "other_only", "base_only", "neither", "both"]
    assert table["index"].to_list() == [0, 1, 2, 3, 4]
    assert table["acc_base"].to_list() == [3 / 8, 0, 1 / 8, 0, 1]
    assert table["acc_other"].to_list() == [2 / 8, 1 / 8, 0, 0, 1]
    summary = split_summary(table)
    assert summary["counts"] == {"both": 2, "base_only": 1, "other_only": 1, "neither": 1}
    assert summary["fractions"]["both"] == pytest.approx(0.4)
    assert summary["solved"] == {"base": 3, "other": 3}
    assert summary["solved_indices"] == {"base": [0, 2, 4], "other": [0, 1, 4], "base_only": [2],
                                         "other_only": [1]}


def test_the_papers_aime_split_is_reproduced() -> None:
    """v2 Table 4: base solves 23 of 30 AIME24 problems, SimpleRL-7B 19, a strict subset."""
    base_solved = {0, 1, 4, 6, 7, 8, 9, 11, 12, 14, 15, 16, 17, 18, 19, *range(22, 30)}
    rl_solved = {0, 1, 6, 7, 8, 9, 12, 14, 15, 16, 18, *range(22, 30)}
    base = counts([1024] * 30, [5 if i in base_solved else 0 for i in range(30)])
    rl = counts([1024] * 30, [500 if i in rl_solved else 0 for i in range(30)])
    summary = split_summary(split_table(align(base, rl, "base", "rl")))
    assert summary["counts"] == {"both": 19, "base_only": 4, "other_only": 0, "neither": 7}
    assert summary["solved_indices"]["base_only"] == [4, 11, 17, 19]


def test_different_problem_sets_are_refused() -> None:
    base = counts([4, 4], [1, 0])
    other = counts([4, 4], [1, 0], ids=["p000", "x"])
    with pytest.raises(UserError, match=r"1 problems only in base \(first 'p001'\); 1 problems only in rl"):
        align(base, other, "base", "rl")
