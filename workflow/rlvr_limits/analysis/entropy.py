"""Entropy matching across a temperature sweep (paper Fig. 17).

RL sharpens a model's output distribution, so comparing base and RL at the same temperature mixes two
effects. The paper raises the RL model's temperature until its mean per-token entropy matches the base's at
T = 0.6. Here the entropy of a set of samples is the token-weighted mean of the samples' `entropy` column
(each sample's mean per-token entropy), i.e. the mean over all generated tokens; the matching temperature is
read off the RL model's measured (temperature, entropy) points by linear interpolation.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from rlvr_limits.errors import UserError


def mean_entropy(samples: pl.DataFrame, source: str = "samples") -> float:
    """Mean per-token entropy (nats) over all generated tokens of `samples`."""
    tokens = samples.filter(pl.col("n_tokens") > 0)
    if tokens.is_empty():
        raise UserError(f"{source}: no sample has generated tokens; entropy is undefined")
    if tokens["entropy"].null_count():
        raise UserError(f"{source}: {tokens['entropy'].null_count()} samples lack an entropy value; "
                        "resample with an engine that records it")
    weight = tokens["n_tokens"].cast(pl.Float64)
    return float((tokens["entropy"] * weight).sum() / weight.sum())


@dataclass(frozen=True)
class EntropyMatch:
    """Temperature at which a model's entropy equals `target`, or None outside the measured range."""

    temperature: float | None
    target: float
    measured: tuple[tuple[float, float], ...]  # (temperature, entropy), sorted by temperature

    def statement(self, model: str) -> str:
        if self.temperature is not None:
            return f"{model} matches entropy {self.target:.3f} at T={self.temperature:.3f}"
        lo, hi = self.measured[0], self.measured[-1]
        return (f"{model} does not reach entropy {self.target:.3f} within T={lo[0]:g}..{hi[0]:g} "
                f"(entropy {lo[1]:.3f}..{hi[1]:.3f}); extend the temperature sweep")


def matching_temperature(points: Sequence[tuple[float, float]], target: float) -> EntropyMatch:
    """Lowest temperature at which the piecewise-linear entropy curve through `points` reaches `target`."""
    measured = tuple(sorted((float(t), float(h)) for t, h in points))
    if len(measured) < 1:
        raise UserError("entropy matching needs at least one (temperature, entropy) measurement")
    temps = [t for t, _ in measured]
    if len(set(temps)) != len(temps):
        raise UserError(f"entropy matching got the same temperature twice: {temps}")
    for (t0, h0), (t1, h1) in itertools.pairwise(measured):
        if min(h0, h1) <= target <= max(h0, h1):
            if h1 == h0:
                return EntropyMatch(t0, target, measured)
            return EntropyMatch(t0 + (target - h0) * (t1 - t0) / (h1 - h0), target, measured)
    if len(measured) == 1 and measured[0][1] == target:
        return EntropyMatch(measured[0][0], target, measured)
    return EntropyMatch(None, target, measured)
