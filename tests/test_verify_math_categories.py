"""The answer forms real responses use where a careful grader accepts them, one rule per category, each tried on
real golds of the benchmarks (tests/data/math, the import example's MATH problems) with the right answer in
another form and with wrong answers that must stay wrong."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from rlvr_limits.verify.math import verify
from rlvr_limits.verify.math.gold import gold_from_record

ROOT = Path(__file__).resolve().parents[1]


@cache
def gold(benchmark: str, index: int) -> str:
    """The real gold of a problem, taken as the study's code takes it."""
    if benchmark == "math_test":  # the first 100 MATH test problems (resources/import-example)
        path, loader = ROOT / "resources" / "import-example" / "math_cot_100.jsonl", "math500"
    else:
        path, loader = ROOT / "tests" / "data" / "math" / benchmark / "test.jsonl", benchmark
    with open(path, encoding="utf-8") as handle:
        for i, line in enumerate(handle):
            if i == index:
                return gold_from_record(loader, json.loads(line))
    raise IndexError(index)


def status(answer: str, benchmark: str, index: int, verifier_benchmark: str | None = None) -> str:
    response = f"Working through it step by step.\n\nThe final answer is $\\boxed{{{answer}}}$."
    return verify(response, gold(benchmark, index), verifier_benchmark or benchmark).status


# (benchmark, problem, answer, expected) per category
COARSE_NUMBERS = [  # Minerva's golds are rounded physics values
    ("minerva_math", 1, "4.49\\times10^{33}", "correct"),   # gold 4.5e33: rounds to it
    ("minerva_math", 1, "4.6\\times10^{33}", "wrong"),      # the two roundings only touch
    ("minerva_math", 10, "3.826\\times10^{35}", "correct"),  # gold 3.83e35
    ("minerva_math", 10, "3.8\\times10^{35}", "wrong"),     # 2 significant figures for a 3-figure gold
    ("minerva_math", 55, "0.598", "correct"),               # gold 0.5978, the answer at 3 figures
    ("minerva_math", 55, "0.60", "wrong"),                  # 2 figures are too few
    ("minerva_math", 55, "0.597", "wrong"),                 # not a rounding of the gold's value
    ("minerva_math", 209, "927.5", "correct"),              # gold 928 (Celsius from 1200 K): an integer rounding
    ("minerva_math", 210, "928", "correct"),                # gold 927.5: the two roundings overlap
    ("minerva_math", 130, "99.9", "wrong"),                 # gold 100, the natural frequency, exactly; 99.9 is
    ("minerva_math", 133, "100", "wrong"),                  # the damped one (gold of 133): neither is the other
    ("minerva_math", 65, "4.03", "wrong"),                  # gold 4 = |z^2|: a one-figure integer is exact
    ("minerva_math", 19, "10.1", "wrong"),                  # gold 10, an apparent magnitude: exact
    ("minerva_math", 130, "100.0", "correct"),
]
CONSTANTS = [  # arbitrary constants named otherwise
    ("minerva_math", 97, "y = \\left(\\frac{t^2}{2} - t + K\\right)e^{-t}", "correct"),  # gold ... + C
    ("minerva_math", 97, "\\left(\\frac{t^2}{2} - t + K\\right)e^{t}", "wrong"),
    ("minerva_math", 101, "c_2\\cos(2t) + c_1\\sin(2t) - \\frac{\\sin(3t)}{5}", "correct"),
    ("minerva_math", 101, "c_1\\cos(2t) + c_2\\cos(2t) - \\frac{\\sin(3t)}{5}", "wrong"),
    ("minerva_math", 108, "\\frac{e^{2it}}{2+2i} + Ke^{-2t}", "correct"),
    ("minerva_math", 108, "\\frac{e^{2it}}{2+2i} + Ae^{-2t}", "wrong"),  # only C and K name arbitrary constants
]
SET_BUILDER = [  # gold (3,4]
    ("math500", 103, "\\{x \\mid 3 < x \\le 4\\}", "correct"),
    ("math500", 103, "\\{y | 3 < y \\leq 4\\}", "correct"),
    ("math500", 103, "\\{x : 3 \\le x \\le 4\\}", "wrong"),
]
BINOMIALS = [  # gold \binom{2n}{n}
    ("olympiadbench", 8, "C_{2n}^{n}", "correct"),
    ("olympiadbench", 8, "C^{n}_{2n}", "correct"),
    ("olympiadbench", 8, "\\frac{(2n)!}{(n!)^2}", "correct"),
    ("olympiadbench", 8, "C_{2n}^{n+1}", "wrong"),
]
MULTI_PART = [  # gold 1,-2: each part boxed where the response finds it
    ("math500", 25, "BOXES:1|-2", "correct"),
    ("math500", 25, "BOXES:1|2", "wrong"),
]
UNITS = [
    ("math500", 467, "15", "correct"),                      # gold 15\mbox{ cm}^2
    ("math500", 467, "15\\;cm^{2}", "correct"),
    ("math500", 166, "\\frac{270}{7}", "correct"),          # gold \frac{270}7\text{ degrees}
    ("minerva_math", 1, "4.5\\times 10^{33}\\,\\mathrm{J}", "correct"),
    ("minerva_math", 55, "0.5978\\,\\AA", "correct"),
]
TIMES = [  # gold \text{4:30 p.m.}
    ("math_test", 3, "4:30 \\text{ p.m.}", "correct"),
    ("math_test", 3, "4:30pm", "correct"),
    ("math_test", 3, "16:30", "correct"),
    ("math_test", 3, "4:30 \\text{a.m.}", "wrong"),
    ("math_test", 3, "5:30 \\text{ p.m.}", "wrong"),
]
INITIAL_VALUES = [  # gold I(0) e^{-\frac{t}{R C}}
    ("minerva_math", 86, "I_0 e^{-t/(RC)}", "correct"),
    ("minerva_math", 86, "I_{0}e^{-\\frac{t}{RC}}", "correct"),
    ("minerva_math", 61, "I_0", "correct"),                 # gold I(0)
    ("minerva_math", 86, "V_0 e^{-t/(RC)}", "wrong"),
]
FUNCTION_NAMES = [  # gold I(0) e^{-t/RC}, named on the left
    ("minerva_math", 86, "I^{\\prime}(t) = I(0)e^{-t/(RC)}", "wrong"),  # a derivative is not a name
    ("minerva_math", 86, "I^{c}(t) = I(0)e^{-t/(RC)}", "correct"),
]
ORDINALS = [  # an integer gold
    ("gsm8k", 0, "18th", "correct"),                        # gold 18
    ("gsm8k", 0, "18st", "wrong"),                          # not an ordinal of 18
    ("gsm8k", 0, "\\text{Eighteenth}", "correct"),
]


