"""Verifier backends by name, imported only when a benchmark asks for them.

A backend is `verify_table(problems, samples, benchmark, settings) -> DataFrame` returning one row per sample
row with columns problem_id, sample_idx, verdict, correct, extracted.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import polars as pl

from rlvr_limits.errors import UserError

Backend = Callable[[pl.DataFrame, pl.DataFrame, str, dict[str, Any]], pl.DataFrame]

BACKENDS: dict[str, str] = {
    "math": "rlvr_limits.verify.math.batch",
    "math-verify": "rlvr_limits.verify.mathverify_backend",
    "toy_strict": "rlvr_limits.toy.strict",
    "code": "rlvr_limits.verify.code.batch",
}


#: Verifiers that read a response as the model's whole answer, so a template's assistant prefill (e.g. "The
#: final answer is $\\boxed{") is put back in front of the generated text. The code verifier finds a prefilled
#: code fence by itself.
READS_PREFILL = frozenset({"math", "math-verify", "toy_strict"})


def backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise UserError(f"unknown verifier {name!r} (known: {', '.join(sorted(BACKENDS))})")
    return importlib.import_module(BACKENDS[name]).verify_table


def describe(name: str) -> dict[str, Any]:
    """What the verdicts' sidecar records about a backend: its version, and whatever else it reports (e.g. the
    isolation level programs ran under)."""
    module = importlib.import_module(BACKENDS[name])
    record: dict[str, Any] = {"version": str(getattr(module, "VERSION", "unversioned"))}
    if hasattr(module, "sidecar"):
        record.update(module.sidecar())
    return record
