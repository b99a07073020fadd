"""Headline numbers of a comparison as flat rows, from the compare stage's JSON summaries.

One row per benchmark × verifier × model (the base first) with pass@1 and pass@k_max and their intervals, the
solved count, and for every non-base model the headline differences at k=1 and k_max (interval, raw and
adjusted p-value, test), the crossover, the coverage split and ΔSE with its k. This is the table the report
shows next to the figures.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from rlvr_limits.analysis.coverage import SPLITS
from rlvr_limits.errors import UserError

_REQUIRED = ("comparison", "benchmark", "base", "k_max", "results")


def _flat(prefix: str, interval: dict[str, Any]) -> dict[str, float]:
    return {prefix: interval["value"], f"{prefix} low": interval["low"], f"{prefix} high": interval["high"]}


def _difference(prefix: str, diff: dict[str, Any]) -> dict[str, Any]:
    return {**_flat(prefix, diff), f"{prefix} p": diff["p_value"], f"{prefix} p adjusted": diff["p_adjusted"],
            f"{prefix} excludes 0": diff["excludes_zero"], f"{prefix} test": diff["method"]}


def summary_rows(summary: dict[str, Any], source: str) -> list[dict[str, Any]]:
    """Flat rows of one compare JSON (one benchmark)."""
    missing = [key for key in _REQUIRED if key not in summary]
    if missing:
        raise UserError(f"{source}: missing keys {missing}; not a summary written by the compare stage")
    keys = {"comparison": summary["comparison"], "benchmark": summary["benchmark"], "k_max": summary["k_max"]}
    rows: list[dict[str, Any]] = []
    base_done: set[str] = set()
    try:
        for result in summary["results"]:
            verifier = result["verifier"]
            if verifier not in base_done:
                base_done.add(verifier)
                rows.append({**keys, "verifier": verifier, "model": summary["base"], "is_base": True,
                             "n_problems": result["n_problems"],
                             **_flat("pass@1", result["pass_at_1"]["base"]),
                             **_flat("pass@k_max", result["pass_at_k_max"]["base"]),
                             "solved": result["coverage"]["solved"]["base"]})
            cross = result["crossover"]
            rows.append({**keys, "verifier": verifier, "model": result["model"], "is_base": False,
                         "n_problems": result["n_problems"],
                         **_flat("pass@1", result["pass_at_1"]["other"]),
                         **_flat("pass@k_max", result["pass_at_k_max"]["other"]),
                         "solved": result["coverage"]["solved"]["other"],
                         **_difference("diff@1", result["diff_at_1"]),
                         **_difference("diff@k_max", result["diff_at_k_max"]),
                         "crossover k": cross["k"], "crossover k low": cross["k_low"],
                         "crossover k high": cross["k_high"], "crossover": cross["statement"],
                         **{f"split {name}": result["coverage"]["counts"][name] for name in SPLITS},
                         **_flat("ΔSE", result["delta_se"]), "ΔSE k": result["delta_se"]["k"]})
    except (KeyError, TypeError) as exc:
        raise UserError(f"{source}: malformed result entry ({exc.__class__.__name__}: {exc}); rerun the "
                        "compare rule") from None
    return rows


def summary_frame(summaries: list[tuple[str, dict[str, Any]]]) -> pl.DataFrame:
    """All rows of several compare JSONs (source name, parsed JSON) as one table, rounded to 4 decimals."""
    rows = [row for source, summary in summaries for row in summary_rows(summary, source)]
    if not rows:
        raise UserError("no comparison results to tabulate")
    table = pl.DataFrame(rows, infer_schema_length=None)
    return table.with_columns(pl.col(pl.Float64).round(4))
