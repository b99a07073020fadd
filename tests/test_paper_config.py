"""The paper's configuration: dataset aliases, user-supplied checkpoints, fidelity, the Omni-MATH split, the
R1-style answer tag, and stop tokens that exist in every model family's tokenizer."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from transformers import AutoTokenizer

from fixture_tokenizers import build_tokenizer
from httpfakes import FileServer
from rlvr_limits.cli import main
from rlvr_limits.config import WorkflowConfig
from rlvr_limits.data.manifest import Split, load_manifest
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_json, read_parquet
from rlvr_limits.sampling.templates import load_template, resolve_stop_ids
from rlvr_limits.verify.math.extract import extract_answer

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ROOT / "resources" / "prompts"


def paper() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())


def load(config: dict[str, Any]) -> WorkflowConfig:
    return WorkflowConfig.load(copy.deepcopy(config), ROOT)


def test_a_dataset_alias_samples_the_same_problems_with_its_own_n() -> None:
    w = load(paper())
    assert w.dataset("olympiadbench_n1024") == "olympiadbench" and w.dataset("olympiadbench") == "olympiadbench"
    assert w.n_problems("olympiadbench_n1024") == 675
    assert len(w.sample_plan("llama31_8b", "olympiadbench_n1024").new) == 7 * 8  # 675 problems x 1024 samples
    assert len(w.sample_plan("qwen25_7b", "olympiadbench").new) == 7
    assert ("llama31_8b", "olympiadbench_n1024") in w.sampled_pairs()
    assert ("llama31_8b", "olympiadbench") not in w.sampled_pairs()


def test_a_dataset_alias_shares_the_draw_of_its_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model that reads MATH500 at n=128 and at n=256 (math500_n256): one draw, drawn once to n=256, and the
    n=128 benchmark reads its first half."""
    monkeypatch.chdir(tmp_path)
    config = paper()
    config["comparisons"]["simplerl_7b_n256"] = {"kind": "rl", "base": "qwen25_7b", "models": ["simplerl_zoo_7b"],
                                                 "benchmarks": ["math500_n256"]}
    w = load(config)
    assert w.draw_folder("qwen25_7b", "math500") == w.draw_folder("qwen25_7b", "math500_n256")
    assert w.draw_folder("qwen25_7b", "math500").parts[-3:-1] == ("qwen25_7b", "math500")
    plan = w.sample_plan("qwen25_7b", "math500")
    assert plan.samples(plan.new, [(500, 256)]) == 500 * 256
    assert len(w.sample_blocks("qwen25_7b", "math500")) == 5 and len(w.sample_blocks("qwen25_7b", "math500_n256")) == 10
    assert w.draw_folder("qwen25_7b", "aime24") != w.draw_folder("qwen25_7b_direct", "aime24")


def test_a_bad_dataset_alias_is_named() -> None:
    config = paper()
    config["benchmarks"]["olympiadbench_n1024"]["dataset"] = "olympiad"
    with pytest.raises(UserError, match=r"benchmarks\.olympiadbench_n1024\.dataset: no benchmark 'olympiad'"):
        load(config)
    config = paper()
    config["benchmarks"]["math500"]["dataset"] = "gsm8k"
    with pytest.raises(UserError, match="'math500' is itself a manifest entry"):
        load(config)


