"""Image prompts for vLLM from a visual problems table as the `problems` stage writes it.

The table names each problem's extracted image file; `vllm_engine.load_image` (qwen-vl-utils, which needs
torchvision and is not installed by default) is replaced at that boundary by the hf engine's loader,
`vision.load_image`: Pillow plus the resize formula of transformers' Qwen2-VL image processor, the one
qwen-vl-utils implements. Where qwen-vl-utils is installed, the last test checks the real function against it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from transformers import AutoTokenizer

import rlvr_limits.sampling.vllm_engine as vllm_engine
from fixture_tokenizers import build_tokenizer
from rlvr_limits.cli import main
from rlvr_limits.errors import UserError
from rlvr_limits.sampling import vision
from rlvr_limits.sampling.requests import Request, Sampling
from rlvr_limits.sampling.stage import load_problems, prepare_prompts
from rlvr_limits.sampling.templates import load_template
from rlvr_limits.sampling.vision import visual_tokens
from rlvr_limits.sampling.vllm_engine import llm_kwargs, prompt_input
from visual_fixtures import MATHVISTA_ROWS, mathvista_parquet

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = load_template(ROOT / "resources" / "prompts" / "easyr1-vl.yaml")


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory):
    return AutoTokenizer.from_pretrained(build_tokenizer(tmp_path_factory.mktemp("tok"), "qwen-instruct"))


@pytest.fixture
def problems_table(tmp_path: Path) -> Path:
    source = mathvista_parquet(tmp_path / "src.parquet")
    entry = yaml.safe_load((ROOT / "resources" / "benchmarks.yaml").read_text())["benchmarks"]["mathvista_testmini"]
    entry = {**entry, "source": {"local": str(source)}, "n_problems": 3}
    entry.pop("sha256")
    (tmp_path / "benchmarks.yaml").write_text(yaml.safe_dump({"benchmarks": {"mv": entry}}))
    out = tmp_path / "problems" / "mv.parquet"
    assert main(["problems", "--bench", "mv", "--manifest", str(tmp_path / "benchmarks.yaml"), "--lock",
                 str(tmp_path / "lock.yaml"), "--download-dir", str(tmp_path / "dl"), "--out", str(out)]) == 0
    return out


def test_requests_carry_the_extracted_image_resized_within_the_template_bounds(problems_table, tokenizer,
                                                                               monkeypatch):
    seen: list[object] = []
    monkeypatch.setattr(vllm_engine, "load_image", lambda ref, images: seen.append(ref) or
                        vision.load_image(ref, images))
    problems = load_problems(problems_table, TEMPLATE)
    prompts = prepare_prompts(problems, TEMPLATE, tokenizer, max_tokens=1024, max_model_len=32768,
                              engine="vllm")
    assert seen == problems["image"].to_list() and all(Path(p).is_file() for p in seen)
    placeholder = len(tokenizer.encode("<|image_pad|>", add_special_tokens=False))
    for prompt, row in zip(prompts, problems.iter_rows(named=True), strict=True):
        (image,) = prompt.images
        width, height = image.size
        assert width % 28 == 0 and height % 28 == 0
        assert TEMPLATE.images.min_pixels <= width * height <= TEMPLATE.images.max_pixels
        assert prompt.length == len(prompt.ids) - placeholder + (width // 28) * (height // 28)
        assert prompt.length - len(prompt.ids) + placeholder == visual_tokens(image) >= 262144 // 28 ** 2
        request = Request(row["problem_id"], 0, 7, prompt.ids, Sampling(max_tokens=1024), prompt_text=prompt.text,
                          images=prompt.images)
        sent = prompt_input(request)
        assert sent == {"prompt": prompt.text, "multi_modal_data": {"image": image}}
        assert "prompt_token_ids" not in sent
        question = next(r["question"] for r in MATHVISTA_ROWS if r["pid"] == row["problem_id"])
        assert f"<|vision_start|><|image_pad|><|vision_end|>{question}<|im_end|>" in sent["prompt"]


def test_the_engine_gets_one_image_per_prompt_no_video_and_the_same_pixel_bounds():
    kwargs = llm_kwargs("/models/qwen2.5-vl", seed=1, tensor_parallel=1, max_model_len=8192, dtype="bfloat16",
                        images=TEMPLATE.images)
    assert kwargs["limit_mm_per_prompt"] == {"image": 1, "video": 0}
    assert kwargs["mm_processor_kwargs"] == {"min_pixels": 262144, "max_pixels": 4194304}
    text_only = llm_kwargs("/models/qwen2.5", seed=1, tensor_parallel=1, max_model_len=8192, dtype="bfloat16")
    assert "limit_mm_per_prompt" not in text_only and "mm_processor_kwargs" not in text_only


def _qwen_vl_utils_missing() -> str | None:
    """Why qwen-vl-utils cannot run here (not installed, or no working torchvision beside CPU torch), or None."""
    try:
        import qwen_vl_utils  # noqa: F401
    except (ImportError, RuntimeError) as exc:
        return f"qwen-vl-utils does not import: {type(exc).__name__}: {exc}"
    return None


def test_missing_qwen_vl_utils_is_named_with_the_way_out(problems_table, monkeypatch: pytest.MonkeyPatch) -> None:
    import polars as pl

    monkeypatch.setitem(sys.modules, "qwen_vl_utils", None)
    ref = pl.read_parquet(problems_table)["image"][0]
    with pytest.raises(UserError, match=r"need qwen-vl-utils and a working torchvision .*engine: hf"):
        vllm_engine.load_image(ref, TEMPLATE.images)


@pytest.mark.skipif(_qwen_vl_utils_missing() is not None, reason=str(_qwen_vl_utils_missing()))
def test_qwen_vl_utils_resizes_as_the_boundary_double_does(problems_table):
    import polars as pl

    for ref in pl.read_parquet(problems_table)["image"]:
        real = vllm_engine.load_image(ref, TEMPLATE.images)
        assert real.size == vision.load_image(ref, TEMPLATE.images).size and real.mode == "RGB"
