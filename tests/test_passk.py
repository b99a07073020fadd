"""pass@k: hand-computed values, the exact combinatorial formula for every n <= 64, and the passk stage."""

from __future__ import annotations

import json
from fractions import Fraction
from math import comb

import numpy as np
import polars as pl
import pytest

from analysis_data import counts, simulated_verdicts, verdicts
from rlvr_limits.analysis.passk import (
    check_counts,
    counts_from_verdicts,
    k_grid,
    pass_at_k,
    pass_at_k_matrix,
    passk_table,
)
from rlvr_limits.cli import main
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_parquet, write_parquet
from rlvr_limits.tables import COUNT_COLUMNS, PASSK_COLUMNS


@pytest.mark.parametrize(("n", "c", "k", "expected"), [
    (4, 1, 1, 0.25),            # one correct of four, one draw
    (4, 1, 2, 0.5),             # 1 - C(3,2)/C(4,2) = 1 - 3/6
    (5, 2, 2, 0.7),             # 1 - C(3,2)/C(5,2) = 1 - 3/10
    (10, 3, 4, 1 - 35 / 210),   # 1 - C(7,4)/C(10,4)
    (8, 0, 8, 0.0),             # never correct
    (8, 8, 1, 1.0),             # always correct
    (8, 5, 4, 1.0),             # n - c = 3 < k: every draw of 4 holds a correct one
])
def test_hand_computed(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-15)


def test_matches_exact_formula_for_every_n_up_to_64() -> None:
    for n in range(1, 65):
        c = np.arange(n + 1)
        ks = list(range(1, n + 1))
        got = pass_at_k_matrix(np.full(n + 1, n), c, ks)
        for ci in range(n + 1):
            for j, k in enumerate(ks):
                exact = 1 - Fraction(comb(n - ci, k), comb(n, k))
                assert got[ci, j] == pytest.approx(float(exact), abs=1e-12), (n, ci, k)


def test_stable_at_the_papers_largest_n() -> None:
    n = 1024
    for c, k in [(1, 1), (3, 1), (1, 512), (1, 1024), (17, 64), (500, 2), (1023, 1)]:
        exact = 1 - Fraction(comb(n - c, k), comb(n, k))
        assert pass_at_k(n, c, k) == pytest.approx(float(exact), rel=1e-12, abs=1e-15)


def test_mixed_n_per_problem() -> None:
    got = pass_at_k_matrix(np.array([4, 5, 4]), np.array([1, 2, 4]), [1, 2])
    np.testing.assert_allclose(got, [[0.25, 0.5], [0.4, 0.7], [1.0, 1.0]])


def test_bad_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="0 <= c <= n"):
        pass_at_k_matrix(np.array([4]), np.array([5]), [1])
    with pytest.raises(ValueError, match="k must lie"):
        pass_at_k_matrix(np.array([4]), np.array([1]), [8])


def test_k_grid() -> None:
    assert k_grid(256) == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert k_grid(100) == [1, 2, 4, 8, 16, 32, 64, 100]
    assert k_grid(1) == [1]
    assert k_grid(3) == [1, 2, 3]


def test_counts_keep_problem_order_and_count_correct() -> None:
    table = verdicts({"b": [True, False, True], "a": [False, False, False]}, verifiers=("math", "strict"))
    got = counts_from_verdicts(table)
    assert got.columns == list(COUNT_COLUMNS)
    assert got.rows() == [("math", "b", 3, 2), ("math", "a", 3, 0),
                          ("strict", "b", 3, 2), ("strict", "a", 3, 0)]


def test_duplicate_and_undecided_verdicts_are_refused() -> None:
    table = verdicts({"a": [True, False]})
    with pytest.raises(UserError, match=r"problem 'a' sample 0 has 2 verdicts"):
        counts_from_verdicts(pl.concat([table, table.head(1)]), source="v.parquet")
    undecided = table.with_columns(correct=pl.when(pl.col("sample_idx") == 1).then(None)
                                   .otherwise(pl.col("correct")))
    with pytest.raises(UserError, match="no correct/problem_id/verifier value"):
        counts_from_verdicts(undecided)


