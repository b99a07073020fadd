"""E[(1 − p)^k] for p ~ Beta(a, b), without scipy: B(a, b + k) / B(a, b) via log-gamma."""

from __future__ import annotations

from math import exp, lgamma


def beta_survival_mean(a: float, b: float, k: int) -> float:
    return exp(lgamma(b + k) + lgamma(a + b) - lgamma(b) - lgamma(a + b + k))
