"""The interface both engines implement, so the stage, the perplexity analysis and the miniature's RL loop
do not care whether samples come from transformers on a CPU or vLLM on a GPU."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
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


def load_engine(kind: str, model_path: str, *, tokenizer: Any = None, seed: int = 0, max_model_len: int = 4096,
                tensor_parallel: int = 1, dtype: str = "auto", threads: int | None = 1, batch_rows: int = 1024,
                images: Images | None = None) -> Engine:
    """Load `model_path` with the "hf" or "vllm" engine (imported only here, so callers stay light).

    hf uses `dtype`, `threads` and `batch_rows`; vllm uses `seed`, `max_model_len`, `tensor_parallel`, `dtype`
    and `images` (pixel bounds of image prompts). Without `tokenizer`, the model's own is loaded.
    """
    if tokenizer is None:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model_path)
    if kind == "hf":
        from rlvr_limits.sampling.hf import HFEngine

        return HFEngine.from_pretrained(model_path, tokenizer=tokenizer, dtype=dtype, threads=threads,
                                        batch_rows=batch_rows)
    if kind == "vllm":
        from rlvr_limits.sampling.devices import pin_devices
        from rlvr_limits.sampling.vllm_engine import VllmEngine, llm_kwargs

        pin_devices(tensor_parallel)

        kwargs = llm_kwargs(model_path, seed=seed, tensor_parallel=tensor_parallel, max_model_len=max_model_len,
                            dtype=dtype, images=images)
        try:
            return VllmEngine(kwargs, tokenizer)
        except ImportError as exc:
            raise UserError(f"engine vllm: {exc}; install the vllm extra (pip install -e '.[vllm]') on a GPU "
                            "machine, or use engine: hf") from None
    raise ValueError(f'engine must be "hf" or "vllm", got {kind!r}')
