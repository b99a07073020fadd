"""`check(program, task) -> Verdict`: run one program on a task's tests in the sandbox and grade it.

Tests run in order; unless details are asked for, the first failing test stops the program (the runner is
told to stop, so a wrong program costs only the tests up to its first failure). The verdict is the class of
the first failing test: wrong, timeout, memory or error (a crash, an exception, a missing entry point, a
program that killed its runner). A timeout is retried once before it is final, because a loaded machine
makes slow-but-correct programs miss their limit.
"""

from __future__ import annotations

import signal
from typing import Any

from rlvr_limits.verify.code.compare import decode, match_functional, match_stdio
from rlvr_limits.verify.code.sandbox import Limits, Sandbox
from rlvr_limits.verify.code.task import (
    CORRECT,
    ERROR,
    MEMORY,
    NO_CODE,
    STARTUP_S,
    TIMEOUT,
    WRONG,
    CodeTask,
    Verdict,
)

PASS = "pass"
#: Runner record statuses -> verdict classes ("assert": an AssertionError in a test, i.e. a failed check).
_RECORD_STATUS = {"timeout": TIMEOUT, "memory": MEMORY, "error": ERROR, "output": WRONG, "assert": WRONG}


def job_for(program: str, task: CodeTask) -> dict[str, Any]:
    return {"mode": task.kind, "key": task.key, "program": program, "preamble": task.preamble, "suffix": task.suffix,
            "entry_point": task.entry_point, "inputs": list(task.inputs), "limits": list(task.time_limits),
            "caps": list(task.caps), "total_s": task.total_time_s, "startup_s": STARTUP_S}


class _Grader:
    """Receives the runner's records one by one and grades each test as it arrives."""

    def __init__(self, task: CodeTask, details: bool) -> None:
        self.task, self.details = task, details
        self.statuses: list[str | None] = [None] * len(task)
        self.messages: list[str] = [""] * len(task)
        self.failure: tuple[str, str] | None = None  # a failure before the first test (load, protocol)
        self.next = 0

    def __call__(self, record: dict[str, Any]) -> bool:
        if self.failure is not None:
            return False
        status = record.get("s")
        if "i" not in record:
            if status == "ready" and self.next == 0:
                return True
            self.failure = (_RECORD_STATUS.get(str(status), ERROR), str(record.get("m", "")))
            return False
        i = record["i"]
        if i != self.next:
            self.failure = (ERROR, f"record for test {i!r} out of order")
            return False
        self.next += 1
        if status == "ok":
            result = PASS if self._passes(i, record.get("v")) else WRONG
        else:
            result = _RECORD_STATUS.get(str(status), ERROR)
        self.statuses[i], self.messages[i] = result, str(record.get("m", ""))[:300]
        return result == PASS or self.details

    def _passes(self, i: int, value: Any) -> bool:
        task = self.task
        if task.kind == "stdio":
            return isinstance(value, str) and match_stdio(value, task.expected[i])
        try:
            out = decode(value)
        except (KeyError, TypeError, ValueError, IndexError, RecursionError):
            return False
        return match_functional(out, task.expected[i], task.inputs[i], task.atol, task.oracle)

    def verdict(self, end: dict[str, Any]) -> Verdict:
        n = len(self.task)
        passed = sum(s == PASS for s in self.statuses)
        if self.failure is not None:
            status, message = self.failure
            return Verdict(status, passed, n, message, self._tests(status) if self.details else None)
        unfinished = _ending_status(end)
        tests = tuple(s if s is not None else unfinished for s in self.statuses)
        for i, status in enumerate(tests):
            if status != PASS:
                detail = f"test {i}: {status}" + (f" ({self.messages[i]})" if self.messages[i] else "")
                return Verdict(status, passed, n, detail, tests if self.details else None)
        return Verdict(CORRECT, passed, n, "", tests if self.details else None)

    def _tests(self, status: str) -> tuple[str, ...]:
        return tuple(s if s is not None else status for s in self.statuses)


def _ending_status(end: dict[str, Any]) -> str:
    """The class of the tests a program did not get through, from how its run ended."""
    reason = end.get("end")
    if reason == "timeout" or end.get("signal") == signal.SIGXCPU:
        return TIMEOUT
    if reason == "output":
        return WRONG
    return ERROR


def run_once(program: str, task: CodeTask, sandbox: Sandbox, details: bool = False) -> Verdict:
    """One run of `program` on `task` in `sandbox`, no retry."""
    grader = _Grader(task, details)
    end = sandbox.run(job_for(program, task), grader)
    return grader.verdict(end)


def check(program: str | None, task: CodeTask, *, details: bool = False, sandbox: Sandbox | None = None,
          limits: Limits | None = None, retry_timeout: bool = True) -> Verdict:
    """Grade `program` on `task` (see the module docstring). Without `sandbox` a fresh one is used."""
    if program is None or not program.strip():
        return Verdict(NO_CODE, 0, len(task), "no code found")
    own = sandbox is None
    box = sandbox if sandbox is not None else Sandbox(limits)
    try:
        verdict = run_once(program, task, box, details)
        if verdict.status == TIMEOUT and retry_timeout:
            verdict = run_once(program, task, box, details)
        return verdict
    finally:
        if own:
            box.close()


class ReferenceFailure(RuntimeError):
    """A benchmark's reference solution failed on one of its own inputs."""


def run_reference(program: str, task: CodeTask, sandbox: Sandbox) -> tuple[list[Any], list[float]]:
    """Return values and run times of a trusted reference solution on every input of `task`."""
    values: list[Any] = []
    times: list[float] = []
    failure: list[str] = []

    def collect(record: dict[str, Any]) -> bool:
        if "i" not in record:
            if record.get("s") == "ready":
                return True
            failure.append(f"{record.get('s')}: {record.get('m')}")
            return False
        if record.get("s") != "ok" or record["i"] != len(values):
            failure.append(f"input {record.get('i')}: {record.get('s')} {record.get('m', '')}")
            return False
        values.append(decode(record["v"]))
        times.append(float(record["t"]))
        return True

    end = sandbox.run(job_for(program, task), collect)
    if failure or len(values) != len(task):
        reason = failure[0] if failure else f"run ended ({end.get('end')}) after {len(values)} inputs"
        raise ReferenceFailure(f"{task.task_id}: the reference solution failed: {reason}")
    return values, times
