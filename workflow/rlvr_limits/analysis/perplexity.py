"""Perplexity of one model's responses under another model (paper §4.1, Fig. 6).

PPL_A(Y_B) = exp(−(1/T) Σ_t log P_A(y_t | x, y_<t)), with x the prompt and T the response length: how
surprising model A finds the responses of model B. A low PPL_Base(Y_RL) says RL's responses were already
likely under the base model.

Which responses are scored is decided deterministically: every (problem, sample) gets a rank from a hash of
the seed, the problem id and the sample index, so the choice does not depend on shard layout or file order,
and a different seed gives an independent choice.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence

import polars as pl

from rlvr_limits.errors import UserError


def mean_logprob(logprobs: Sequence[float]) -> float:
    """Average log-probability per response token (nats)."""
    if len(logprobs) == 0:
        raise ValueError("an empty response has no perplexity")
    values = [float(x) for x in logprobs]
    if any(math.isnan(x) or x > 0 for x in values):
        raise ValueError("log-probabilities must be <= 0 and not NaN")
    return math.fsum(values) / len(values)


def perplexity(logprobs: Sequence[float]) -> float:
    """exp(−mean token log-probability)."""
    return math.exp(-mean_logprob(logprobs))


def _rank(seed: int, problem_id: str, sample_idx: int) -> int:
    digest = hashlib.blake2b(f"{seed}\x1f{problem_id}\x1f{sample_idx}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def choose_responses(samples: pl.DataFrame, per_problem: int, seed: int) -> pl.DataFrame:
    """Up to `per_problem` non-empty responses per problem, chosen by seeded hash rank.

    Returns the chosen rows ordered by problem id and rank, so neither shard order nor row order matters.
    Empty responses are skipped: they have no tokens to average over.
    """
    if per_problem < 1:
        raise UserError(f"responses_per_problem must be at least 1, got {per_problem}")
    usable = samples.filter(pl.col("text").str.len_chars() > 0)
    ranks = [_rank(seed, p, int(i)) for p, i in zip(usable["problem_id"], usable["sample_idx"], strict=True)]
    return (usable.with_columns(_rank=pl.Series(ranks, dtype=pl.UInt64))
            .sort("problem_id", "_rank")
            .group_by("problem_id", maintain_order=True).head(per_problem)
            .drop("_rank"))


def reference_responses(problems: pl.DataFrame, field: str, source: str) -> pl.DataFrame:
    """The reference responses a benchmark supplies in meta field `field` (a text or a list of texts), as
    rows (problem_id, sample_idx, text); a problem without the field contributes none."""
    rows: list[tuple[str, int, str]] = []
    for problem_id, meta in zip(problems["problem_id"], problems["meta"], strict=True):
        value = json.loads(meta or "{}").get(field)
        texts = value if isinstance(value, list) else [] if value is None else [value]
        if not all(isinstance(t, str) for t in texts):
            raise UserError(f"{source}: problem {problem_id!r}: reference field {field!r} must hold a text or a "
                            f"list of texts, got {value!r:.80}")
        rows += [(problem_id, i, t) for i, t in enumerate(texts)]
    if not rows:
        raise UserError(f"{source}: no problem has a reference response in field {field!r}; check the "
                        "manifest's `reference:` key")
    return pl.DataFrame(rows, schema={"problem_id": pl.String, "sample_idx": pl.Int32, "text": pl.String},
                        orient="row")
