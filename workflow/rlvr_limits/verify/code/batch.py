"""`verify_table`: every sample of one (model, benchmark) on a code benchmark, checked in parallel.

Programs are extracted from the responses, de-duplicated per problem (repeated sampling repeats programs),
and checked by a pool of sandboxes, one per worker (default: one per CPU this process may use). Timeouts are
retried once, one at a time, after the parallel pass, so that contention cannot make them final. Evalplus
tasks first run their reference solutions (in the same pool) for expected outputs and time limits.

Settings (all optional): workers, memory_mb, min_time_limit_s, time_limit_factor (evalplus limits),
prefilled (true/false: whether the prompt ended inside a ```python fence; default: detected per response).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import polars as pl

from rlvr_limits.errors import UserError
from rlvr_limits.progress import Progress
from rlvr_limits.verify.code.check import check, run_reference
from rlvr_limits.verify.code.extract import extract_code, sanitize
from rlvr_limits.verify.code.loaders import (
    EVALPLUS_MIN_TIME_LIMIT_S,
    EVALPLUS_TIME_LIMIT_FACTOR,
    code_spec,
    evalplus_task,
    humaneval_task,
    lcb_task,
)
from rlvr_limits.verify.code.sandbox import Limits, Sandbox, isolation
from rlvr_limits.verify.code.task import TIMEOUT, CodeTask, Verdict

__all__ = ["VERSION", "SandboxPool", "sidecar", "verify_table"]

VERSION = "code-1"
OUTPUT_SCHEMA = {"problem_id": pl.String, "sample_idx": pl.Int32, "verdict": pl.String, "correct": pl.Boolean,
                 "extracted": pl.String, "detail": pl.String}
_NUMBER = (int, float)
_SETTINGS: dict[str, tuple[type, ...]] = {"workers": (int,), "memory_mb": (int,), "min_time_limit_s": _NUMBER,
                                          "time_limit_factor": _NUMBER, "prefilled": (bool,)}

T = TypeVar("T")
R = TypeVar("R")


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def sidecar() -> dict[str, str]:
    """What the verdicts' sidecar should record about how programs were run."""
    return {"isolation": isolation(), "version": VERSION}


