"""Perplexity: hand-built distributions, the deterministic choice of responses, and the stage end to end."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from transformers import AutoModelForCausalLM

from rlvr_limits.analysis.perplexity import choose_responses, mean_logprob, perplexity, reference_responses
from rlvr_limits.cli import main
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_parquet, write_json, write_parquet
from rlvr_limits.tables import PERPLEXITY_COLUMNS, PROBLEM_COLUMNS, SAMPLE_COLUMNS, conform
from tiny_model import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]


def test_hand_built_distribution() -> None:
    # tokens drawn with probabilities 1/2, 1/4, 1/8: mean log p = -(1 + 2 + 3) ln 2 / 3 = -2 ln 2, PPL = 4
    assert perplexity([math.log(0.5), math.log(0.25), math.log(0.125)]) == pytest.approx(4.0)
    # a uniform distribution over 7 tokens has perplexity 7 whatever the response
    assert perplexity([-math.log(7)] * 5) == pytest.approx(7.0)
    assert perplexity([0.0, 0.0]) == 1.0  # a certain response
    assert mean_logprob([-1.0, -3.0]) == -2.0


def test_invalid_logprobs() -> None:
    with pytest.raises(ValueError, match="empty response"):
        perplexity([])
    with pytest.raises(ValueError, match="<= 0"):
        perplexity([0.1])
    with pytest.raises(ValueError, match="<= 0"):
        perplexity([float("nan")])


def samples_table(n_problems: int, n_samples: int, empty: set[tuple[int, int]] = frozenset()) -> pl.DataFrame:
    rows = [{"problem_id": f"q{p}", "sample_idx": s, "seed": 0,
             "text": "" if (p, s) in empty else f"{p}+{s}={p + s}", "prompt_tokens": 4, "n_tokens": 6,
             "finish_reason": "stop", "entropy": 0.5}
            for p in range(n_problems) for s in range(n_samples)]
    return conform(pl.DataFrame(rows), SAMPLE_COLUMNS)


def test_choice_is_deterministic_and_independent_of_row_order() -> None:
    samples = samples_table(3, 10, empty={(0, 0), (0, 1)})
    chosen = choose_responses(samples, 4, seed=1)
    assert chosen.group_by("problem_id").len().sort("problem_id")["len"].to_list() == [4, 4, 4]
    assert chosen["problem_id"].to_list()[:4] == ["q0"] * 4
    assert not chosen.filter(pl.col("text") == "").height
    shuffled = samples.sample(fraction=1.0, shuffle=True, seed=3)
    assert choose_responses(shuffled, 4, seed=1).equals(chosen)
    other = choose_responses(samples, 4, seed=2)
    assert not other["sample_idx"].equals(chosen["sample_idx"])
    assert choose_responses(samples, 50, seed=1).height == 30 - 2
    with pytest.raises(UserError, match="at least 1"):
        choose_responses(samples, 0, seed=1)


@pytest.fixture(scope="module")
def uniform_model(tmp_path_factory) -> Path:
    """A tiny Qwen2 model with every weight zeroed: all logits are 0, so each token has probability 1/V."""
    directory = build_tiny_model(tmp_path_factory.mktemp("uniform") / "model")
    model = AutoModelForCausalLM.from_pretrained(directory)
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
    model.save_pretrained(directory)
    return directory


def stage_inputs(tmp_path: Path, model_dir: Path) -> tuple[dict, list[str]]:
    problems = conform(pl.DataFrame({"problem_id": [f"q{i}" for i in range(3)],
                                     "question": ["12+34?", "5+6+7?", "99+1?"], "answer": ["46", "18", "100"],
                                     "answer_type": "integer", "meta": "{}"}), PROBLEM_COLUMNS)
    write_parquet(problems, tmp_path / "problems.parquet")
    samples = samples_table(3, 6)
    write_parquet(samples.filter(pl.col("sample_idx") < 3), tmp_path / "p0-2_s0-2.parquet")
    write_parquet(samples.filter(pl.col("sample_idx") >= 3), tmp_path / "p0-2_s3-5.parquet")
    write_json({"name": "uniform", "source": "local", "path": str(model_dir)}, tmp_path / "scorer.json")
    spec = {"scorer": "uniform", "generator": "gen", "benchmark": "toy", "responses_per_problem": 2,
            "seed": 1234, "engine": "hf", "dtype": "auto", "max_model_len": 160, "n_samples": 6}
    args = ["perplexity", "--scorer", str(tmp_path / "scorer.json"),
            "--template", str(ROOT / "resources" / "prompts" / "toy.yaml"),
            "--problems", str(tmp_path / "problems.parquet"),
            "--samples", str(tmp_path / "p0-2_s0-2.parquet"), str(tmp_path / "p0-2_s3-5.parquet"),
            "--out", str(tmp_path / "ppl.parquet")]
    return spec, args


def test_stage_scores_a_uniform_model_at_its_vocabulary_size(tmp_path, uniform_model) -> None:
    spec, args = stage_inputs(tmp_path, uniform_model)
    assert main([*args, "--spec", json.dumps(spec)]) == 0
    table = read_parquet(tmp_path / "ppl.parquet", required=PERPLEXITY_COLUMNS)
    vocab = AutoModelForCausalLM.from_pretrained(uniform_model).config.vocab_size
    assert table.height == 3 * 2
    np.testing.assert_allclose(table["perplexity"].to_numpy(), vocab, rtol=1e-6)  # float32 logits
    np.testing.assert_allclose(table["mean_logprob"].to_numpy(), -math.log(vocab), rtol=1e-6)
    texts = samples_table(3, 6).join(table, on=["problem_id", "sample_idx"])["text"]
    assert table["n_tokens"].to_list() == [len(t.encode()) for t in texts]  # one token per byte
    assert not table["truncated"].any()
    assert set(table["scorer"]) == {"uniform"} and set(table["generator"]) == {"gen"}


def test_stage_truncates_to_the_scorers_context(tmp_path, uniform_model) -> None:
    """Prompt + response fill max_model_len - 1 tokens: vLLM's scoring prefill needs room for one output token."""
    spec, args = stage_inputs(tmp_path, uniform_model)
    assert main([*args, "--spec", json.dumps({**spec, "max_model_len": 9})]) == 0
    table = read_parquet(tmp_path / "ppl.parquet")
    assert table.filter(pl.col("problem_id") == "q2")["truncated"].all()  # "99+1?" is 5 tokens, its response 6
    assert table.filter(pl.col("problem_id") == "q2")["n_tokens"].to_list() == [9 - 1 - 5] * 2
    assert main([*args, "--spec", json.dumps({**spec, "max_model_len": 6})]) == 2  # a 5-token prompt leaves none


