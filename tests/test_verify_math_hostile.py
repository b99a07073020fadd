"""Hostile inputs return quickly with a verdict, within a memory budget; fuzzed input never breaks `verify`.

The worker process is started before the timed checks (its start-up is a one-time cost, not part of a check).
"""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlvr_limits.verify.math import Checker
from rlvr_limits.verify.math.verdict import STATUSES

TOWER = "5^{(5^{(5^{(5^5)})}-4)}"
GiB = 1 << 30


def boxed(answer: str) -> str:
    return f"The final answer is $\\boxed{{{answer}}}$."


def garbage(size: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    alphabet = "0123456789abcxyz{}()[]^_\\$,.=+-*/ !\n" + "\\frac" + "\\boxed{" + "\\sqrt"
    return "".join(rng.choice(alphabet) for _ in range(size))


def nested_frac(depth: int) -> str:
    return "\\frac{1}{" * depth + "2" + "}" * depth


HOSTILE = {
    "power tower answer": (boxed(TOWER), "5"),
    "power tower gold": (boxed("5"), TOWER),
    "power tower on both sides": (boxed(TOWER), TOWER),
    "power tower in a fraction (Math-Verify #65)": (boxed(f"\\dfrac{{{TOWER}-5}}{{16}}"), "3"),
    "10^6-digit integer": (boxed("9" * 10**6), "5"),
    "10^6-digit integer as the last number": ("we get " + "9" * 10**6, "5"),
    "10^6-digit integer gold": (boxed("5"), "9" * 10**6),
    "200 kB garbage": (garbage(200_000), "\\frac{1}{2}"),
    "200 kB garbage in a box": ("\\boxed{" + garbage(200_000, 1) + "}", "7"),
    "10 000 unclosed boxes": ("\\boxed{" * 10_000 + "1", "1"),
    "10 000 nested braces": (boxed("{" * 10_000 + "1" + "}" * 10_000), "1"),
    "1 900 nested braces": (boxed("{" * 1_900 + "1" + "}" * 1_900), "1"),
    "10 000 nested parentheses": (boxed("(" * 10_000 + "1" + ")" * 10_000), "1"),
    "600 nested text commands": (boxed("\\text{" * 600 + "1" + "}" * 600), "1"),
    "nested frac chain": (boxed(nested_frac(300)), "1"),
    "deep frac chain under the length limit": (boxed(nested_frac(120)), "1"),
    "long frac product": (boxed("\\frac{1}{2}" * 350), "0"),
    "2000 minus signs": (boxed("-" * 2_000 + "1"), "1"),
    "huge factorial": (boxed("(10^{9})!"), "5"),
    "exponent of a huge power": (boxed("2^{2^{40}}"), "5"),
    "slow symbolic sum": (boxed("\\sum_{k=1}^{10^{5}} k^{k}"), "5"),
}


#: identical answers need no evaluation; 1 900 braces fit the limits (the "1" after 10 000 unclosed boxes is
#: inside a brace, not a number standing alone)
SHOULD_BE_CORRECT = {"power tower on both sides", "1 900 nested braces"}
SHOULD_NOT_BE_CORRECT = set(HOSTILE) - SHOULD_BE_CORRECT - {"10 000 nested braces", "10 000 nested parentheses",
                                                             "600 nested text commands", "2000 minus signs"}


@pytest.fixture(scope="module")
def checker():
    checker = Checker(timeout_s=2.0, workers=1)
    checker.warm()
    yield checker
    checker.close()


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_input_returns_quickly(name: str, checker: Checker) -> None:
    response, gold = HOSTILE[name]
    checker.warm()  # a worker killed by an earlier deadline is replaced before this check is timed
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.monotonic()
    verdict = checker.verify(response, gold)
    elapsed = time.monotonic() - started
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    assert elapsed < 3.0, (name, elapsed, verdict)
    assert grown < GiB, (name, grown)
    assert verdict.status in STATUSES
    assert not verdict.reason.startswith("internal"), verdict
    if name in SHOULD_BE_CORRECT:
        assert verdict.correct, verdict
    elif name in SHOULD_NOT_BE_CORRECT:
        assert not verdict.correct, verdict


PROSE = ("72. The overall percent loss in value from the beginning of Monday to the end of Tuesday is "
         "\\begin{align*}")
#: (response, gold, verdict, why): inputs that once backtracked for seconds to forever in the unit regex
BACKTRACKING = [
    ("So the final answer is $\\boxed{72." + "a" * 26 + "\\x}$.", "28", "wrong", "26 letters after a number"),
    ("So the final answer is $\\boxed{72." + "a" * 1500 + "\\x}$.", "28", "wrong", "1500 letters after a number"),
    (boxed(PROSE), "28", "wrong", "prose in a box"),
    (boxed("28"), PROSE, "wrong", "prose as the gold"),
    (boxed("7" + "cm" * 1500 + "!"), "7", "wrong", "a unit word repeated, then a stray character"),
]


@pytest.mark.parametrize(("response", "gold", "expected", "why"), BACKTRACKING, ids=[c[3] for c in BACKTRACKING])
def test_text_that_made_the_unit_regex_backtrack(checker: Checker, response: str, gold: str, expected: str,
                                                  why: str) -> None:
    checker.warm()
    started = time.monotonic()
    verdict = checker.verify(response, gold)
    assert time.monotonic() - started < checker.timeout_s, why
    assert verdict.status == expected, (why, verdict)


def test_the_deadline_holds_when_a_regex_regresses(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers are started with the unit regex of an older release (exponential on letters after a number,
    put back by a sitecustomize module): the verification is cut at the deadline, and the next one goes on."""
    (tmp_path / "sitecustomize.py").write_text(
        "import re\n"
        "from rlvr_limits.verify.math import normalize\n"
        "normalize._NUMBER_WITH_UNITS = re.compile(\n"
        "    r'\\{?([+-]?(?:\\d{1,3}(?:,\\d{3})+(?:\\.\\d*)?|\\d+(?:\\.\\d*)?|\\.\\d+)(?:e[+-]?\\d+)?)\\}?'\n"
        "    r'((?:[a-zA-Z]+(?:\\^\\{?-?\\d\\}?)?|/|\\\\cdot|\\.)+)')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    regressed = Checker(timeout_s=1.0, workers=1)
    try:
        regressed.warm()
        started = time.monotonic()
        verdict = regressed.verify(BACKTRACKING[0][0] + "a" * 40, "28")
        elapsed = time.monotonic() - started
        assert verdict.status == "timeout" and "exceeded 1 s" in verdict.reason, verdict
        assert elapsed < 1.5, elapsed
        assert regressed.verify(boxed("28"), "28").correct  # a fresh worker takes the next response
        # in a batch, only the stuck response is a timeout: those whose results died with the worker run again
        stuck = BACKTRACKING[0][0] + "a" * 40
        tasks = [(boxed(str(i)), str(i), None, None, False) for i in range(300)]
        tasks[150] = (stuck, "28", None, None, False)
        statuses = [outcome.status for outcome in regressed.verify_many(tasks)]
        assert statuses == ["correct"] * 150 + ["timeout"] + ["correct"] * 149
    finally:
        regressed.close()


def test_a_dead_response_worker_is_an_error_not_a_crash(checker: Checker) -> None:
    checker.warm()
    for pid in checker.responses.pids():
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    verdict = checker.verify(boxed("6"), "6")
    assert verdict.status == "error" and "worker" in verdict.reason
    assert checker.verify(boxed("6"), "6").correct


def test_deadline_kills_a_stuck_check_and_the_pool_recovers(checker: Checker) -> None:
    checker.warm()
    started = time.monotonic()
    verdict = checker.verify(boxed("\\sum_{k=1}^{10^{6}} \\sin(k)"), "5")
    assert verdict.status == "timeout" and time.monotonic() - started < 3.0
    assert checker.verify(boxed("2^10"), "1024").correct


def test_a_dead_worker_is_an_error_not_a_crash(checker: Checker) -> None:
    checker.warm()
    for pid in checker.symbolic.pids():
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    verdict = checker.verify(boxed("\\sum_{k=1}^{3} k"), "7")
    assert verdict.status == "error" and "worker" in verdict.reason
    assert checker.verify(boxed("\\sum_{k=1}^{3} k"), "6").correct


def test_worker_memory_cap() -> None:
    """A worker caps its address space at its size plus memory_mb, so a runaway allocation fails in it."""
    code = ("from rlvr_limits.verify.math.worker import limit_memory\n"
            "limit_memory(64)\n"
            "block = bytearray(512 * 1024 * 1024)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "MemoryError" in result.stderr


TOKENS = ["0", "1", "2", "7", "42", "3.5", "x", "y", "e", "i", "\\pi", "\\infty", "+", "-", "*", "/", "^", "_",
          "!", "=", "<", ",", ";", ".", "%", "(", ")", "[", "]", "{", "}", "\\{", "\\}", "\\frac", "\\dfrac",
          "\\sqrt", "\\boxed{", "\\left(", "\\right)", "\\cdot", "\\times", "\\text{", "^\\circ", "\\cup", "\\pm",
          "\\le", "\\in", "$", " ", "\\begin{pmatrix}", "\\end{pmatrix}", "&", "\\\\", "\\sin", "\\log", "\\ln",
          "\\binom", "|", "\\lfloor", "\\rfloor", "\\sum_", "\\int", "\\lim", "\\infty", "</think>",
          "The answer is", "Answer:", "\n"]
latexish = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@pytest.fixture(scope="module")
def fuzz_checker():
    checker = Checker(timeout_s=0.5, workers=1)
    yield checker
    checker.close()


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(response=latexish, gold=st.one_of(latexish, st.sampled_from(["5", "\\frac{1}{2}", "(1,2)", "x^2+1"])))
def test_fuzz_never_breaks_verify(fuzz_checker: Checker, response: str, gold: str) -> None:
    verdict = fuzz_checker.verify(response, gold)
    assert verdict.status in STATUSES
    assert not verdict.reason.startswith("internal error"), verdict
