"""What an engine is asked to do and what it returns, plus the per-sample seed scheme.

Seeds are derived by hashing (seed, model, benchmark, problem_id, sample_idx), never as `seed + i`: vLLM gives
the n children of a request the seeds `seed, seed+1, ...`, so two requests whose seeds differ by less than n
would share noise streams. A hash makes every sample's stream independent of how samples are grouped into
requests, shards or reruns.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

#: Recorded in every sidecar so a reader knows how `seed` was derived.
SEED_SCHEME = ("sha256 of the JSON list [seed, model, benchmark, problem_id, sample_idx]; "
               "first 8 bytes big-endian, top bit cleared (63-bit, one stream per sample)")


def sample_seed(seed: int, model: str, benchmark: str, problem_id: str, sample_idx: int) -> int:
    """A 63-bit seed for one sample, identical in every process and on every machine."""
    key = json.dumps([int(seed), str(model), str(benchmark), str(problem_id), int(sample_idx)],
                     ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


@dataclass(frozen=True)
class Sampling:
    """Sampling parameters sent explicitly to the engine (never taken from a model's generation_config).

    `top_k = -1` disables top-k; `temperature = 0` is greedy decoding. `stop` strings are cut from the text
    (kept when `include_stop` is true); `stop_token_ids` end generation when sampled.
    """

    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    stop: tuple[str, ...] = ()
    stop_token_ids: tuple[int, ...] = ()
    include_stop: bool = False

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k == 0 or self.top_k < -1:
            raise ValueError(f"top_k must be -1 (off) or >= 1, got {self.top_k}")
        if any(not s for s in self.stop):
            raise ValueError("stop strings must be non-empty")


@dataclass(frozen=True)
class Request:
    """One sample to draw: a tokenized prompt, its sampling parameters and its own seed.

    `prompt_text` and `images` are only used for multimodal prompts, which vLLM must tokenize itself so that
    it can expand the image placeholder into the right number of visual tokens.
    """

    problem_id: str
    sample_idx: int
    seed: int
    prompt_ids: tuple[int, ...]
    sampling: Sampling
    prompt_text: str | None = None
    images: tuple[Any, ...] = field(default=(), compare=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.problem_id, self.sample_idx)


@dataclass(frozen=True)
class Completion:
    """One finished sample. `entropy` is the mean per-token entropy (nats) of the sampling distribution;
    `n_tokens` counts the response's tokens where a server reported the count but not the ids."""

    problem_id: str
    sample_idx: int
    seed: int
    text: str
    token_ids: tuple[int, ...]
    prompt_tokens: int
    finish_reason: str
    entropy: float
    n_tokens: int | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.problem_id, self.sample_idx)

    def record(self) -> dict[str, Any]:
        """The row written to the journal and the shard table (tables.SAMPLE_COLUMNS)."""
        return {
            "problem_id": self.problem_id,
            "sample_idx": self.sample_idx,
            "seed": self.seed,
            "text": self.text,
            "prompt_tokens": self.prompt_tokens,
            "n_tokens": len(self.token_ids) if self.n_tokens is None else self.n_tokens,
            "finish_reason": self.finish_reason,
            "entropy": self.entropy,
        }
