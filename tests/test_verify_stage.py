"""The verify stage: a template's assistant prefill is part of the answer the answer-level verifiers read."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from rlvr_limits.cli import main
from rlvr_limits.io import read_parquet, write_parquet
from rlvr_limits.tables import PROBLEM_COLUMNS, SAMPLE_COLUMNS, VERDICT_COLUMNS, conform

ROOT = Path(__file__).resolve().parents[1]
DIRECT = ROOT / "resources" / "prompts" / "qwen-direct.yaml"


def direct_answers(tmp_path: Path) -> list[str]:
    """Three problems answered directly after the prefill "The final answer is $\\boxed{"."""
    problems = conform(pl.DataFrame({"problem_id": ["a", "b", "c"], "question": ["q1", "q2", "q3"],
                                     "answer": ["204", "\\frac{1}{2}", "73"], "answer_type": "expression",
                                     "meta": "{}"}), PROBLEM_COLUMNS)
    samples = conform(pl.DataFrame({"problem_id": ["a", "b", "c"], "sample_idx": [0, 0, 0], "seed": [1, 2, 3],
                                    "text": ["204}$", "\\frac{1}{2}}$", "37}$"], "prompt_tokens": [9, 9, 9],
                                    "n_tokens": [4, 8, 3], "finish_reason": ["stop"] * 3,
                                    "entropy": [0.1] * 3}), SAMPLE_COLUMNS)
    write_parquet(problems, tmp_path / "problems.parquet")
    write_parquet(samples, tmp_path / "p0-2_s0-0.parquet")  # a sample block: problems 0..2 x sample 0
    spec = {"benchmark": "aime24", "verifiers": ["math"], "settings": {"timeout_s": 2.0, "workers": 1},
            "n_samples": 1}
    return ["verify", "--problems", str(tmp_path / "problems.parquet"), "--samples",
            str(tmp_path / "p0-2_s0-0.parquet"),
            "--spec", json.dumps(spec), "--out", str(tmp_path / "verdicts.parquet")]


def test_prefill_is_read_with_the_response(tmp_path: Path) -> None:
    args = direct_answers(tmp_path)
    assert main([*args, "--template", str(DIRECT)]) == 0
    verdicts = read_parquet(tmp_path / "verdicts.parquet", required=VERDICT_COLUMNS).sort("problem_id")
    assert verdicts["correct"].to_list() == [True, True, False]
    assert verdicts["extracted"].to_list() == ["204", "\\frac{1}{2}", "37"]


def test_without_the_prefill_a_non_numeric_direct_answer_is_lost(tmp_path: Path) -> None:
    assert main(direct_answers(tmp_path)) == 0
    verdicts = read_parquet(tmp_path / "verdicts.parquet").sort("problem_id")
    assert verdicts["correct"].to_list() == [True, False, False]  # "204" survives only as the last number


def test_verifiers_with_different_columns_share_one_verdicts_table(tmp_path: Path) -> None:
    """The math backend adds a per-sample `seconds` column that toy_strict has not: both land in one table."""
    problems = conform(pl.DataFrame({"problem_id": ["p"], "question": ["23+58?"], "answer": ["81"],
                                     "answer_type": "integer", "meta": "{}"}), PROBLEM_COLUMNS)
    samples = conform(pl.DataFrame({"problem_id": ["p", "p"], "sample_idx": [0, 1], "seed": [1, 2],
                                    "text": ["23+58=81;\\boxed{81}", "23+58=71;\\boxed{81}"],
                                    "prompt_tokens": [3, 3], "n_tokens": [9, 9], "finish_reason": ["stop"] * 2,
                                    "entropy": [0.1] * 2}), SAMPLE_COLUMNS)
    write_parquet(problems, tmp_path / "problems.parquet")
    write_parquet(samples, tmp_path / "p0-0_s0-1.parquet")
    spec = {"benchmark": "toy_arith", "verifiers": ["math", "toy_strict"],
            "settings": {"timeout_s": 2.0, "workers": 1}, "n_samples": 2}
    assert main(["verify", "--problems", str(tmp_path / "problems.parquet"), "--samples",
                 str(tmp_path / "p0-0_s0-1.parquet"), "--spec", json.dumps(spec),
                 "--out", str(tmp_path / "verdicts.parquet")]) == 0
    verdicts = read_parquet(tmp_path / "verdicts.parquet").sort("verifier", "sample_idx")
    assert verdicts.columns == list(VERDICT_COLUMNS)
    assert verdicts.select("verifier", "correct").rows() == [
        ("math", True), ("math", True), ("toy_strict", True), ("toy_strict", False)]