def test_a_vllm_scorer_claims_its_gpus(tmp_path, uniform_model, monkeypatch) -> None:
    """Two perplexity jobs on one multi-GPU machine get different GPUs, as sampling jobs do. The vLLM engine is
    replaced by a recorder here; the tests marked vllm score with the real one."""
    from rlvr_limits.analysis.perplexity_stage import open_engine
    from rlvr_limits.sampling import devices, vllm_engine

    seen = []

    class RecordingEngine:
        def __init__(self, kwargs, tokenizer, **options) -> None:
            seen.append((os.environ["CUDA_VISIBLE_DEVICES"], kwargs.get("gpu_memory_utilization")))

    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.setattr(devices.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(devices, "_HELD", [])
    monkeypatch.setattr(vllm_engine, "VllmEngine", RecordingEngine)
    (taken,) = devices.claim(1, tmp_path / "rlvr-limits-gpus")  # another job holds one of the two GPUs
    spec, _ = stage_inputs(tmp_path, uniform_model)
    try:
        open_engine(str(tmp_path / "scorer.json"), {**spec, "engine": "vllm", "gpu_memory_utilization": 0.3})
    finally:
        for handle in devices._HELD:
            handle.close()
    assert seen == [(({"0", "1"} - {taken}).pop(), 0.3)]


def test_stage_refuses_samples_of_another_benchmark(tmp_path, uniform_model, capsys) -> None:
    spec, args = stage_inputs(tmp_path, uniform_model)
    write_parquet(samples_table(5, 6).filter(pl.col("sample_idx") >= 3), tmp_path / "p0-2_s3-5.parquet")
    assert main([*args, "--spec", json.dumps(spec)]) == 2
    assert "p0-2_s3-5.parquet: holds 15 samples that are not the 9 its name gives" in capsys.readouterr().err


def test_stage_reads_the_first_samples_of_the_first_problems(tmp_path, uniform_model) -> None:
    """A lower n_samples or a limit scores responses of that region only, whatever else the blocks hold."""
    spec, args = stage_inputs(tmp_path, uniform_model)
    assert main([*args, "--spec", json.dumps({**spec, "n_samples": 2, "limit": 2})]) == 0
    table = read_parquet(tmp_path / "ppl.parquet")
    assert set(table["problem_id"]) == {"q0", "q1"} and set(table["sample_idx"]) == {0, 1}


def test_stage_refuses_a_record_without_path(tmp_path, uniform_model, capsys) -> None:
    spec, args = stage_inputs(tmp_path, uniform_model)
    write_json({"name": "uniform"}, tmp_path / "scorer.json")
    assert main([*args, "--spec", json.dumps(spec)]) == 2
    assert "has no 'path'" in capsys.readouterr().err


def problems_with_meta(metas: list[dict]) -> pl.DataFrame:
    return conform(pl.DataFrame({"problem_id": [f"q{i}" for i in range(len(metas))],
                                 "question": ["12+34?", "5+6+7?", "99+1?"][:len(metas)],
                                 "answer": ["46", "18", "100"][:len(metas)], "answer_type": "integer",
                                 "meta": [json.dumps(m) for m in metas]}), PROBLEM_COLUMNS)


def test_reference_responses_read_texts_and_lists() -> None:
    problems = problems_with_meta([{"solution": "12+34=46"}, {"solution": ["5+6=11", "11+7=18"]}, {}])
    refs = reference_responses(problems, "solution", "problems.parquet")
    assert refs.rows() == [("q0", 0, "12+34=46"), ("q1", 0, "5+6=11"), ("q1", 1, "11+7=18")]
    with pytest.raises(UserError, match="no problem has a reference response in field 'proof'"):
        reference_responses(problems, "proof", "problems.parquet")
    with pytest.raises(UserError, match=r"problem 'q0'.*text or a list of texts"):
        reference_responses(problems_with_meta([{"solution": {"steps": 3}}]), "solution", "problems.parquet")


def test_stage_scores_reference_responses(tmp_path, uniform_model) -> None:
    spec, args = stage_inputs(tmp_path, uniform_model)
    write_parquet(problems_with_meta([{"solution": "12+34=46"}, {"solution": ["5+6=11;11+7=18", "18"]}, {}]),
                  tmp_path / "problems.parquet")
    args = [*args[:args.index("--samples")], "--references", *args[args.index("--out"):]]
    spec = {**spec, "generator": "reference", "reference": "solution"}
    assert main([*args, "--spec", json.dumps(spec)]) == 0
    table = read_parquet(tmp_path / "ppl.parquet", required=PERPLEXITY_COLUMNS)
    assert sorted(zip(table["problem_id"], table["n_tokens"], strict=True)) == [("q0", 8), ("q1", 2), ("q1", 14)]
    assert set(table["generator"]) == {"reference"}
    vocab = AutoModelForCausalLM.from_pretrained(uniform_model).config.vocab_size
    np.testing.assert_allclose(table["perplexity"].to_numpy(), vocab, rtol=1e-6)


def test_stage_needs_the_reference_field_for_references(tmp_path, uniform_model, capsys) -> None:
    spec, args = stage_inputs(tmp_path, uniform_model)
    args = [*args[:args.index("--samples")], "--references", *args[args.index("--out"):]]
    assert main([*args, "--spec", json.dumps(spec)]) == 2
    assert "'reference'" in capsys.readouterr().err
    assert main([*args, "--spec", json.dumps({**spec, "reference": "solution"})]) == 2
    assert "no problem has a reference response in field 'solution'" in capsys.readouterr().err
