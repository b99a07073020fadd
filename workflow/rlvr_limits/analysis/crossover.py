"""The crossover: from which k on the base model is ahead of the other model, and how sure that is.

The paper's headline is that RL-trained models lead at small k and the base catches up "as k increases to the
tens or hundreds". A crossing is claimed only where the data carry it: the base is ahead (strictly) at every k
from the crossover to k_max, and the paired test rejects a zero difference at k_max. Ties (both curves equal,
e.g. both saturated at 1) never count as the base being ahead, a blip at small k does not hide a later
crossing, and where the sign of the difference changes more than once the statement says so. The ranges of k
where the pointwise interval includes zero are named ("within each other's noise"): the crossing itself lies
somewhere between the last k where the other model is significantly ahead and the first k from which the
base is significantly ahead up to k_max (`k_low`, `k_high`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

#: A difference this close to zero is a tie (floating-point noise of equal curves).
TIE = 1e-12


@dataclass(frozen=True)
class Crossover:
    """Where the base model overtakes the other one on the k grid, or why no crossing is claimed.

    `status`: "crossover" (the other model leads first, the base from `k` on), "base_ahead" (the base is
    ahead at every k), or "none". `p_value` is the headline test's adjusted p-value at k_max.
    """

    status: str
    k: int | None
    k_low: int | None
    k_high: int | None
    k_max: int
    ci: float
    p_value: float
    base_ahead_at_k_max: bool | None  # None: the curves tie at k_max
    noise: list[list[int]] = field(default_factory=list)
    ties: list[int] = field(default_factory=list)
    sign_changes: list[int] = field(default_factory=list)

    def statement(self, base: str, other: str) -> str:
        """One plain sentence for captions and summaries."""
        p = f"p = {self.p_value:.2g} at k={self.k_max}"
        if self.status == "crossover":
            text = f"{base} overtakes {other} at k={self.k} and stays ahead to k={self.k_max} ({p})"
            if self.k_low is not None and self.k_high is not None and self.k_low != self.k_high:
                text += f"; the crossing lies between k={self.k_low} and k={self.k_high}"
        elif self.status == "base_ahead":
            text = f"{base} is ahead of {other} at every k up to {self.k_max} ({p})"
        elif self.base_ahead_at_k_max is None:
            text = f"no crossover: the curves tie at k={self.k_max}"
        elif self.base_ahead_at_k_max:
            text = f"no crossover established: {base} is ahead at k={self.k_max} but not significantly ({p})"
        elif self.sign_changes:
            text = f"no crossover up to k={self.k_max}: {other} is ahead at k={self.k_max}"
        else:
            text = f"no crossover up to k={self.k_max}: {base} stays below {other}"
        if len(self.sign_changes) > 1:
            text += (f"; the sign of the difference changes {len(self.sign_changes)} times (at k="
                     + ", ".join(map(str, self.sign_changes)) + ")")
        windows = [f"k={a}" if a == b else f"k={a} to {b}" for a, b in self.noise]
        if windows:
            text += (f"; the curves are within each other's noise ({round(100 * self.ci)}% pointwise) at "
                     + ", ".join(windows))
        return text

    def as_dict(self, base: str, other: str) -> dict[str, Any]:
        return {"status": self.status, "k": self.k, "k_low": self.k_low, "k_high": self.k_high,
                "k_max": self.k_max, "none_up_to_k_max": self.k is None, "p_value": self.p_value,
                "noise": self.noise, "ties": self.ties, "sign_changes": self.sign_changes,
                "base_ahead_at_k_max": self.base_ahead_at_k_max, "ci": self.ci,
                "statement": self.statement(base, other)}


def from_dict(data: dict[str, Any]) -> Crossover:
    """The crossover of a compare summary (`as_dict`), to restate it with other model labels."""
    return Crossover(data["status"], data["k"], data["k_low"], data["k_high"], data["k_max"], data["ci"],
                     data["p_value"], data["base_ahead_at_k_max"], data["noise"], data["ties"],
                     data["sign_changes"])


def _windows(ks: Sequence[int], flags: Sequence[bool]) -> list[list[int]]:
    """Maximal runs of consecutive grid points where `flags` holds, as [first k, last k]."""
    runs: list[list[int]] = []
    for i, flag in enumerate(flags):
        if not flag:
            continue
        if runs and i > 0 and flags[i - 1]:
            runs[-1][1] = ks[i]
        else:
            runs.append([ks[i], ks[i]])
    return runs


def crossover(ks: Sequence[int], diffs: Sequence[float], significant: Sequence[bool], p_k_max: float,
              rejects_at_k_max: bool, ci: float) -> Crossover:
    """The crossover of other − base point differences `diffs` on the grid `ks`.

    `significant[i]`: the pointwise test at ks[i] rejects zero; `p_k_max`, `rejects_at_k_max`: the headline
    test at k_max (adjusted for its family).
    """
    ks, diffs = list(ks), [float(d) for d in diffs]
    sign = [0 if abs(d) <= TIE else (1 if d > 0 else -1) for d in diffs]
    ties = [k for k, s in zip(ks, sign, strict=True) if s == 0]
    nonzero = [(k, s) for k, s in zip(ks, sign, strict=True) if s != 0]
    changes = [k for (_, a), (k, b) in pairwise(nonzero) if a != b]
    noise = _windows(ks, [not s for s in significant])
    base_ahead = sign[-1] < 0 if sign[-1] != 0 else None
    # the first index from which the base is strictly ahead at every k up to k_max
    start = len(ks)
    while start > 0 and sign[start - 1] < 0:
        start -= 1
    k = k_low = k_high = None
    status = "none"
    if start < len(ks) and rejects_at_k_max:
        status = "crossover" if any(s > 0 for s in sign[:start]) else "base_ahead"
        if status == "crossover":
            k = ks[start]
            other_sig = [i for i in range(start) if sign[i] > 0 and significant[i]]
            k_low = ks[other_sig[-1] + 1] if other_sig else ks[0]
            first = len(ks) - 1
            while first > 0 and sign[first - 1] < 0 and significant[first - 1]:
                first -= 1
            k_high = ks[first]
    return Crossover(status, k, k_low, k_high, ks[-1], ci, p_k_max, base_ahead, noise, ties, changes)
