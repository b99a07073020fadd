"""Synthetic verdict and count tables for the analysis tests, built through the workflow's own contracts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from rlvr_limits.io import write_parquet
from rlvr_limits.tables import COUNT_COLUMNS, VERDICT_COLUMNS, conform


def verdicts(correct: dict[str, Sequence[bool]], verifiers: Sequence[str] = ("math",)) -> pl.DataFrame:
    """One verdict row per (verifier, problem, sample); `correct` maps problem_id -> per-sample outcomes."""
    frames = []
    for verifier in verifiers:
        for problem_id, outcomes in correct.items():
            ok = np.asarray(outcomes, dtype=bool)
            frames.append(pl.DataFrame({
                "problem_id": problem_id, "sample_idx": np.arange(ok.size, dtype=np.int32),
                "verifier": verifier, "verdict": np.where(ok, "correct", "wrong"), "correct": ok,
                "extracted": "0", "detail": None}))
    return conform(pl.concat(frames), VERDICT_COLUMNS)


def counts(n: Sequence[int], c: Sequence[int], verifier: str = "math",
           ids: Sequence[str] | None = None) -> pl.DataFrame:
    """A counts table with problems p000, p001, ... unless `ids` are given."""
    ids = list(ids) if ids is not None else [f"p{i:03d}" for i in range(len(n))]
    return conform(pl.DataFrame({"verifier": verifier, "problem_id": ids, "n": list(n), "c": list(c)}),
                   COUNT_COLUMNS)


def simulated_verdicts(path: Path, probs: np.ndarray, n: int, seed: int,
                       verifiers: Sequence[str] = ("math",)) -> pl.DataFrame:
    """Verdicts of a model whose problem i is solved with probability probs[i]; written to `path`."""
    rng = np.random.default_rng(seed)
    table = verdicts({f"p{i:03d}": rng.random(n) < p for i, p in enumerate(probs)}, verifiers)
    write_parquet(table, path)
    return table