def test_check_counts_names_the_problem() -> None:
    table = counts([4, 3, 4], [1, 1, 0])
    with pytest.raises(UserError, match=r"problem 'p001' .* has 3 samples but n_samples is 4"):
        check_counts(table, "x.parquet", n_samples=4)
    with pytest.raises(UserError, match=r"fewer than k_max=4"):
        check_counts(table, "x.parquet", k_max=4)
    with pytest.raises(UserError, match="c=5 correct of n=4"):
        check_counts(counts([4], [5]), "x.parquet")


def test_passk_table_is_the_mean_with_an_interval() -> None:
    table = counts([4, 4, 4, 4], [0, 1, 2, 4])
    got = passk_table(table, [1, 2, 4], n_resamples=200, ci=0.95, seed=1)
    assert got.columns == list(PASSK_COLUMNS)
    expected = [np.mean([0, 0.25, 0.5, 1]), np.mean([0, 0.5, 1 - 1 / 6, 1]), 0.75]
    np.testing.assert_allclose(got["pass_at_k"].to_numpy(), expected)
    assert (got["ci_low"] <= got["pass_at_k"]).all() and (got["pass_at_k"] <= got["ci_high"]).all()
    assert got["n_problems"].to_list() == [4, 4, 4]


SPEC = {"n_samples": 16, "k_max": 16, "bootstrap": 100, "ci": 0.95, "seed": 7}


def test_passk_stage(tmp_path) -> None:
    probs = np.linspace(0.0, 0.6, 20)
    simulated_verdicts(tmp_path / "v.parquet", probs, n=16, seed=3, verifiers=("math", "strict"))
    code = main(["passk", "--verdicts", str(tmp_path / "v.parquet"), "--spec", json.dumps(SPEC),
                 "--out", str(tmp_path / "p.parquet"), "--counts", str(tmp_path / "c.parquet")])
    assert code == 0
    curve = read_parquet(tmp_path / "p.parquet", required=PASSK_COLUMNS)
    assert curve.height == 2 * 5 and curve["k"].to_list()[:5] == [1, 2, 4, 8, 16]
    kept = read_parquet(tmp_path / "c.parquet", required=COUNT_COLUMNS)
    assert kept.height == 40 and set(kept["n"]) == {16}
    math_curve = curve.filter(pl.col("verifier") == "math")["pass_at_k"].to_numpy()
    assert np.all(np.diff(math_curve) >= 0)


def test_passk_stage_refuses_a_short_problem(tmp_path, capsys) -> None:
    table = verdicts({"p0": [True] * 16, "p1": [False] * 15})
    write_parquet(table, tmp_path / "v.parquet")
    code = main(["passk", "--verdicts", str(tmp_path / "v.parquet"), "--spec", json.dumps(SPEC),
                 "--out", str(tmp_path / "p.parquet"), "--counts", str(tmp_path / "c.parquet")])
    assert code == 2
    assert "problem 'p1'" in capsys.readouterr().err
    assert not (tmp_path / "p.parquet").exists()


@pytest.mark.parametrize(("spec", "message"), [
    ("{", "invalid JSON"),
    ('{"n_samples": 16}', "missing key 'k_max'"),
    (json.dumps({**SPEC, "k_max": 32}), "k_max=32 exceeds n_samples=16"),
    (json.dumps({**SPEC, "ci": 95}), "strictly between 0 and 1"),
    (json.dumps({**SPEC, "bootstrap": "many"}), "'bootstrap' must be an integer"),
])
def test_passk_stage_refuses_bad_specs(tmp_path, capsys, spec: str, message: str) -> None:
    simulated_verdicts(tmp_path / "v.parquet", np.array([0.5]), n=16, seed=1)
    code = main(["passk", "--verdicts", str(tmp_path / "v.parquet"), "--spec", spec,
                 "--out", str(tmp_path / "p.parquet"), "--counts", str(tmp_path / "c.parquet")])
    assert code == 2
    assert message in capsys.readouterr().err


def test_passk_stage_refuses_a_foreign_file(tmp_path, capsys) -> None:
    write_parquet(pl.DataFrame({"x": [1]}), tmp_path / "v.parquet")
    code = main(["passk", "--verdicts", str(tmp_path / "v.parquet"), "--spec", json.dumps(SPEC),
                 "--out", str(tmp_path / "p.parquet"), "--counts", str(tmp_path / "c.parquet")])
    assert code == 2
    assert "missing columns" in capsys.readouterr().err
