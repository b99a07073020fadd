"""What a code check needs (`CodeTask`) and what it says (`Verdict`).

Two kinds of task, one internal format for HumanEval+, MBPP+ and LiveCodeBench:
- functional: call `entry_point(*args)` for each test and compare the return value (evalplus, LiveCodeBench
  LeetCode problems). `atol=None` means exact equality after tuple->list normalization (LiveCodeBench);
  a number turns on evalplus's float rule with that tolerance. `oracle` names one of evalplus's special
  oracles (`compare.ORACLES`).
- stdio: run the program with the test's input on stdin and compare stdout line by line (LiveCodeBench).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rlvr_limits.errors import UserError
from rlvr_limits.verify.code.compare import FIND_ZERO, ORACLES

CORRECT, WRONG, TIMEOUT, MEMORY, ERROR, NO_CODE = "correct", "wrong", "timeout", "memory", "error", "no_code"
STATUSES = (CORRECT, WRONG, TIMEOUT, MEMORY, ERROR, NO_CODE)

#: Seconds allowed for the program's own module-level code (imports, definitions) before the first test.
STARTUP_S = 10.0
#: Smallest per-test cap on what a program may return or print, in bytes.
MIN_OUTPUT_CAP = 1 << 20


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check; `tests` holds per-test statuses when details were asked for."""

    status: str
    passed: int = 0
    total: int = 0
    detail: str = ""
    tests: tuple[str, ...] | None = None

    @property
    def correct(self) -> bool:
        return self.status == CORRECT


@dataclass(frozen=True, eq=False)
class CodeTask:
    kind: str
    inputs: tuple[Any, ...]
    expected: tuple[Any, ...]
    time_limits: tuple[float, ...]
    total_time_s: float
    entry_point: str | None = None
    atol: float | None = None
    oracle: str | None = None
    preamble: str = ""
    suffix: str = ""
    task_id: str = ""
    key: str = field(default="")
    caps: tuple[int, ...] = ()

    @classmethod
    def functional(cls, entry_point: str, tests: Sequence[tuple[Sequence[Any], Any]], time_limit_s: float, *,
                   time_limits: Sequence[float] | None = None, total_time_s: float | None = None,
                   atol: float | None = None, oracle: str | None = None, preamble: str = "",
                   suffix: str = "", task_id: str = "", min_output_cap: int = MIN_OUTPUT_CAP) -> CodeTask:
        """`tests` are (positional arguments, expected return value) pairs.

        `preamble` runs before the program and `suffix` after it, in the same module (e.g. a benchmark's own
        test function that the entry point then calls).
        """
        if not isinstance(entry_point, str) or not entry_point.isidentifier():
            raise UserError(f"code task {task_id or '?'}: entry point must be a Python identifier, "
                            f"got {entry_point!r}")
        if oracle is not None and oracle not in ORACLES and oracle != FIND_ZERO:
            raise UserError(f"code task {task_id or entry_point}: unknown oracle {oracle!r} "
                            f"(known: {', '.join(sorted([*ORACLES, FIND_ZERO]))})")
        if atol is not None and (not isinstance(atol, int | float) or not math.isfinite(atol) or atol < 0):
            raise UserError(f"code task {task_id or entry_point}: atol must be a number >= 0, got {atol!r}")
        inputs, expected = [], []
        for n, test in enumerate(tests):
            if not isinstance(test, Sequence) or len(test) != 2 or not isinstance(test[0], Sequence) \
                    or isinstance(test[0], str | bytes):
                raise UserError(f"code task {task_id or entry_point}: test {n} must be (arguments, expected) "
                                "with the arguments as a list or tuple")
            inputs.append(tuple(test[0]))
            expected.append(test[1])
        return cls._make("functional", inputs, expected, time_limit_s, time_limits, total_time_s,
                         min_output_cap, entry_point=entry_point, atol=atol, oracle=oracle, preamble=preamble,
                         suffix=suffix, task_id=task_id)

    @classmethod
    def stdio(cls, tests: Sequence[tuple[str, str]], time_limit_s: float, *,
              time_limits: Sequence[float] | None = None, total_time_s: float | None = None,
              preamble: str = "", task_id: str = "") -> CodeTask:
        """`tests` are (stdin text, expected stdout text) pairs."""
        for n, test in enumerate(tests):
            if not isinstance(test, Sequence) or len(test) != 2 or not all(isinstance(t, str) for t in test):
                raise UserError(f"code task {task_id or '?'}: stdin test {n} must be a pair of strings")
        return cls._make("stdio", [t[0] for t in tests], [t[1] for t in tests], time_limit_s, time_limits,
                         total_time_s, MIN_OUTPUT_CAP, preamble=preamble, task_id=task_id)

    @classmethod
    def _make(cls, kind: str, inputs: list[Any], expected: list[Any], time_limit_s: float,
              time_limits: Sequence[float] | None, total_time_s: float | None, min_output_cap: int,
              **kw: Any) -> CodeTask:
        where = f"code task {kw.get('task_id') or kw.get('entry_point') or '?'}"
        if not inputs:
            raise UserError(f"{where}: no tests")
        limits = list(time_limits) if time_limits is not None else [time_limit_s] * len(inputs)
        if len(limits) != len(inputs):
            raise UserError(f"{where}: {len(limits)} time limits for {len(inputs)} tests")
        for value in [*limits, time_limit_s] + ([total_time_s] if total_time_s is not None else []):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
                raise UserError(f"{where}: time limits must be positive numbers of seconds, got {value!r}")
        total = float(total_time_s) if total_time_s is not None else float(sum(limits)) + 1.0
        task = cls(kind=kind, inputs=tuple(inputs), expected=tuple(expected),
                   time_limits=tuple(float(x) for x in limits), total_time_s=total, **kw)
        digest = hashlib.sha256(repr((kind, kw.get("task_id"), task.inputs)).encode()).hexdigest()[:16]
        object.__setattr__(task, "key", digest)
        # A program may return or print 4x the expected size beyond `min_output_cap`, per test.
        caps = tuple(min_output_cap + 4 * len(e if isinstance(e, str) else repr(e)) for e in task.expected)
        object.__setattr__(task, "caps", caps)
        return task

    def __len__(self) -> int:
        return len(self.inputs)
