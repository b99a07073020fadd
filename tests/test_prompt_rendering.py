"""Every template of config/paper.yaml renders real benchmark records byte for byte as checked in.

The records go through the same loaders as a run (tests/data: AIME24 from the study's file, evalplus HumanEval+
records, LiveCodeBench code_generation_lite records, one stdin and one LeetCode functional problem), then
through the template (the visual problems are MathVista/MathVision records in their hub layout from
tests/visual_fixtures.py), with a fixture tokenizer of the model's family for chat templates. The expectations live
in tests/data/prompts/<template>.<problem>.txt; after an intended prompt change, regenerate them with
`RLVR_WRITE_PROMPTS=1 pytest tests/test_prompt_rendering.py` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from transformers import AutoTokenizer

from fixture_tokenizers import build_tokenizer
from rlvr_limits.data.loaders import LOADERS
from rlvr_limits.sampling.templates import load_template, problem_fields, render
from visual_fixtures import MATHVISION_ROWS, MATHVISTA_ROWS

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
EXPECTED = DATA / "prompts"

#: template -> (problems it is rendered on, tokenizer family for chat templates or None)
CASES = {
    "qwen-boxed": (["aime24"], None),
    "qwen-direct": (["aime24"], None),
    "qwen25-math-cot": (["aime24"], None),
    "dapo": (["aime24"], None),
    "r1": (["aime24"], None),
    "simplerl-simple": (["aime24"], None),
    "qwen-boxed-llama": (["aime24"], None),
    "r1-distill": (["aime24"], "r1-distill"),
    "code-r1-evalplus": (["humaneval_plus"], "qwen-instruct"),
    "code-r1-lcb": (["lcb_stdin", "lcb_functional"], None),
    "deepcoder": (["lcb_stdin", "lcb_functional"], "r1-distill"),
    "easyr1-vl": (["mathvista_float", "mathvision"], None),
}


def _rows() -> dict[str, dict[str, str]]:
    aime = json.loads((DATA / "math" / "aime24" / "test.jsonl").read_text().splitlines()[0])
    evalplus = json.loads((DATA / "code" / "evalplus_humaneval.jsonl").read_text().splitlines()[0])
    lcb = {r["question_id"]: r for r in map(json.loads, (DATA / "code" / "lcb_code_generation_lite.jsonl")
                                            .read_text().splitlines())}
    return {
        "aime24": LOADERS["aime24"]("aime24", aime, 0, "aime24:1"),
        "humaneval_plus": LOADERS["humaneval_plus"]("humaneval_plus", evalplus, 0, "evalplus:1"),
        "lcb_stdin": LOADERS["livecodebench"]("livecodebench", lcb["abc999_a"], 0, "lcb:1"),
        "lcb_functional": LOADERS["livecodebench"]("livecodebench", lcb["3999"], 2, "lcb:3"),
        "mathvista_float": LOADERS["mathvista"]("mathvista", MATHVISTA_ROWS[2], 2, "mathvista: row 2"),
        "mathvision": LOADERS["mathvision"]("mathvision", MATHVISION_ROWS[2], 2, "mathvision: row 2"),
    }


ROWS = _rows()


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("families")
    return {family: AutoTokenizer.from_pretrained(build_tokenizer(root / family, family))
            for family in {f for _, f in CASES.values() if f}}


def test_every_template_of_the_paper_config_has_a_case() -> None:
    config = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    used = {m["template"] for m in config["models"].values()}
    assert used <= set(CASES), used - set(CASES)


@pytest.mark.parametrize("template,problem", [(t, p) for t, (ps, _) in CASES.items() for p in ps])
def test_rendering_matches_the_checked_in_prompt(template: str, problem: str, tokenizers) -> None:
    family = CASES[template][1]
    row = ROWS[problem]
    text = render(load_template(ROOT / "resources" / "prompts" / f"{template}.yaml"), row["question"],
                  problem_fields(row["meta"], row["problem_id"]), tokenizer=tokenizers.get(family),
                  problem_id=row["problem_id"])
    expected = EXPECTED / f"{template}.{problem}.txt"
    if os.environ.get("RLVR_WRITE_PROMPTS"):
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_bytes(text.encode("utf-8"))
    assert text.encode("utf-8") == expected.read_bytes()


def test_lcb_format_block_appears_once_and_follows_the_problem_kind(tokenizers) -> None:
    for template in ("code-r1-lcb", "deepcoder"):
        stdin = (EXPECTED / f"{template}.lcb_stdin.txt").read_text()
        functional = (EXPECTED / f"{template}.lcb_functional.txt").read_text()
        assert stdin.count("### Format:") == 1 and functional.count("### Format:") == 1
        assert "Read the inputs from stdin" in stdin and "starter code" not in stdin
        assert "class Solution:\n    def twoSum" in functional and "stdin" not in functional


def test_the_image_comes_before_the_question_inside_the_vision_markers() -> None:
    for problem in ("mathvista_float", "mathvision"):
        text = (EXPECTED / f"easyr1-vl.{problem}.txt").read_text()
        user = text.split("<|im_start|>user\n", 1)[1]
        assert user.startswith("<|vision_start|><|image_pad|><|vision_end|>" + ROWS[problem]["question"])
        assert text.count("<|image_pad|>") == 1 and text.endswith("<|im_start|>assistant\n")
        assert "The final answer MUST BE put in \\boxed{}.<|im_end|>" in text
