"""One sampling step for a batch of rows, reproducible per sample whatever the batch holds.

Each row draws its token by Gumbel-max: argmax(log p'(t) + g(seed, step, t)), where p' is the distribution
after temperature, top-k and top-p, and g is Gumbel noise computed from a counter-based hash (splitmix64) of
the row's sample seed, the step and the token id. No random-number-generator state is carried, so a sample
comes out the same alone, in any batch, in any shard, or resumed after a crash. This is the scheme vLLM's
Model Runner V2 uses too.

Top-p follows vLLM: keep the most likely tokens until their mass reaches top_p (at least one token).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def _signed(value: int) -> int:
    """A 64-bit constant as the int64 with the same bits (torch multiplies int64 with wrap-around)."""
    return value - (1 << 64) if value >= 1 << 63 else value


_GOLDEN = _signed(0x9E3779B97F4A7C15)
_C1 = _signed(0xBF58476D1CE4E5B9)
_C2 = _signed(0x94D049BB133111EB)


def _shr(z: torch.Tensor, bits: int) -> torch.Tensor:
    """Logical right shift of int64 bit patterns (torch's >> is arithmetic)."""
    return (z >> bits) & ((1 << (64 - bits)) - 1)


def mix64(z: torch.Tensor) -> torch.Tensor:
    """The splitmix64 finalizer on int64 tensors (the same bits as on unsigned 64-bit integers)."""
    z = (z ^ _shr(z, 30)) * _C1
    z = (z ^ _shr(z, 27)) * _C2
    return z ^ _shr(z, 31)


def gumbel_noise(seeds: torch.Tensor, step: int, tokens: torch.Tensor) -> torch.Tensor:
    """Gumbel(0, 1) noise (float64) for rows `seeds` [R] at generation `step`, token ids `tokens` [R, K]."""
    row_key = mix64(seeds ^ mix64(torch.full_like(seeds, step + 1) * _GOLDEN))
    bits = mix64(row_key[:, None] + (tokens + 1) * _GOLDEN)
    uniform = (_shr(bits, 11).to(torch.float64) + 0.5) * 2.0**-53
    return -torch.log(-torch.log(uniform))


@dataclass
class RowParams:
    """Per-row sampling parameters as tensors ([R] each); `top_k` <= 0 means off."""

    seeds: torch.Tensor
    temperature: torch.Tensor
    top_p: torch.Tensor
    top_k: torch.Tensor

    def select(self, index: torch.Tensor) -> RowParams:
        return RowParams(self.seeds[index], self.temperature[index], self.top_p[index], self.top_k[index])


def _entropy(logp: torch.Tensor) -> torch.Tensor:
    p = logp.exp()
    return -(p * logp.masked_fill(p == 0, 0.0)).sum(-1)


def sample_step(logits: torch.Tensor, params: RowParams, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw one token per row; returns (tokens [R] int64, entropy [R] of the distribution drawn from)."""
    logits = logits.float()
    rows, vocab = logits.shape
    greedy = params.temperature <= 0
    temperature = torch.where(greedy, torch.ones_like(params.temperature), params.temperature)
    scaled = logits / temperature[:, None].to(logits.dtype)
    filtering = bool(((params.top_k > 0) & (params.top_k < vocab)).any() | (params.top_p < 1).any())
    if filtering:
        ordered, order = scaled.sort(dim=-1, descending=True, stable=True)
        rank = torch.arange(vocab, device=logits.device)
        k = torch.where(params.top_k > 0, params.top_k.clamp(max=vocab), torch.full_like(params.top_k, vocab))
        ordered = ordered.masked_fill(rank[None, :] >= k[:, None], float("-inf"))
        probs = ordered.softmax(-1)
        mass_before = probs.cumsum(-1) - probs
        drop = (mass_before >= params.top_p[:, None].to(probs.dtype)) & (params.top_p[:, None] < 1)
        drop[:, 0] = False
        ordered = ordered.masked_fill(drop, float("-inf"))
        logp = ordered.log_softmax(-1)
        kept = int((logp > float("-inf")).sum(-1).max())
        candidates = order[:, :kept]
        scores = logp[:, :kept].double() + gumbel_noise(params.seeds, step, candidates)
        tokens = candidates.gather(1, scores.argmax(-1, keepdim=True)).squeeze(1)
    else:
        logp = scaled.log_softmax(-1)
        all_tokens = torch.arange(vocab, device=logits.device).expand(rows, vocab)
        tokens = (logp.double() + gumbel_noise(params.seeds, step, all_tokens)).argmax(-1)
    entropy = _entropy(logp)
    if bool(greedy.any()):
        tokens = torch.where(greedy, logits.argmax(-1), tokens)
        entropy = torch.where(greedy, torch.zeros_like(entropy), entropy)
    return tokens, entropy