def test_missing_user_supplied_checkpoints_leave_out_only_what_needs_them(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    w = load(paper())
    assert set(w.skipped_comparisons) == {"comparisons.rl_algorithms", "comparisons.training_steps",
                                          "comparisons.rl_ablations", "comparisons.visual"}
    assert "qwen25_7b_r1" not in {m for m, _ in w.sampled_pairs()}
    assert {"simplerl_7b", "deepcoder", "simplerl_llama_8b"} <= set(w.comparisons)
    message = w.missing_message()
    assert "verl_grpo_step300 (checkpoints/verl/grpo_step300)" in message
    assert "training_steps - GRPO checkpoints at steps 150, 300, 450 (Fig. 1 right" in message
    assert "Everything else runs" in message
    (tmp_path / "checkpoints" / "verl" / "ppo").mkdir(parents=True)
    assert "verl_ppo" not in load(paper()).missing_checkpoints


def test_user_supplied_needs_a_local_path() -> None:
    config = paper()
    config["models"]["qwen25_14b"]["user_supplied"] = True
    with pytest.raises(UserError, match=r"models\.qwen25_14b\.user_supplied: only a local checkpoint"):
        load(config)


def test_authors_code_fidelity_changes_only_the_math_templates_models() -> None:
    config = paper()
    config["fidelity"] = "authors-code"
    w = load(config)
    assert w.models["qwen25_7b"]["max_model_len"] == 4096 and w.max_tokens("qwen25_7b", "aime24") == 3072
    assert w.template_path("qwen-boxed") == PROMPTS / "authors-code" / "qwen-boxed.yaml"
    assert w.models["deepcoder_14b"]["max_model_len"] == 36864  # the code harnesses are not the math code
    assert w.template_path("deepcoder") == PROMPTS / "deepcoder.yaml"
    assert load(paper()).template_path("qwen-boxed") == PROMPTS / "qwen-boxed.yaml"
    assert w.engine_settings("dapo_32b")["max_model_len"] == 4096


def test_authors_code_templates_keep_the_prompt_and_take_the_codes_stop_words() -> None:
    for path in (PROMPTS / "authors-code").glob("*.yaml"):
        ours, theirs = load_template(PROMPTS / path.name), load_template(path)
        assert (theirs.prompt, theirs.messages, theirs.prefill) == (ours.prompt, ours.messages, ours.prefill)
        assert "</s>" in theirs.stop and theirs.stop != ours.stop
    qwen = load_template(PROMPTS / "authors-code" / "qwen-boxed.yaml")
    assert {"user", "assistant", "_end", "_start"} <= set(qwen.stop)
    assert {"Question:", "Answer:"} <= set(load_template(PROMPTS / "authors-code" / "dapo.yaml").stop)


def test_omni_math_split_is_deterministic_disjoint_and_complete() -> None:
    manifest = load_manifest(ROOT / "resources" / "benchmarks.yaml")
    train, test = manifest["omni_math_train"], manifest["omni_math_test"]
    assert (train.n_problems, test.n_problems) == (2000, 821) and train.files == test.files
    first, rest = train.split.select(2821), test.split.select(2821)
    assert len(first) == 2000 and len(rest) == 821 and not set(first) & set(rest)
    assert sorted(first + rest) == list(range(2821)) and first == sorted(first)
    assert Split(2025, 2000, "first").select(2821) == first and Split(7, 2000, "first").select(2821) != first


def test_the_problems_stage_applies_the_split(tmp_path: Path) -> None:
    data = "".join(json.dumps({"problem": f"What is {i}+1?", "answer": str(i + 1), "solution": "x"}) + "\n"
                   for i in range(10)).encode()
    with FileServer({"/omni.jsonl": data}) as server:
        for part, size in (("first", 6), ("rest", 4)):
            entry = {"type": "math", "source": {"url": server.url("/omni.jsonl")},
                     "sha256": hashlib.sha256(data).hexdigest(), "format": "jsonl", "loader": "omni_math",
                     "split": {"seed": 1, "size": 6, "part": part}, "n_problems": size, "license": "MIT",
                     "description": "d"}
            (tmp_path / "benchmarks.yaml").write_text(yaml.safe_dump({"benchmarks": {f"omni_{part}": entry}}))
            out = tmp_path / f"omni_{part}.parquet"
            assert main(["problems", "--bench", f"omni_{part}", "--manifest", str(tmp_path / "benchmarks.yaml"),
                         "--lock", str(tmp_path / "lock.yaml"), "--download-dir", str(tmp_path / "dl"),
                         "--out", str(out)]) == 0
            table = read_parquet(out)
            expected = [str(i) for i in Split(1, 6, part).select(10)]
            assert table["problem_id"].to_list() == expected
            assert table["answer"].to_list() == [str(int(i) + 1) for i in expected]
            assert read_json(out.with_suffix(".json"))["split"] == {"seed": 1, "size": 6, "part": part}


@pytest.mark.parametrize("bad", [{"seed": 1, "size": 0, "part": "first"}, {"seed": 1, "size": 2, "part": "all"},
                                 {"seed": 1, "size": 2}])
def test_a_bad_split_is_named(tmp_path: Path, bad: dict) -> None:
    entry = {"type": "math", "source": {"local": "x.jsonl"}, "format": "jsonl", "loader": "omni_math",
             "split": bad, "n_problems": 2, "license": "MIT", "description": "d"}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump({"benchmarks": {"omni": entry}}))
    with pytest.raises(UserError, match=r"benchmarks\.omni\.split"):
        load_manifest(tmp_path / "m.yaml")


