"""Entropy matching over a temperature sweep, and the AIME guessability filter (functions and stages)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from analysis_data import counts, simulated_verdicts
from rlvr_limits import cli
from rlvr_limits.analysis.entropy import matching_temperature, mean_entropy
from rlvr_limits.analysis.guess import drop_guessed, guess_table, guessed_problems
from rlvr_limits.cli import main
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_json, read_parquet, write_parquet
from rlvr_limits.tables import PROBLEM_COLUMNS, SAMPLE_COLUMNS, conform


def test_mean_entropy_is_per_token() -> None:
    samples = pl.DataFrame({"entropy": [1.0, 0.0, 5.0], "n_tokens": [3, 1, 0]})
    assert mean_entropy(samples) == pytest.approx(0.75)  # (3·1 + 1·0) / 4 tokens; empty sample ignored


def test_mean_entropy_refuses_missing_values() -> None:
    with pytest.raises(UserError, match="lack an entropy"):
        mean_entropy(pl.DataFrame({"entropy": [None, 1.0], "n_tokens": [2, 2]}))
    with pytest.raises(UserError, match="no sample has generated tokens"):
        mean_entropy(pl.DataFrame({"entropy": [1.0], "n_tokens": [0]}))


def test_matching_temperature_interpolates() -> None:
    # the paper's AMC23 numbers: base 0.51 at T=0.6; RL 0.22 at T=0.6 and about 0.47 at T=0.9.
    sweep = [(0.6, 0.22), (0.9, 0.47), (1.2, 0.71)]
    got = matching_temperature(sweep, 0.51)
    assert got.temperature == pytest.approx(0.9 + 0.04 / 0.24 * 0.3)
    assert matching_temperature(sweep, 0.47).temperature == pytest.approx(0.9)
    assert "T=0.950" in got.statement("rl")


def test_target_outside_the_sweep() -> None:
    got = matching_temperature([(1.0, 0.3), (0.6, 0.2)], 0.5)
    assert got.temperature is None
    assert "extend the temperature sweep" in got.statement("rl")
    with pytest.raises(UserError, match="same temperature twice"):
        matching_temperature([(0.6, 0.2), (0.6, 0.3)], 0.25)


def test_guessability_filter() -> None:
    direct = counts([100] * 4, [0, 2, 40, 5])  # never / guessed (2%) / known (40%) / 5% is not below 5%
    assert guessed_problems(direct, 0.05) == ["p001"]
    cot = counts([8] * 4, [1, 1, 1, 1])
    assert drop_guessed(cot, direct, 0.05)["problem_id"].to_list() == ["p000", "p002", "p003"]
    with pytest.raises(UserError, match="threshold"):
        guessed_problems(direct, 0.0)
    with pytest.raises(UserError, match="no verdicts of verifier 'strict'"):
        drop_guessed(counts([8] * 4, [1, 1, 1, 1], verifier="strict"), direct)
    with pytest.raises(UserError, match="every problem counts as guessed"):
        drop_guessed(cot, counts([100] * 4, [1, 2, 3, 4]), 0.05)


def test_passk_stage_drops_guessed_problems(tmp_path) -> None:
    write_parquet(counts([100] * 4, [0, 2, 40, 5]), tmp_path / "direct.parquet")
    simulated_verdicts(tmp_path / "v.parquet", np.array([0.1, 0.9, 0.5, 0.0]), n=8, seed=1)
    spec = {"n_samples": 8, "k_max": 8, "bootstrap": 20, "ci": 0.95, "seed": 1, "guess_threshold": 0.05}
    assert main(["passk", "--verdicts", str(tmp_path / "v.parquet"), "--spec", json.dumps(spec),
                 "--out", str(tmp_path / "p.parquet"), "--counts", str(tmp_path / "c.parquet"),
                 "--drop-guessed", str(tmp_path / "direct.parquet")]) == 0
    assert read_parquet(tmp_path / "c.parquet")["problem_id"].to_list() == ["p000", "p002", "p003"]
    assert set(read_parquet(tmp_path / "p.parquet")["n_problems"]) == {3}


def test_guess_table_states_each_decision() -> None:
    table = guess_table(counts([100] * 4, [0, 2, 40, 5]), 0.05)
    assert table["status"].to_list() == ["never answered", "guessed", "answered directly", "answered directly"]
    assert table["direct_accuracy"].to_list() == [0.0, 0.02, 0.4, 0.05]
    with pytest.raises(UserError, match="threshold"):
        guess_table(counts([10], [1]), 1.5)


def test_guessed_stage_writes_the_table(tmp_path, capsys) -> None:
    write_parquet(counts([100] * 4, [0, 2, 40, 5]), tmp_path / "direct.parquet")
    out = tmp_path / "guessed.csv"
    assert main(["guessed", "--counts", str(tmp_path / "direct.parquet"), "--threshold", "0.1",
                 "--out", str(out)]) == 0
    table = pl.read_csv(out)
    assert table.columns == ["verifier", "problem_id", "n", "c", "direct_accuracy", "status"]
    assert table.filter(pl.col("status") == "guessed")["problem_id"].to_list() == ["p001", "p003"]
    assert "2 of 4 problems guessed" in capsys.readouterr().err
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 truncated")
    assert main(["guessed", "--counts", str(tmp_path / "bad.parquet"), "--out", str(out)]) == 2
    assert "bad.parquet" in capsys.readouterr().err


def test_entropy_stage(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(cli.COMMANDS, "entropy", ("rlvr_limits.analysis.entropy_stage", "entropy matching"))
    problems = tmp_path / "problems.parquet"
    write_parquet(conform(pl.DataFrame({"problem_id": ["a", "b", "c"], "question": ["1+1?", "2+2?", "3+3?"],
                                        "answer": ["2", "4", "6"], "answer_type": "integer", "meta": "{}"}),
                          PROBLEM_COLUMNS), problems)

    def block(folder: str, indices: range, entropy: float) -> str:
        """Problems a, b x `indices`, and an outlier (problem c, outside the region) that must not count."""
        rows = [(p, i) for p in ("a", "b") for i in indices] + [("c", i) for i in indices]
        table = conform(pl.DataFrame({"problem_id": [p for p, _ in rows], "sample_idx": [i for _, i in rows],
                                      "seed": 1, "text": "x", "prompt_tokens": 3, "n_tokens": 4,
                                      "finish_reason": "stop",
                                      "entropy": [9.0 if p == "c" else entropy for p, _ in rows]}), SAMPLE_COLUMNS)
        path = tmp_path / folder / f"p0-2_s{indices[0]}-{indices[-1]}.parquet"
        write_parquet(table, path)
        return str(path)

    region = ["--problems", str(problems), "--region", json.dumps({"problems": 2, "samples": 2})]
    assert main(["entropy", *region, "--reference", block("base", range(2), 0.5),
                 "--sweep", f"0.6={block('a', range(2), 0.2)}", f"1.0={block('b', range(1), 0.6)}",
                 f"1.0={block('c', range(1, 3), 0.6)}", "--out", str(tmp_path / "e.json")]) == 0
    result = read_json(tmp_path / "e.json")
    assert result["reference_entropy"] == pytest.approx(0.5)
    assert result["matching_temperature"] == pytest.approx(0.9)
    assert [p["temperature"] for p in result["sweep"]] == [0.6, 1.0]
    assert main(["entropy", *region, "--reference", block("base", range(2), 0.5), "--sweep", "hot=x.parquet",
                 "--out", str(tmp_path / "e.json")]) == 2
    assert main(["entropy", "--problems", str(problems), "--region", '{"problems": 0}', "--reference",
                 block("base", range(2), 0.5), "--sweep", "1.0=x.parquet", "--out", str(tmp_path / "e.json")]) == 2
