"""The RL reward: 1 when the project's math verifier judges the response's answer correct, else 0.

The reward is the same answer-level check that scores the benchmark (the paper's RLVR setting: a verifiable
outcome reward, nothing about the reasoning), so what RL optimises is exactly what pass@k measures.
"""

from __future__ import annotations

from rlvr_limits.verify.math import verify


def reward(response: str, gold: str) -> float:
    return 1.0 if verify(response, gold).correct else 0.0
