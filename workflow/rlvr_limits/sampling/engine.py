"""The interface every engine implements, so the stage, the perplexity analysis and the miniature's RL loop
do not care whether samples come from transformers on a CPU, vLLM on a GPU or a server running elsewhere."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from rlvr_limits.errors import UserError
from rlvr_limits.sampling.requests import Completion, Request
from rlvr_limits.sampling.templates import Images


class Engine(Protocol):
    """A loaded model that samples completions and scores responses."""

    #: The model's transformers tokenizer, used to render and tokenize prompts identically for every engine.
    tokenizer: Any

    def generate(self, requests: Iterable[Request]) -> Iterator[Completion]:
        """Sample every request, yielding each completion as soon as it is finished (in no fixed order)."""
        ...

    def score(self, prompt_ids: Sequence[int], response_ids: Sequence[int]) -> list[float]:
        """Log-probability of each response token given the prompt and the preceding response tokens."""
        ...

    def score_batch(self, pairs: Sequence[tuple[Sequence[int], Sequence[int]]]) -> list[list[float]]:
        """`score` for many (prompt_ids, response_ids) pairs, in input order."""
        ...

    def sent_parameters(self, request: Request) -> dict[str, Any]:
        """The sampling parameters exactly as this engine applies them to `request`, for sidecars."""
        ...

    def describe(self) -> dict[str, Any]:
        """Engine name, library versions, dtype and hardware, for sidecars."""
        ...


def generation_eos_ids(model_path: str | Path) -> tuple[int, ...]:
    """The eos ids of the model's generation_config.json (an int or a list; none without the file).

    vLLM adds these to every request's stop tokens whatever `generation_config` it was given, so the stop tokens
    both engines are sent include them, and the two engines stop at the same places.
    """
    path = Path(model_path) / "generation_config.json"
    if not path.is_file():
        return ()
    try:
        value = json.loads(path.read_text()).get("eos_token_id")
    except (json.JSONDecodeError, AttributeError) as exc:
        raise UserError(f"{path}: not a JSON object ({exc})") from None
    values = [value] if isinstance(value, int) else value or []
    if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise UserError(f"{path}: eos_token_id must be a token id or a list of them, got {json.dumps(value)}")
    return tuple(values)


def load_engine(kind: str, model_path: str, *, tokenizer: Any = None, seed: int = 0, max_model_len: int = 4096,
                tensor_parallel: int = 1, dtype: str = "auto", threads: int | None = 1, batch_rows: int = 1024,
                images: Images | None = None, gpu_memory_utilization: float = 0.9,
                batch_invariant: bool = False, chunk: int = 4096, server: dict[str, Any] | None = None) -> Engine:
    """Load `model_path` with the "hf", "vllm" or "server" engine (imported only here, so callers stay light).

    hf uses `dtype`, `threads`, `batch_rows` and `images` (then it loads a vision-language model); vllm uses
    `seed`, `max_model_len`, `tensor_parallel`, `dtype`, `images` (pixel bounds of image prompts),
    `gpu_memory_utilization` (the share of device memory, or of host RAM with vLLM's CPU build, vLLM may take),
    `batch_invariant` and `chunk` (requests per generate call). A vllm job first claims its GPUs, so jobs on one
    multi-GPU machine never share a device. server loads only the tokenizer and sends requests as `server` says
    (server_engine.ServerSettings), to a server that holds `max_model_len`. Without `tokenizer`, the model's own
    is loaded.
    """
    if tokenizer is None:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model_path)
    if kind == "hf":
        from rlvr_limits.sampling.hf import HFEngine

        return HFEngine.from_pretrained(model_path, tokenizer=tokenizer, dtype=dtype, threads=threads,
                                        batch_rows=batch_rows, images=images)
    if kind == "vllm":
        from rlvr_limits.sampling.devices import pin_devices
        from rlvr_limits.sampling.vllm_engine import VllmEngine, llm_kwargs

        pin_devices(tensor_parallel)

        kwargs = llm_kwargs(model_path, seed=seed, tensor_parallel=tensor_parallel, max_model_len=max_model_len,
                            dtype=dtype, images=images, gpu_memory_utilization=gpu_memory_utilization)
        try:
            return VllmEngine(kwargs, tokenizer, chunk=chunk, batch_invariant=batch_invariant)
        except ImportError as exc:
            raise UserError(f"engine vllm: {exc}; install the vllm extra (pip install -e '.[vllm]') on a GPU "
                            "machine or vLLM's CPU build on a CPU one (README: vLLM on a CPU), or use engine: hf"
                            ) from None
    if kind == "server":
        from rlvr_limits.sampling.server_engine import ServerEngine, ServerSettings

        if server is None:
            raise UserError("engine server: no server settings (base_url, model); give the model a `server:` block")
        return ServerEngine(ServerSettings.from_dict(server), tokenizer, max_model_len)
    raise ValueError(f'engine must be "hf", "vllm" or "server", got {kind!r}')