@pytest.mark.parametrize("response,numeric,expected", [
    ("<think>so x = 1/2</think> <answer> \\frac{1}{2} </answer>", False, "\\frac{1}{2}"),
    ("<think>5</think><answer>The answer is \\boxed{7}</answer>", True, "7"),
    ("<answer>x+1</answer>", False, "x+1"),
    ("<answer>first</answer> ... <answer>42</answer> then 9", True, "42"),
    ("no tags, the answer is 12", True, "12"),
])
def test_the_r1_answer_tag_is_read(response: str, numeric: bool, expected: str) -> None:
    assert extract_answer(response, numeric) == expected


#: template -> the tokenizer family of the models that use it in config/paper.yaml
FAMILY = {"qwen-boxed": "qwen-base", "qwen-direct": "qwen-base", "qwen25-math-cot": "qwen-instruct",
          "dapo": "qwen-base", "r1": "qwen-base", "r1-distill": "r1-distill", "deepcoder": "r1-distill",
          "code-r1-evalplus": "qwen-instruct", "code-r1-lcb": "qwen-instruct", "simplerl-simple": "llama3",
          "qwen-boxed-llama": "llama3", "easyr1-vl": "qwen-instruct"}


def test_every_paper_template_stops_with_its_familys_tokens(tmp_path: Path) -> None:
    tokenizers = {f: AutoTokenizer.from_pretrained(build_tokenizer(tmp_path / f, f)) for f in set(FAMILY.values())}
    used = {m["template"] for m in paper()["models"].values()} | {"qwen-boxed-llama"}
    assert used <= set(FAMILY)
    for template in used:
        ids = resolve_stop_ids(load_template(PROMPTS / f"{template}.yaml"), tokenizers[FAMILY[template]])
        assert tokenizers[FAMILY[template]].eos_token_id in ids, template
    with pytest.raises(UserError, match="does not fit the model's family"):
        resolve_stop_ids(load_template(PROMPTS / "r1.yaml"), tokenizers["r1-distill"])


def test_without_comparisons_every_text_model_is_sampled_on_every_text_benchmark() -> None:
    config = paper()
    config["comparisons"], config["entropy_matching"] = {}, {}
    config["benchmarks"] = {b: config["benchmarks"][b] for b in ("aime24", "math500")}
    for model in config["models"].values():
        model["max_model_len"] = max(model["max_model_len"], 32768)
        model.pop("max_tokens", None)
        model["max_tokens"] = 8192
    w = load(config)
    text_models = [m for m, spec in w.models.items() if not spec["vision"] and m not in w.missing_checkpoints]
    assert len(w.sampled_pairs()) == len(text_models) * len(config["benchmarks"])
    assert "qwen25_vl_7b_instruct" not in {m for m, _ in w.sampled_pairs()}
