"""The compare and tables stages through the CLI, on small synthetic runs of a base and an RL model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from analysis_data import counts, simulated_verdicts
from rlvr_limits import cli
from rlvr_limits.analysis.compare import COVERAGE_COLUMNS, DIFFERENCE_COLUMNS
from rlvr_limits.cli import main
from rlvr_limits.io import read_json, read_parquet, write_parquet

N = 32
PASSK = {"n_samples": N, "k_max": N, "bootstrap": 100, "ci": 0.95, "seed": 1}
SPEC = {"comparison": "rl_vs_base", "kind": "rl", "base": "base", "models": ["rl"], "benchmark": "toy",
        "k_max": N, "bootstrap": 100, "ci": 0.95, "seed": 1, "delta_se_k": N}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Counts of a broad base (many problems, rarely) and a sharp RL model (fewer problems, often)."""
    root = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(0)
    base_p = rng.beta(0.4, 3.0, 40)
    rl_p = np.where(base_p > 0.08, np.minimum(base_p * 4, 0.95), 0.0)
    paths = {}
    for name, probs in (("base", base_p), ("rl", rl_p)):
        simulated_verdicts(root / f"{name}.verdicts.parquet", probs, N, seed=5, verifiers=("math", "strict"))
        code = main(["passk", "--verdicts", str(root / f"{name}.verdicts.parquet"),
                     "--spec", json.dumps(PASSK), "--out", str(root / f"{name}.parquet"),
                     "--counts", str(root / f"{name}.counts.parquet")])
        assert code == 0
        paths[name] = root / f"{name}.counts.parquet"
    return paths


def compare(out: Path, spec: dict, counts_args: list[str]) -> int:
    return main(["compare", "--spec", json.dumps(spec), "--counts", *counts_args, "--out", str(out)])


def test_compare_writes_differences_coverage_and_summary(runs, tmp_path) -> None:
    out = tmp_path / "compare" / "toy.parquet"
    assert compare(out, SPEC, [f"base={runs['base']}", f"rl={runs['rl']}"]) == 0
    diff = read_parquet(out, required=DIFFERENCE_COLUMNS)
    assert diff.height == 2 * 6  # verifiers × k in {1, 2, 4, 8, 16, 32}
    np.testing.assert_allclose(diff["diff"], diff["other_pass_at_k"] - diff["base_pass_at_k"])
    assert (diff["diff_ci_low"] <= diff["diff"]).all() and (diff["diff"] <= diff["diff_ci_high"]).all()
    coverage = read_parquet(out.with_suffix(".coverage.parquet"), required=COVERAGE_COLUMNS)
    assert coverage.height == 2 * 40
    summary = read_json(out.with_suffix(".json"))
    assert summary["ks"] == [1, 2, 4, 8, 16, 32] and summary["kind"] == "rl"
    result = summary["results"][0]
    assert result["model"] == "rl" and result["verifier"] == "math"
    assert result["pass_at_1"]["other"]["value"] > result["pass_at_1"]["base"]["value"]
    assert sum(result["coverage"]["counts"].values()) == 40
    assert sum(result["histogram"]["base"]) == 40 and len(result["histogram"]["bins"]) == 12
    assert result["crossover"]["statement"]
    delta = result["delta_se"]
    assert delta["k"] == N
    assert delta["value"] == pytest.approx(result["pass_at_k_max"]["base"]["value"]
                                           - result["pass_at_1"]["other"]["value"])
    assert delta["low"] <= delta["value"] <= delta["high"]
    for key in ("diff_at_1", "diff_at_k_max"):
        claim = result[key]
        assert claim["family"] == [1, N] and claim["level"] == pytest.approx(0.975)
        assert claim["p_adjusted"] == pytest.approx(min(1.0, 2 * claim["p_value"]))
        assert claim["excludes_zero"] == (claim["p_adjusted"] <= 0.05)
        assert claim["excludes_zero"] == (claim["low"] > 0 or claim["high"] < 0)
        assert "studentized bootstrap" in claim["method"]
    assert result["diff_at_k_max"]["method"].startswith("exact sign test")  # k = n: solved or not
    assert result["diff_at_1"]["method"].startswith("sign-flip permutation test")
    assert (diff["diff_band_low"] <= diff["diff_ci_low"] + 1e-9).all()
    assert (diff["diff_band_high"] >= diff["diff_ci_high"] - 1e-9).all()
    assert (diff["diff_p_holm"] >= diff["diff_p_value"]).all()
    assert (diff["diff_excludes_zero"] == (diff["diff_p_value"] <= 0.05)).all()
    # rerunning gives identical numbers (seeded resampling)
    again = tmp_path / "again.parquet"
    assert compare(again, SPEC, [f"base={runs['base']}", f"rl={runs['rl']}"]) == 0
    assert read_parquet(again).equals(diff)


