"""`verify_table`: every sample of one (model, benchmark), as the workflow's `verify` rule needs it.

A sample whose `finish_reason` is "length" (cut at the token limit) gets no last-number fallback. Every sample
is verified in a worker process under the deadline `settings["timeout_s"]` (a sample past it is a `timeout`
verdict and the next one goes on); the symbolic workers start only when the first comparison that needs them
turns up, and meanwhile the fast path goes on.

Each gold is parsed once per worker. Verdicts are memoized by (gold, cleaned answer) within a verifier
version: sampling repeats answers, so a benchmark of N problems × n samples usually needs far fewer than N·n
comparisons. The comparisons that need sympy are collected, de-duplicated and run in a pool of worker
processes (`settings["workers"]`, each capped at `settings["memory_mb"]`).

A problem's stated tolerance comes from its `meta`: OlympiadBench's `error`, or MathVista's `precision` of a
`float` answer (`_tolerance`); a `text` answer is compared as a word (`_typed_gold`).
"""

from __future__ import annotations

import atexit
import json
import threading
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import polars as pl

from rlvr_limits.errors import UserError
from rlvr_limits.progress import LOG
from rlvr_limits.verify.math.checker import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, Checker, Task
from rlvr_limits.verify.math.pool import cpu_count
from rlvr_limits.verify.math.verdict import CORRECT, TIMEOUT, VERSION

__all__ = ["VERSION", "verify_table"]

OUTPUT_SCHEMA = {"problem_id": pl.String, "sample_idx": pl.Int32, "verdict": pl.String, "correct": pl.Boolean,
                 "extracted": pl.String, "seconds": pl.Float64}
MAX_EXTRACTED_CHARS = 2000  # the table keeps the start of a runaway answer, not all of it
_SETTINGS = {"timeout_s": (int, float), "memory_mb": (int,), "workers": (int,)}


def _settings(settings: dict[str, Any]) -> tuple[float, int, int]:
    unknown = sorted(set(settings) - set(_SETTINGS))
    if unknown:
        raise UserError(f"math verifier settings: unknown key(s) {unknown}; allowed: {sorted(_SETTINGS)}")
    for key, types in _SETTINGS.items():
        value = settings.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, types) or value <= 0):
            raise UserError(f"math verifier settings: `{key}` must be a positive number, got {value!r}")
    workers = settings.get("workers") or max(1, cpu_count() - 1)
    return (float(settings.get("timeout_s") or DEFAULT_TIMEOUT_S), int(settings.get("memory_mb") or
            DEFAULT_MEMORY_MB), int(workers))


