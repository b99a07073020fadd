"""Gold self-consistency and cross-gold negatives on the six math benchmarks (tests/data/math).

Self-consistency: "... The final answer is $\\boxed{<gold>}$" verifies correct for every problem, each gold taken
the way the study's code takes it (gold.py). Cross-gold: the response built from the next problem's gold
verifies wrong, unless the two golds are truly equal; every accepted pair is listed below with its reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlvr_limits.verify.math import Checker
from rlvr_limits.verify.math.gold import gold_from_record

DATA = Path(__file__).parent / "data" / "math"
SIZES = {"math500": 500, "aime24": 30, "amc23": 40, "gsm8k": 1319, "minerva_math": 272, "olympiadbench": 675}

#: (benchmark, gold, next problem's gold) pairs that verify correct, and why that is right.
ACCEPTED_CROSS_PAIRS = {
    ("math500", "5", "x=5"): "an answer written as an assignment: `x=5` answers 5 (policy: a left-hand side "
                             "that names the answer is dropped)",
    ("minerva_math", "928", "927.5"): "Minerva's golds are rounded values, integer ones at their last digit: "
                                      "927.5 rounds to 928 (the neighbouring problem's value differs from this "
                                      "one only below the gold's printed precision)",
}


def golds(benchmark: str) -> list[str]:
    with open(DATA / benchmark / "test.jsonl", encoding="utf-8") as f:
        return [gold_from_record(benchmark, json.loads(line)) for line in f]


@pytest.fixture(scope="module")
def checker():
    checker = Checker(workers=1)
    yield checker
    checker.close()


@pytest.mark.parametrize("benchmark", sorted(SIZES))
def test_gold_self_consistency(benchmark: str, checker: Checker) -> None:
    answers = golds(benchmark)
    assert len(answers) == SIZES[benchmark]
    failures = []
    for gold in answers:
        verdict = checker.verify(f"Some reasoning.\nThe final answer is $\\boxed{{{gold}}}$", gold, benchmark)
        if not verdict.correct:
            failures.append((gold, verdict))
    assert failures == []


@pytest.mark.parametrize("benchmark", sorted(SIZES))
def test_cross_gold_negatives(benchmark: str, checker: Checker) -> None:
    answers = golds(benchmark)
    accepted = {}
    for index, gold in enumerate(answers):
        other = answers[(index + 1) % len(answers)]
        if other == gold:
            continue
        verdict = checker.verify(f"The final answer is $\\boxed{{{other}}}$", gold, benchmark)
        if verdict.status != "wrong":
            accepted[(benchmark, gold, other)] = verdict.status
    expected = {key for key in ACCEPTED_CROSS_PAIRS if key[0] == benchmark}
    assert set(accepted) == expected, accepted
    assert all(status == "correct" for status in accepted.values())


#: Minerva golds (gold, another problem's gold within 5% of it) that verify correct: each answer lies in the rounding
#: interval of a gold printed to one or two figures, or the two values are roundings of one value.
ACCEPTED_NEIGHBOURS = {
    ("0.2", "0.192"), ("0.5", "0.49"), ("1.2", "1.22"), ("1.5", "1.55"), ("1.6", "1.55"), ("1e-3", "1.04e-3"),
    ("24", "24.310"), ("24", "24.4"), ("927.5", "928"), ("928", "927.5"),
}


def test_minerva_golds_near_each_other_stay_apart(checker: Checker) -> None:
    """Every pair of Minerva's numeric golds within 5% of each other, each other's answer: the rounding rules let
    through only the listed pairs (a one-figure integer such as the natural frequency `100` is exact, so the damped
    frequency `99.9` of the next subproblem is wrong)."""
    answers = golds("minerva_math")
    values = {}
    for gold in set(answers):
        try:
            values[gold] = float(gold.replace("\\times10^", "e").replace("{", "").replace("}", ""))
        except ValueError:
            continue
    near = [(g, a) for g in values for a in values
            if values[a] != values[g] and abs(values[a] - values[g]) <= 0.05 * abs(values[g])]
    accepted = {(g, a) for g, a in near
                if checker.verify(f"The final answer is $\\boxed{{{a}}}$", g, "minerva_math").correct}
    assert len(values) > 150 and len(near) > 80
    assert accepted == ACCEPTED_NEIGHBOURS
