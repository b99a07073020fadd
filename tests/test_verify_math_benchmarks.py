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