def test_delta_se_needs_k_samples(runs, tmp_path) -> None:
    out = tmp_path / "toy.parquet"
    assert compare(out, {**SPEC, "delta_se_k": 256}, [f"base={runs['base']}", f"rl={runs['rl']}"]) == 0
    delta = read_json(out.with_suffix(".json"))["results"][0]["delta_se"]
    assert delta["k"] == 256 and delta["value"] is None
    assert delta["not_computable"] == f"needs n >= 256 samples of the base per problem, has {N}"


def test_tables_stage_flattens_summaries(runs, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(cli.COMMANDS, "tables", ("rlvr_limits.analysis.tables_stage", "summary tables"))
    out = tmp_path / "toy.parquet"
    assert compare(out, SPEC, [f"base={runs['base']}", f"rl={runs['rl']}"]) == 0
    table, wide = tmp_path / "t.csv", tmp_path / "w.csv"
    assert main(["tables", "--summaries", str(out.with_suffix(".json")), "--out", str(table),
                 "--wide", str(wide)]) == 0
    rows = list(csv.DictReader(table.open()))
    assert [(r["verifier"], r["model"]) for r in rows] == [("math", "base"), ("math", "rl"),
                                                          ("strict", "base"), ("strict", "rl")]
    assert rows[1]["ΔSE"] and not rows[0]["ΔSE"]
    wide_rows = list(csv.DictReader(wide.open()))
    assert [r["model"] for r in wide_rows] == ["base", "rl"]
    assert "toy/math ΔSE" in wide_rows[0]


def test_tables_stage_refuses_a_foreign_json(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(cli.COMMANDS, "tables", ("rlvr_limits.analysis.tables_stage", "summary tables"))
    (tmp_path / "x.json").write_text('{"results": []}')
    assert main(["tables", "--summaries", str(tmp_path / "x.json"), "--out", str(tmp_path / "t.csv")]) == 2
    assert "missing keys" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "spec", "message"), [
    (["base={base}"], SPEC, "missing ['rl']"),
    (["base={base}", "rl={rl}", "x={rl}"], SPEC, "unexpected ['x']"),
    (["base={base}", "rl"], SPEC, "expected MODEL=PATH"),
    (["base={base}", "rl={rl}"], {**SPEC, "k_max": 64}, "fewer than k_max=64"),
    (["base={base}", "rl={rl}"], {**SPEC, "models": ["base"]}, "also listed in models"),
    (["base={base}", "rl={rl}"], {k: v for k, v in SPEC.items() if k != "benchmark"},
     "missing key 'benchmark'"),
    (["base={base}", "rl={rl}"], {**SPEC, "delta_se_k": 0}, "'delta_se_k' must be an integer >= 1"),
])
def test_compare_refuses_bad_input(runs, tmp_path, capsys, args, spec, message) -> None:
    counts_args = [a.format(base=runs["base"], rl=runs["rl"]) for a in args]
    assert compare(tmp_path / "o.parquet", spec, counts_args) == 2
    assert message in capsys.readouterr().err


def test_compare_refuses_different_problem_sets(runs, tmp_path, capsys) -> None:
    write_parquet(counts([N] * 3, [1, 2, 3], verifier="math"), tmp_path / "few.parquet")
    base = f"base={runs['base']}"
    assert compare(tmp_path / "o.parquet", SPEC, [base, f"rl={tmp_path / 'few.parquet'}"]) == 2
    assert "verified with ['math', 'strict'] but rl with ['math']" in capsys.readouterr().err
    two = counts([N] * 3, [1, 2, 3], verifier="math").vstack(counts([N] * 3, [1, 2, 3], verifier="strict"))
    write_parquet(two, tmp_path / "few2.parquet")
    assert compare(tmp_path / "o.parquet", SPEC, [base, f"rl={tmp_path / 'few2.parquet'}"]) == 2
    assert "not run on the same problems" in capsys.readouterr().err