def _require(df: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UserError(f"{what} table: missing column(s) {missing} (has {df.columns})")


def _tolerance(meta: str | None, problem_id: str, answer_type: str | None = None) -> Fraction | None:
    """The absolute error allowed around a numeric gold, when the problem states one: OlympiadBench's `error`
    field, or for a `float` answer with a stated `precision` (MathVista: decimal places) half a unit in its
    last place, so that an answer rounding to the gold at that precision is accepted (2.46 for 2.5 at one
    decimal place, not 2.56)."""
    if not meta:
        return None
    try:
        fields = json.loads(meta)
        value = fields.get("error")
    except (json.JSONDecodeError, AttributeError):
        raise UserError(f"problems table, problem {problem_id}: `meta` is not a JSON object") from None
    if answer_type == "float" and fields.get("precision") is not None:
        return _half_unit(fields["precision"], problem_id)
    if value in (None, "", "None"):
        return None
    try:
        tolerance = Fraction(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        raise UserError(f"problems table, problem {problem_id}: meta `error` must be a number, got {value!r}") \
            from None
    return tolerance if tolerance > 0 else None


def _half_unit(precision: Any, problem_id: str) -> Fraction:
    if isinstance(precision, bool) or not isinstance(precision, int | float) or precision != int(precision) \
            or not 0 <= precision <= 12:
        raise UserError(f"problems table, problem {problem_id}: meta `precision` (decimal places of a float "
                        f"answer) must be a whole number from 0 to 12, got {precision!r}")
    return Fraction(1, 2 * 10 ** int(precision))


def _golds(problems: pl.DataFrame) -> dict[str, tuple[str, Fraction | None]]:
    """problem_id -> (gold answer, tolerance); parsing the gold is left to the workers, under the deadline."""
    golds: dict[str, tuple[str, Fraction | None]] = {}
    metas = problems["meta"].to_list() if "meta" in problems.columns else [None] * problems.height
    kinds = problems["answer_type"].to_list() if "answer_type" in problems.columns else [None] * problems.height
    for problem_id, answer, meta, kind in zip(problems["problem_id"].to_list(), problems["answer"].to_list(),
                                              metas, kinds, strict=True):
        problem_id = str(problem_id)
        if problem_id in golds:
            raise UserError(f"problems table: problem_id {problem_id} appears twice")
        if answer is None or not str(answer).strip():
            raise UserError(f"problems table, problem {problem_id}: empty `answer`")
        golds[problem_id] = (_typed_gold(str(answer), kind), _tolerance(meta, problem_id, kind))
    return golds


def _typed_gold(answer: str, answer_type: str | None) -> str:
    """The gold as the verifier should read it: a `text` answer (MathVista's word answers, e.g. `blue`) is a
    word, compared without case, not a product of variables."""
    if answer_type == "text" and not set("{}\\$") & set(answer):
        return f"\\text{{{answer}}}"
    return answer


_CHECKERS: dict[tuple[float, int, int], Checker] = {}
_CHECKERS_LOCK = threading.Lock()


def _checker(timeout_s: float, memory_mb: int, workers: int) -> Checker:
    """One checker (and worker pools) per settings, reused by later calls in this process."""
    key = (timeout_s, memory_mb, workers)
    with _CHECKERS_LOCK:
        if key not in _CHECKERS:
            _CHECKERS[key] = Checker(timeout_s, memory_mb, workers, warm_up=True)
            atexit.register(_CHECKERS[key].close)
        return _CHECKERS[key]


def verify_table(problems: pl.DataFrame, samples: pl.DataFrame, benchmark: str,
                 settings: dict[str, Any]) -> pl.DataFrame:
    """One row per sample row: problem_id, sample_idx, verdict, correct, extracted, seconds (the time its
    verification took)."""
    _require(problems, ("problem_id", "answer"), "problems")
    _require(samples, ("problem_id", "sample_idx", "text"), "samples")
    timeout_s, memory_mb, workers = _settings(settings)
    golds = _golds(problems)
    problem_ids = [str(p) for p in samples["problem_id"].to_list()]
    texts = samples["text"].to_list()
    truncated = (samples["finish_reason"] == "length").fill_null(False).to_list() if (
        "finish_reason" in samples.columns) else [False] * samples.height
    unknown = sorted(set(problem_ids) - set(golds))
    if unknown:
        raise UserError(f"samples table: problem_id(s) {unknown[:5]} are not in the problems table of {benchmark}")

    tasks: list[Task] = [(text or "", golds[problem_id][0], benchmark, golds[problem_id][1], bool(cut))
                         for problem_id, text, cut in zip(problem_ids, texts, truncated, strict=True)]
    checked = _checker(timeout_s, memory_mb, workers).verify_many(tasks, label=f"verify {benchmark}")
    statuses = [c.status for c in checked]
    seconds = [c.seconds for c in checked]
    timeouts = statuses.count(TIMEOUT)
    if checked:
        LOG.info("verify %s: slowest sample %.3f s; %d of %d reached the deadline of %g s", benchmark,
                 max(seconds), timeouts, len(checked), timeout_s)
    return pl.DataFrame({
        "problem_id": problem_ids,
        "sample_idx": samples["sample_idx"].cast(pl.Int32),
        "verdict": statuses,
        "correct": [status == CORRECT for status in statuses],
        "extracted": [None if c.answer is None else c.answer[:MAX_EXTRACTED_CHARS] for c in checked],
        "seconds": seconds,
    }, schema=OUTPUT_SCHEMA)