def boxes(parts: list[str]) -> str:
    """A multi-part answer boxed part by part, with prose between."""
    return "".join(f"For part {i + 1}, the value is $\\boxed{{{p}}}$.\n\n" for i, p in enumerate(parts))


@pytest.mark.parametrize("benchmark,index,answer,expected", [
    *COARSE_NUMBERS, *CONSTANTS, *SET_BUILDER, *BINOMIALS, *UNITS, *TIMES, *INITIAL_VALUES, *FUNCTION_NAMES,
    *ORDINALS])
def test_category(benchmark: str, index: int, answer: str, expected: str) -> None:
    verifier_benchmark = "math500" if benchmark == "math_test" else None
    assert status(answer, benchmark, index, verifier_benchmark) == expected, gold(benchmark, index)


@pytest.mark.parametrize("benchmark,index,answer,expected", MULTI_PART)
def test_multi_part_answers_boxed_part_by_part(benchmark: str, index: int, answer: str, expected: str) -> None:
    response = "Let me solve both equations.\n\n" + boxes(answer.removeprefix("BOXES:").split("|"))
    assert verify(response, gold(benchmark, index), benchmark).status == expected
    # a single-answer gold still takes the last box only
    assert verify(boxes(["7", "1"]), "1", benchmark).correct and not verify(boxes(["1", "7"]), "1", benchmark).correct


def test_coarse_golds_only_on_benchmarks_of_rounded_values() -> None:
    assert status("4.49\\times10^{33}", "minerva_math", 1, "math500") == "wrong"  # exact golds stay exact


def test_an_answer_stated_in_a_closing_display_equation() -> None:
    """No box and no answer line: a display equation that ends the response is its answer (not for a plain-number
    gold, whose fallback stays the last number, nor for a response cut at the token limit)."""
    response = ("The current through the capacitor decays from its initial value:\n"
                "\\[\n  I(t) = I_0 e^{-t/(RC)}\n\\]\n")
    assert verify(response, gold("minerva_math", 86), "minerva_math").correct
    assert verify(response, gold("minerva_math", 86), "minerva_math", truncated=True).status == "no_answer"
    assert verify(response + "\nNext we check the units.", gold("minerva_math", 86), "minerva_math").status \
        == "no_answer"
    assert verify("So $$ V(t) = V_0 e^{-2t/(RC)} $$.", gold("minerva_math", 86), "minerva_math").status == "wrong"
