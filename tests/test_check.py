"""The check stage: every model x benchmark renders, stops and fits before a GPU job, all problems in one message."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import polars as pl
import pytest

from fixture_tokenizers import build_tokenizer
from rlvr_limits.check import check_pairs, run
from rlvr_limits.errors import UserError
from rlvr_limits.io import write_parquet
from rlvr_limits.tables import PROBLEM_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ROOT / "resources" / "prompts"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model records of an R1-Distill and a Qwen tokenizer (tokenizer files only) and a two-problem table."""
    root = tmp_path_factory.mktemp("check")
    for name, family in (("r1_distill", "r1-distill"), ("qwen", "qwen-base")):
        path = build_tokenizer(root / name, family)
        (root / f"{name}.json").write_text(json.dumps({"name": name, "path": str(path)}))
    rows = [{"problem_id": "0", "question": "What is 1+1?", "answer": "2", "answer_type": "integer", "meta": "{}"},
            {"problem_id": "1", "question": "x" * 300, "answer": "3", "answer_type": "integer", "meta": "{}"}]
    write_parquet(pl.DataFrame(rows, schema=PROBLEM_COLUMNS), root / "math.parquet")
    return root


def pair(world: Path, model: str, template: str, max_tokens: int = 100, max_model_len: int = 4096) -> dict:
    return {"model": model, "benchmark": "math", "record": str(world / f"{model}.json"),
            "template": str(PROMPTS / f"{template}.yaml"), "problems": str(world / "math.parquet"), "limit": None,
            "max_tokens": max_tokens, "max_model_len": max_model_len}


def test_r1_distill_with_a_chatml_template_is_caught(world: Path) -> None:
    # What config/paper.yaml had: the R1-Distill model with r1.yaml, whose stop tokens are ChatML's.
    results, problems = check_pairs([pair(world, "r1_distill", "r1")])
    assert results == [] and len(problems) == 1
    assert "model r1_distill x benchmark math" in problems[0]
    assert "stop token '<|im_end|>' is not a single token of the tokenizer of model r1_distill" in problems[0]


def test_r1_distill_template_resolves_its_own_stop_tokens(world: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(world / "r1_distill")
    (result,), problems = check_pairs([pair(world, "r1_distill", "r1-distill")])
    assert problems == []
    eos, user = tokenizer.convert_tokens_to_ids(["<｜end▁of▁sentence｜>", "<｜User｜>"])
    assert result["stop_token_ids"] == [eos, user]
    assert result["first_prompt"] == ("<｜begin▁of▁sentence｜><｜User｜>What is 1+1?\nPlease reason step by step, "
                                      "and put your final answer within \\boxed{}.<｜Assistant｜><think>\n")
    assert result["longest_problem"] == "1" and result["prompts"] == 2


def test_every_problem_is_listed_in_one_message(world: Path, tmp_path: Path) -> None:
    pairs = [pair(world, "r1_distill", "qwen-boxed"), pair(world, "qwen", "qwen-boxed", 4000, 4096),
             pair(world, "qwen", "qwen-boxed"), {**pair(world, "ghost", "qwen-boxed")}]
    args = argparse.Namespace(spec=json.dumps({"pairs": pairs}), out=str(tmp_path / "check.json"))
    with pytest.raises(UserError) as caught:
        run(args)
    message = str(caught.value)
    assert message.startswith("the check found 3 problem(s) before any sampling job started")
    assert "model r1_distill x benchmark math: " in message and "'<|im_end|>' is not a single token" in message
    assert "model qwen x benchmark math: problem 1: prompt of " in message and "exceeds max_model_len 4096" in message
    assert "model ghost x benchmark math: " in message
    assert not (tmp_path / "check.json").exists()


def test_a_passing_check_writes_its_record(world: Path, tmp_path: Path) -> None:
    out = tmp_path / "check.json"
    assert run(argparse.Namespace(spec=json.dumps({"pairs": [pair(world, "qwen", "qwen-boxed")]}), out=str(out))) == 0
    record = json.loads(out.read_text())["pairs"][0]
    assert record["first_prompt"].startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>")
    assert record["longest_prompt_tokens"] > 300


def test_a_malformed_spec_is_named() -> None:
    with pytest.raises(UserError, match="'pairs' must be a list"):
        run(argparse.Namespace(spec='{"pairs": [{"model": "m"}]}', out="x.json"))
