"""The `math-verify` library as a verifier backend, kept selectable per benchmark for audits.

Gold answers are parsed once per problem. Math-Verify's own timeouts use SIGALRM, so this backend must run in
the main thread of its process (the `verify` stage does).
"""

from __future__ import annotations

from importlib.metadata import version as package_version
from typing import Any

import polars as pl
from math_verify import parse, verify

from rlvr_limits.progress import Progress

VERSION = f"math-verify {package_version('math-verify')}"


def _verdict(gold: list[Any], response: str) -> tuple[str, bool, str | None]:
    try:
        predicted = parse(response)
    except Exception:
        return "error", False, None
    if not predicted:
        return "no_answer", False, None
    extracted = str(predicted[-1])
    try:
        ok = bool(verify(gold, predicted))
    except Exception:
        return "error", False, extracted
    return ("correct" if ok else "wrong"), ok, extracted


def verify_table(problems: pl.DataFrame, samples: pl.DataFrame, benchmark: str,
                 settings: dict[str, Any]) -> pl.DataFrame:
    golds = {pid: parse(f"${answer}$") for pid, answer in problems.select("problem_id", "answer").iter_rows()}
    progress = Progress(f"math-verify {benchmark}", samples.height, unit="samples")
    rows = []
    for pid, idx, text in samples.select("problem_id", "sample_idx", "text").iter_rows():
        verdict, ok, extracted = _verdict(golds[pid], text)
        rows.append((pid, idx, verdict, ok, extracted))
        progress.update()
    return pl.DataFrame(rows, schema={"problem_id": pl.String, "sample_idx": pl.Int32, "verdict": pl.String,
                                      "correct": pl.Boolean, "extracted": pl.String}, orient="row")
