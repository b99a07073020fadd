"""The crossover k: the smallest k at which the base model's pass@k reaches the other model's.

The paper's headline is that RL-trained models lead at small k and the base catches up "as k increases to the
tens or hundreds". Single runs put that point in different places (users of the authors' code report that
crossings move with one 128-sample run), so the crossover is reported with a bootstrap interval: the same
definition applied to every paired resample of the problems. A resample in which the base never reaches the
other model within the grid counts as "beyond k_max"; when the base never reaches it on the data themselves
the answer is "no crossover up to k_max", stated as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def first_reach(base: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Index of the first column where base >= other, per row; the column count when it never happens.

    Works on one curve (1-d) or on resampled curves (resamples × k).
    """
    reached = np.asarray(base) >= np.asarray(other)
    width = reached.shape[-1]
    return np.where(reached.any(axis=-1), reached.argmax(axis=-1), width)


@dataclass(frozen=True)
class Crossover:
    """Where the base curve reaches the other's, on the k grid, with its bootstrap interval.

    `k is None` means no crossover up to `k_max`; an interval end of None lies beyond k_max (those resamples
    never cross within the grid).
    """

    k: int | None
    k_low: int | None
    k_high: int | None
    k_max: int
    ci: float
    share_crossing: float  # fraction of resamples that cross within the grid

    @property
    def other_never_leads(self) -> bool:
        """The base is at or above the other model already at the smallest k."""
        return self.k == 1

    def statement(self, base: str, other: str) -> str:
        """One plain sentence for captions and summaries."""
        pct = f"{round(100 * self.ci)}%"
        if self.k is None:
            when = (f"; {100 * self.share_crossing:.0f}% of resamples cross within the grid"
                    if self.share_crossing > 0 else "")
            return f"no crossover up to k={self.k_max}: {base} stays below {other}{when}"
        low, high = (f">{self.k_max}" if k is None else str(k) for k in (self.k_low, self.k_high))
        interval = f"{pct} interval k={low}" if low == high else f"{pct} interval k={low} to {high}"
        if self.other_never_leads:
            return f"{base} is at or above {other} from k=1 ({interval})"
        return f"{base} reaches {other} at k={self.k} ({interval})"

    def as_dict(self, base: str, other: str) -> dict[str, Any]:
        return {"k": self.k, "k_low": self.k_low, "k_high": self.k_high, "k_max": self.k_max,
                "none_up_to_k_max": self.k is None, "share_resamples_crossing": self.share_crossing,
                "statement": self.statement(base, other)}


def crossover(ks: Sequence[int], base: np.ndarray, other: np.ndarray, base_draws: np.ndarray,
              other_draws: np.ndarray, ci: float) -> Crossover:
    """Crossover of the point curves with a percentile interval over paired resampled curves.

    `base`/`other` are the curves (len(ks)); `*_draws` the same curves in each paired resample
    (resamples × k).
    """
    ks = list(ks)
    width = len(ks)
    index = int(first_reach(base, other))
    draws = first_reach(base_draws, other_draws)
    alpha = (1.0 - ci) / 2.0
    low_i = int(np.quantile(draws, alpha, method="lower"))
    high_i = int(np.quantile(draws, 1.0 - alpha, method="higher"))

    def k_at(i: int) -> int | None:
        return ks[i] if i < width else None

    return Crossover(k=k_at(index), k_low=k_at(low_i), k_high=k_at(high_i), k_max=ks[-1], ci=ci,
                     share_crossing=float(np.mean(draws < width)))
