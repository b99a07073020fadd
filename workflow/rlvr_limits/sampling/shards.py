"""Shard plan of one (model, benchmark): blocks of problems × blocks of sample indices.

The Snakefile imports this module while building the DAG, so it imports nothing heavy. The plan depends only
on counts, so the DAG is known before any job runs, and every (problem, sample) lands in exactly one shard.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlvr_limits.errors import UserError


@dataclass(frozen=True)
class Shard:
    """Problems [problem_start, problem_stop) × sample indices [sample_start, sample_stop)."""

    id: str
    problem_start: int
    problem_stop: int
    sample_start: int
    sample_stop: int

    @property
    def size(self) -> int:
        return (self.problem_stop - self.problem_start) * (self.sample_stop - self.sample_start)


def _check_positive(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"{what} must be a positive integer, got {value!r}")


def plan_shards(n_problems: int, n_samples: int, problems_per_shard: int,
                samples_per_shard: int) -> list[Shard]:
    """Problem blocks outermost, sample blocks inside; ids are zero-padded (at least 3 digits)."""
    _check_positive(n_problems, "number of problems")
    _check_positive(n_samples, "n_samples")
    _check_positive(problems_per_shard, "sampling.shard.problems")
    _check_positive(samples_per_shard, "sampling.shard.samples")
    bounds = [(p, min(p + problems_per_shard, n_problems), s, min(s + samples_per_shard, n_samples))
              for p in range(0, n_problems, problems_per_shard)
              for s in range(0, n_samples, samples_per_shard)]
    width = max(3, len(str(len(bounds) - 1)))
    return [Shard(f"{i:0{width}d}", *b) for i, b in enumerate(bounds)]


def shard_ids(n_problems: int, n_samples: int, problems_per_shard: int, samples_per_shard: int) -> list[str]:
    """The ids of `plan_shards(...)`, e.g. ["000", "001"], for the Snakefile's expand()."""
    return [s.id for s in plan_shards(n_problems, n_samples, problems_per_shard, samples_per_shard)]


def find_shard(shards: list[Shard], shard_id: str) -> Shard:
    """The shard called `shard_id`, or a UserError listing the valid range."""
    for shard in shards:
        if shard.id == shard_id:
            return shard
    raise UserError(f"--shard {shard_id!r}: no such shard; this plan has {len(shards)} shards "
                    f"({shards[0].id} .. {shards[-1].id})")
