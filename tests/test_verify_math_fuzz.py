"""Adversarial text, inside and outside boxes, never hangs, breaks or fools the math verifier.

Each family is text a model can write and that stresses one part of the verifier: long runs of letters,
digits, dots, unit words, `\\cdot`, `/`, `^{2}`, braces, prose with numbers, and a number followed by units
(the shape that once made the unit regex backtrack forever). Each is placed as the whole response, inside a
box, after an answer marker and after a number in a box, against a numeric gold (so that the last-number
fallback runs), a symbolic gold, and as the gold itself. The texts are seeded, and none of them holds an answer
equal to its gold: every verdict must be anything but `correct`, come back without an internal error, and
within the deadline. Then each family at 100 kB must be verified in less than the deadline.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest

from rlvr_limits.verify.math import Checker
from rlvr_limits.verify.math.verdict import STATUSES, TIMEOUT

DEADLINE_S = 2.0
GOLD = "28"  # never written, standing alone, by any family
WORDS = ("the", "value", "of", "this", "is", "and", "so", "we", "get", "a", "total", "percent", "loss", "from",
         "Monday", "to", "Tuesday", "in", "dollars", "meters", "answer", "final", "step")


def letters(rng: random.Random, size: int) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzAXYZ") for _ in range(size))


def digits(rng: random.Random, size: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(size))


def _pieces(pieces: tuple[str, ...]) -> Callable[[random.Random, int], str]:
    def family(rng: random.Random, size: int) -> str:
        out, length = [], 0
        while length < size:
            out.append(rng.choice(pieces))
            length += len(out[-1])
        return "".join(out)
    return family


def prose(rng: random.Random, size: int) -> str:
    out, length = [], 0
    while length < size:
        word = rng.choice(WORDS) if rng.random() < 0.8 else str(rng.choice([n for n in range(1, 1000) if n != 28]))
        out.append(word)
        length += len(word) + 1
    return " ".join(out)


FAMILIES: dict[str, Callable[[random.Random, int], str]] = {
    "letters": letters,
    "digits": digits,
    "dots": _pieces((".", "..", "1.", "3.14")),
    "unit words": _pieces(("cm", "meters", "dollars", "kg", "m/s", "hr", " miles", "km")),
    "cdot": _pieces(("\\cdot", "\\cdot ", "a", "b", " ")),
    "slashes": _pieces(("/", "a", "/b", "1/")),
    "powers": _pieces(("^{2}", "x", "^2", "y^{-1}")),
    "braces": _pieces(("{", "}", "\\{", "\\}", "{a}", "x")),
    "prose with numbers": prose,
    "a number and its units": lambda rng, size: "72." + _pieces(("cm", "a", "/", "\\cdot", ".", "^{2}", "kg"))(
        rng, size),
}
PLACES: dict[str, Callable[[str], str]] = {
    "alone": lambda text: text,
    "in a box": lambda text: f"The final answer is $\\boxed{{{text}}}$.",
    "after a marker": lambda text: f"The answer is {text}",
    "after a number in a box": lambda text: f"So the final answer is $\\boxed{{72.{text}\\x}}$.",
}


@pytest.fixture(scope="module")
def checker():
    checker = Checker(timeout_s=DEADLINE_S, workers=1, warm_up=True)
    checker.warm()
    yield checker
    checker.close()


def _timed(checker: Checker, response: str, gold: str) -> tuple[str, str, float]:
    started = time.monotonic()
    verdict = checker.verify(response, gold)
    return verdict.status, verdict.reason, time.monotonic() - started


@pytest.mark.parametrize("family", list(FAMILIES))
def test_fuzzed_text_is_never_correct_and_never_breaks(checker: Checker, family: str) -> None:
    rng = random.Random(family)
    for size in (40, 400, 3000):
        text = FAMILIES[family](rng, size)
        for place, wrap in PLACES.items():
            for response, gold in ((wrap(text), GOLD), (wrap(text), "\\frac{1}{2}"), (f"\\boxed{{{GOLD}}}", text)):
                checker.warm()  # a worker replaced after a deadline starts outside the timed call
                status, reason, seconds = _timed(checker, response, gold)
                case = (family, size, place, gold[:40], status, reason)
                assert status in STATUSES and status != "correct", case
                assert not reason.startswith("internal error"), case
                assert seconds < DEADLINE_S + 0.5, (case, seconds)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_100_kB_of_each_family_is_verified_within_the_deadline(checker: Checker, family: str) -> None:
    text = FAMILIES[family](random.Random(0), 100_000)
    for place, wrap in PLACES.items():
        checker.warm()
        status, reason, seconds = _timed(checker, wrap(text), GOLD)
        assert status != TIMEOUT and seconds < DEADLINE_S, (family, place, status, reason, seconds)
        assert status != "correct", (family, place)