class SandboxPool:
    """`workers` sandboxes, each used by one thread at a time."""

    def __init__(self, workers: int, limits: Limits | None = None) -> None:
        self.workers = workers
        self._idle: queue.Queue[Sandbox] = queue.Queue()
        self._all = [Sandbox(limits) for _ in range(workers)]
        for box in self._all:
            self._idle.put(box)

    def map(self, fn: Callable[[Sandbox, T], R], items: Iterable[T], progress: Progress | None = None,
            workers: int | None = None) -> list[R]:
        """`fn(sandbox, item)` for every item, `workers` at a time (default all), results in item order."""
        lock = threading.Lock()

        def one(item: T) -> R:
            box = self._idle.get()
            try:
                return fn(box, item)
            finally:
                self._idle.put(box)
                if progress is not None:
                    with lock:
                        progress.update()

        with ThreadPoolExecutor(max_workers=workers or self.workers) as executor:
            return list(executor.map(one, items))

    def close(self) -> None:
        for box in self._all:
            box.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _settings(settings: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(settings) - set(_SETTINGS))
    if unknown:
        raise UserError(f"code verifier settings: unknown key(s) {unknown}; allowed: {sorted(_SETTINGS)}")
    for key, types in _SETTINGS.items():
        value = settings.get(key)
        if value is None:
            continue
        if types == (bool,):
            if not isinstance(value, bool):
                raise UserError(f"code verifier settings: `{key}` must be true or false, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, types) or value <= 0:
            raise UserError(f"code verifier settings: `{key}` must be a positive number, got {value!r}")
    return settings


def build_tasks(specs: dict[str, dict[str, Any]], pool: SandboxPool, settings: dict[str, Any],
                label: str) -> dict[str, CodeTask]:
    """CodeTasks for the problems; evalplus problems run their reference solutions in the pool."""
    tasks: dict[str, CodeTask] = {}
    evalplus = []
    for problem_id, spec in specs.items():
        if spec["kind"] == "lcb":
            tasks[problem_id] = lcb_task(spec)
        elif spec["kind"] == "humaneval":
            tasks[problem_id] = humaneval_task(spec)
        else:
            evalplus.append(problem_id)
    floor = float(settings.get("min_time_limit_s") or EVALPLUS_MIN_TIME_LIMIT_S)
    factor = float(settings.get("time_limit_factor") or EVALPLUS_TIME_LIMIT_FACTOR)

    def reference(box: Sandbox, problem_id: str) -> CodeTask:
        return evalplus_task(specs[problem_id], lambda program, probe: run_reference(program, probe, box),
                             floor, factor)

    if evalplus:
        progress = Progress(f"{label}: reference solutions", len(evalplus), "problems")
        tasks.update(zip(evalplus, pool.map(reference, evalplus, progress), strict=True))
    return tasks


def check_all(jobs: list[tuple[str | None, CodeTask]], pool: SandboxPool, label: str) -> list[Verdict]:
    """Verdicts of (program, task) jobs: a parallel pass, then each timeout once more, one at a time."""
    progress = Progress(label, len(jobs), "programs")
    verdicts = pool.map(lambda box, job: check(job[0], job[1], sandbox=box, retry_timeout=False), jobs, progress)
    again = [n for n, v in enumerate(verdicts) if v.status == TIMEOUT]
    if again:
        retry = Progress(f"{label}: timeouts, again one at a time", len(again), "programs")
        redone = pool.map(lambda box, n: check(jobs[n][0], jobs[n][1], sandbox=box, retry_timeout=False),
                          again, retry, workers=1)
        for n, verdict in zip(again, redone, strict=True):
            verdicts[n] = verdict
    return verdicts


def verify_table(problems: pl.DataFrame, samples: pl.DataFrame, benchmark: str,
                 settings: dict[str, Any]) -> pl.DataFrame:
    """One row per sample row: problem_id, sample_idx, verdict, correct, extracted (the program), detail (the
    first failing test and what went wrong, for a program that is not correct)."""
    for table, columns, name in ((problems, ("problem_id", "meta"), "problems"),
                                 (samples, ("problem_id", "sample_idx", "text"), "samples")):
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise UserError(f"{name} table: missing column(s) {missing} (has {table.columns})")
    settings = _settings(settings)
    specs: dict[str, dict[str, Any]] = {}
    for problem_id, meta in zip(problems["problem_id"].to_list(), problems["meta"].to_list(), strict=True):
        if str(problem_id) in specs:
            raise UserError(f"problems table: problem_id {problem_id} appears twice")
        specs[str(problem_id)] = code_spec(meta, str(problem_id))
    problem_ids = [str(p) for p in samples["problem_id"].to_list()]
    unknown = sorted(set(problem_ids) - set(specs))
    if unknown:
        raise UserError(f"samples table: problem_id(s) {unknown[:5]} are not in the problems table of {benchmark}")

    prefilled = settings.get("prefilled")
    extracted = [extract_code(text, prefilled) for text in samples["text"].to_list()]
    keys: list[tuple[str, str | None]] = []
    for problem_id, program in zip(problem_ids, extracted, strict=True):
        if program is not None and specs[problem_id]["kind"] == "evalplus":
            program = sanitize(program)
        keys.append((problem_id, program))
    unique = list(dict.fromkeys(keys))

    workers = int(settings.get("workers") or cpu_count())
    limits = Limits(memory_mb=settings["memory_mb"]) if settings.get("memory_mb") else Limits()
    needed = {problem_id for problem_id, program in unique if program is not None}
    with SandboxPool(workers, limits) as pool:
        tasks = build_tasks({p: specs[p] for p in needed}, pool, settings, f"verify {benchmark}")
        jobs = [(program, tasks[problem_id]) for problem_id, program in unique if program is not None]
        done = iter(check_all(jobs, pool, f"verify {benchmark}"))
    memo = {key: next(done) for key in unique if key[1] is not None}
    statuses = [memo[key].status if key[1] is not None else "no_code" for key in keys]
    details = [(memo[key].detail or None) if key[1] is not None else "no code found" for key in keys]
    return pl.DataFrame({
        "problem_id": problem_ids,
        "sample_idx": samples["sample_idx"].cast(pl.Int32),
        "verdict": statuses,
        "correct": [status == "correct" for status in statuses],
        "extracted": extracted,
        "detail": [None if status == "correct" else detail for status, detail in zip(statuses, details, strict=True)],
    }, schema=OUTPUT_SCHEMA)
