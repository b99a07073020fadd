"""vLLM request building without vLLM (templates, stop ids, seeds, parameters, images, outputs), lazy imports and
the vLLM-only settings; test_sampling_vllm_real.py runs the real engine."""

from __future__ import annotations

import importlib.abc
import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
from transformers import AutoTokenizer

import rlvr_limits.sampling.vllm_engine as vllm_engine
from rlvr_limits.errors import UserError
from rlvr_limits.sampling.requests import Request, Sampling, sample_seed
from rlvr_limits.sampling.stage import load_problems, prepare_prompts
from rlvr_limits.sampling.templates import load_template, resolve_stop_ids
from rlvr_limits.sampling.vllm_engine import (
    completion_from_output,
    llm_kwargs,
    prompt_input,
    response_logprobs,
    sampling_kwargs,
    score_kwargs,
)
from tiny_model import build_tiny_model

PROMPTS = Path(__file__).resolve().parents[1] / "resources" / "prompts"
#: Fields of vllm.SamplingParams in vLLM 0.32.0 (vllm/sampling_params.py) that we may send; a key outside it would be
#: refused (test_sampling_vllm_real.py builds the installed SamplingParams from them).
SAMPLING_PARAMS_FIELDS = {
    "n", "presence_penalty", "frequency_penalty", "repetition_penalty", "temperature", "top_p", "top_k", "min_p",
    "seed", "stop", "stop_token_ids", "ignore_eos", "max_tokens", "min_tokens", "logprobs", "prompt_logprobs",
    "prompt_logprob_token_ids", "prompt_logprob_start", "logprob_token_ids", "flat_logprobs", "detokenize",
    "skip_special_tokens", "spaces_between_special_tokens", "include_stop_str_in_output", "output_kind",
    "structured_outputs", "logit_bias", "allowed_token_ids", "extra_args", "bad_words",
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def tokenizer(model_dir: Path):
    return AutoTokenizer.from_pretrained(model_dir)


def requests_for(template_name: str, tokenizer, n: int = 3, max_tokens: int = 16384,
                 **sampling: object) -> list[Request]:
    template = load_template(PROMPTS / f"{template_name}.yaml")
    settings = Sampling(max_tokens=max_tokens, temperature=0.6, top_p=0.95, stop=template.stop,
                        stop_token_ids=resolve_stop_ids(template, tokenizer), include_stop=template.include_stop,
                        **sampling)
    problems = pl.DataFrame({"problem_id": ["aime-1"], "question": ["Find $x$."], "answer": ["1"],
                             "answer_type": ["integer"], "meta": ["{}"]})
    (prompt,) = prepare_prompts(problems, template, tokenizer, max_tokens=16384, max_model_len=32768)
    return [Request("aime-1", i, sample_seed(1, "qwen25-7b", "aime24", "aime-1", i), prompt.ids, settings)
            for i in range(n)]


def test_sampling_params_are_explicit_with_hashed_seeds(tokenizer) -> None:
    requests = requests_for("qwen-boxed", tokenizer)
    kwargs = [sampling_kwargs(r) for r in requests]
    ids = [tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>", "<|im_start|>")]
    for i, kw in enumerate(kwargs):
        assert set(kw) <= SAMPLING_PARAMS_FIELDS
        assert kw["n"] == 1 and kw["seed"] == sample_seed(1, "qwen25-7b", "aime24", "aime-1", i)
        assert (kw["temperature"], kw["top_p"], kw["top_k"], kw["max_tokens"]) == (0.6, 0.95, 0, 16384)
        assert (kw["min_p"], kw["repetition_penalty"], kw["presence_penalty"], kw["frequency_penalty"]) == (
            0.0, 1.0, 0.0, 0.0)
        assert kw["stop"] == [] and kw["stop_token_ids"] == [*ids, tokenizer.eos_token_id]
        assert kw["logprobs"] == 0 and kw["include_stop_str_in_output"] is False
    assert len({kw["seed"] for kw in kwargs}) == 3
    assert sampling_kwargs(requests_for("toy", tokenizer, top_k=20)[0])["top_k"] == 20
    r1 = sampling_kwargs(requests_for("r1", tokenizer)[0])
    assert r1["stop"] == ["</answer>"] and r1["include_stop_str_in_output"] is True


def test_prompts_go_in_as_the_token_ids_that_were_length_checked(tokenizer) -> None:
    request = requests_for("qwen-boxed", tokenizer, n=1)[0]
    sent = prompt_input(request)
    assert sent == {"prompt_token_ids": list(request.prompt_ids)}
    assert tokenizer.decode(sent["prompt_token_ids"]).startswith("<|im_start|>system\nYou are a helpful")
    assert tokenizer.decode(sent["prompt_token_ids"]).endswith("<|im_end|>\n<|im_start|>assistant\n")


def test_engine_arguments() -> None:
    kw = llm_kwargs("/models/q", seed=7, tensor_parallel=2, max_model_len=32768, dtype="bfloat16",
                    gpu_memory_utilization=0.85)
    assert kw == {"model": "/models/q", "tokenizer": "/models/q", "seed": 7, "generation_config": "vllm",
                  "tensor_parallel_size": 2, "max_model_len": 32768, "dtype": "bfloat16",
                  "gpu_memory_utilization": 0.85, "logprobs_mode": "processed_logprobs",
                  "trust_remote_code": False}
    vl = llm_kwargs("/m", seed=1, tensor_parallel=1, max_model_len=8192, dtype="auto",
                    images=load_template(PROMPTS / "easyr1-vl.yaml").images)
    assert vl["limit_mm_per_prompt"] == {"image": 1, "video": 0}
    assert vl["mm_processor_kwargs"] == {"min_pixels": 262144, "max_pixels": 4194304}
    assert score_kwargs() == {"n": 1, "max_tokens": 1, "temperature": 1.0, "prompt_logprobs": 0,
                              "detokenize": False}
    assert set(score_kwargs()) <= SAMPLING_PARAMS_FIELDS


class FakeImage:
    """Stands in for the PIL image qwen-vl-utils returns (only `.size` is read)."""

    size = (280, 140)


def test_image_requests_carry_multimodal_data(tokenizer, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = []
    monkeypatch.setattr(vllm_engine, "load_image", lambda ref, images: loaded.append((ref, images)) or FakeImage())
    template = load_template(PROMPTS / "easyr1-vl.yaml")
    path = tmp_path / "vl.parquet"
    pl.DataFrame({"problem_id": ["mv-1"], "question": ["Find the angle."], "answer": ["30"],
                  "answer_type": ["number"], "meta": ["{}"], "image": [b"\x89PNG..."]}).write_parquet(path)
    problems = load_problems(path, template)
    (prompt,) = prepare_prompts(problems, template, tokenizer, max_tokens=100, max_model_len=4096, engine="vllm")
    assert loaded == [(b"\x89PNG...", template.images)]
    assert prompt.text.count("<|image_pad|>") == 1 and prompt.text.endswith("<|im_start|>assistant\n")
    placeholder = len(tokenizer.encode("<|image_pad|>", add_special_tokens=False))
    assert prompt.length == len(prompt.ids) - placeholder + 10 * 5
    request = Request("mv-1", 0, 1, prompt.ids, Sampling(max_tokens=100), prompt_text=prompt.text,
                      images=prompt.images)
    assert prompt_input(request) == {"prompt": prompt.text, "multi_modal_data": {"image": prompt.images[0]}}
    with pytest.raises(UserError, match="exceeds max_model_len 120"):
        prepare_prompts(problems, template, tokenizer, max_tokens=100, max_model_len=120, engine="vllm")
    no_image = tmp_path / "no-image.parquet"
    pl.read_parquet(path).drop("image").write_parquet(no_image)
    with pytest.raises(UserError, match=r"missing columns \['image'\]"):
        load_problems(no_image, template)


def logprob(value: float) -> SimpleNamespace:
    return SimpleNamespace(logprob=value, rank=1, decoded_token=None)


def test_completions_and_scores_are_read_from_vllm_outputs() -> None:
    request = Request("p", 2, 99, (5, 6, 7), Sampling(max_tokens=8))
    output = SimpleNamespace(prompt_token_ids=[5, 6, 7], outputs=[SimpleNamespace(
        text="x = 1", token_ids=[11, 12], finish_reason="stop",
        logprobs=[{11: logprob(-0.5), 3: logprob(-2.0)}, {12: logprob(-1.5)}])])
    completion = completion_from_output(request, output)
    assert (completion.text, completion.token_ids, completion.finish_reason) == ("x = 1", (11, 12), "stop")
    assert completion.entropy == pytest.approx(1.0) and completion.prompt_tokens == 3
    assert completion.record()["n_tokens"] == 2 and completion.seed == 99
    output.outputs[0].logprobs = None
    assert math.isnan(completion_from_output(request, output).entropy)
    prompt_lp = [None, {6: logprob(-0.1)}, {7: logprob(-0.2)}, {11: logprob(-0.3), 4: logprob(-0.9)}]
    assert response_logprobs(prompt_lp, [5, 6, 7, 11], start=2) == [-0.2, -0.3]


def test_no_module_imports_vllm_or_qwen_vl_utils_at_import_time() -> None:
    code = """
import importlib, pkgutil, sys
sys.modules["vllm"] = None
sys.modules["qwen_vl_utils"] = None
import rlvr_limits.sampling.store
heavy = [m for m in ("torch", "polars", "transformers", "yaml") if m in sys.modules]
assert not heavy, f"store (imported while the Snakefile builds the DAG) pulled in {heavy}"
import rlvr_limits
failed = []
for info in pkgutil.walk_packages(rlvr_limits.__path__, "rlvr_limits."):
    if info.name == "rlvr_limits.__main__":
        continue
    try:
        importlib.import_module(info.name)
    except Exception as exc:
        failed.append(f"{info.name}: {exc!r}")
assert not failed, failed
assert sys.modules["vllm"] is None and sys.modules["qwen_vl_utils"] is None
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


class _ImportRaises(importlib.abc.MetaPathFinder):
    """Makes `import vllm` raise what vLLM's CPU build raises beside PyPI's CUDA-built torchvision."""

    def __init__(self, message: str) -> None:
        self.message = message

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "vllm":
            raise RuntimeError(self.message)


def test_a_cuda_torchvision_beside_cpu_torch_is_named_with_its_fix(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from rlvr_limits.sampling.engine import load_engine

    monkeypatch.delitem(sys.modules, "vllm", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_ImportRaises("operator torchvision::nms does not exist"), *sys.meta_path])
    tokenizer = SimpleNamespace(eos_token_id=0)
    with pytest.raises(UserError, match=r"torchvision::nms.*pip uninstall -y torchvision torchaudio torchcodec"):
        load_engine("vllm", str(tmp_path), tokenizer=tokenizer)
    # Any other failure of vLLM's import is not dressed up as an install problem.
    sys.meta_path[0] = _ImportRaises("some other failure")
    with pytest.raises(RuntimeError, match="some other failure"):
        vllm_engine.import_vllm()


def test_vllm_settings_reach_the_vllm_jobs_only() -> None:
    """The KV-cache memory share and batch invariance are model settings; hf jobs never see them (so a change
    to them never reruns hf sampling). Batch invariance shapes vLLM's samples (part of the draw); the memory
    share does not (an engine setting: a change redraws nothing)."""
    import yaml

    from rlvr_limits.config import PerplexityJob, WorkflowConfig

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    config["models"]["toy_rl"].update(engine="vllm", gpu_memory_utilization=0.1, batch_invariant=True)
    w = WorkflowConfig.load(config, root)
    assert w.engine_settings("toy_rl")["gpu_memory_utilization"] == 0.1
    assert w.draw_identity("toy_rl", "toy_arith")["batch_invariant"] is True
    assert "gpu_memory_utilization" not in w.draw_identity("toy_rl", "toy_arith")
    assert w.perplexity_spec(PerplexityJob("toy_rl", "toy_rl", "toy_arith"))["gpu_memory_utilization"] == 0.1
    assert "gpu_memory_utilization" not in w.engine_settings("toy_base")
    assert "batch_invariant" not in w.draw_identity("toy_base", "toy_arith")
    config["models"]["toy_rl"].pop("gpu_memory_utilization")
    assert WorkflowConfig.load(config, root).engine_settings("toy_rl")["gpu_memory_utilization"] == 0.9
    config["models"]["toy_rl"]["gpu_memory_utilization"] = 1.5
    with pytest.raises(UserError, match="gpu_memory_utilization"):
        WorkflowConfig.load(config, root)
