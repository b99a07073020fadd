"""The hf engine on image prompts, with the vision-language miniature's tiny Qwen2.5-VL (built offline).

Greedy decoding through the engine (one prefill with the image, the KV cache copied to every row, decoding with
the model's 3-D rotary positions) must give the tokens transformers' own `generate` gives; samples must not
depend on what else is in the batch; the prompt length must count the visual tokens.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rlvr_limits.errors import UserError
from rlvr_limits.sampling import vision
from rlvr_limits.sampling.hf import HFEngine
from rlvr_limits.sampling.requests import Request, Sampling
from rlvr_limits.sampling.templates import encode, load_template, render
from rlvr_limits.toy import vl_data, vl_model

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = load_template(ROOT / "resources" / "prompts" / "easyr1-vl.yaml")
PROBLEMS = [row for row in vl_data.problems() if row["question_type"] == "free_form"][:2]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> HFEngine:
    path = tmp_path_factory.mktemp("vl") / "model"
    vl_model.save_model(path, seed=3)
    return HFEngine.from_pretrained(path, images=TEMPLATE.images, threads=None)


def image_request(engine: HFEngine, row: dict, sample_idx: int, seed: int, sampling: Sampling) -> Request:
    text = render(TEMPLATE, str(row["question"]), tokenizer=engine.tokenizer)
    image = vision.load_image(row["decoded_image"]["bytes"], TEMPLATE.images)
    return Request(str(row["pid"]), sample_idx, seed, tuple(encode(TEMPLATE, text, engine.tokenizer)), sampling,
                   prompt_text=text, images=(image,))


def test_greedy_decoding_matches_transformers_generate(engine: HFEngine) -> None:
    request = image_request(engine, PROBLEMS[0], 0, 1, Sampling(max_tokens=24, temperature=0.0))
    (completion,) = engine.generate([request])
    inputs = engine.image_inputs(request.prompt_ids, request.images[0])
    with torch.inference_mode():
        reference = engine.model.generate(**inputs, max_new_tokens=24, min_new_tokens=24, do_sample=False)
    assert list(completion.token_ids) == reference[0, inputs["input_ids"].shape[1]:].tolist()


def test_prompt_length_counts_the_visual_tokens(engine: HFEngine) -> None:
    request = image_request(engine, PROBLEMS[1], 0, 1, Sampling(max_tokens=4))
    (completion,) = engine.generate([request])
    assert request.prompt_ids.count(engine.model.config.image_token_id) == 1
    expected = len(request.prompt_ids) - 1 + vision.visual_tokens(request.images[0])
    assert completion.prompt_tokens == expected > len(request.prompt_ids) + 100


def test_a_sample_does_not_depend_on_its_batch(engine: HFEngine) -> None:
    sampling = Sampling(max_tokens=16, temperature=1.0)
    requests = [image_request(engine, row, i, 100 * n + i, sampling)
                for n, row in enumerate(PROBLEMS) for i in range(3)]
    together = {c.key: c.token_ids for c in engine.generate(requests)}
    assert len(together) == 6 and len({together[k] for k in together}) > 1
    (alone,) = engine.generate([requests[4]])
    assert alone.token_ids == together[requests[4].key]


def test_two_images_in_one_prompt_are_refused(engine: HFEngine) -> None:
    request = image_request(engine, PROBLEMS[0], 0, 1, Sampling(max_tokens=4))
    two = Request(request.problem_id, 0, 1, request.prompt_ids, request.sampling, prompt_text=request.prompt_text,
                  images=request.images * 2)
    with pytest.raises(ValueError, match="one image per prompt"):
        list(engine.generate([two]))


def test_resize_keeps_the_template_bounds_and_28_pixel_sides() -> None:
    image = vision.load_image(PROBLEMS[0]["decoded_image"]["bytes"], TEMPLATE.images)
    width, height = image.size
    assert image.mode == "RGB" and width % 28 == 0 and height % 28 == 0
    assert TEMPLATE.images.min_pixels <= width * height <= TEMPLATE.images.max_pixels


def test_an_undecodable_image_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot be decoded"):
        vision.load_image(b"\x89PNG truncated", TEMPLATE.images)
    broken = tmp_path / "7.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(UserError, match=r"7\.png: cannot be decoded"):
        vision.load_image(str(broken), TEMPLATE.images)
