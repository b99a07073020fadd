"""The strict chain-of-thought verifier on hand-made traces, and its verify-stage backend."""

from __future__ import annotations

import polars as pl
import pytest

from rlvr_limits.errors import UserError
from rlvr_limits.toy.strict import check, verify_table

Q, GOLD = "23+58+71+36?", "188"


@pytest.mark.parametrize(("text", "verdict", "extracted"), [
    # valid chains, in any order and step form
    ("23+58=81;81+71=152;152+36=188;\\boxed{188}", "correct", "188"),
    ("36+71=107;107+58=165;165+23=188;\\boxed{188}", "correct", "188"),
    ("23+58=81;71+36=107;81+107=188;\\boxed{188}", "correct", "188"),
    ("23+58=73+8=81;81+71=151+1=152;152+36=182+6=188;\\boxed{188}", "correct", "188"),
    ("23+58+71+36=188;\\boxed{188}", "correct", "188"),
    # a slip: the answer follows from the chain but the chain is wrong
    ("23+58=91;91+71=162;162+36=198;\\boxed{198}", "wrong", "198"),
    # a lucky cancel: two slips (+10, -10) give the right answer
    ("23+58=91;91+71=152;152+36=188;\\boxed{188}", "wrong", "188"),
    # a slip inside a split step
    ("23+58=83+8=81;81+71=152;152+36=188;\\boxed{188}", "wrong", "188"),
    # wrong operands: a miscopied number, then a number used twice
    ("23+85=108;108+71=179;179+9=188;\\boxed{188}", "wrong", "188"),
    ("23+58=81;81+71=152;152+36=188;23+0=23;\\boxed{188}", "wrong", "188"),
    ("23+58=81;81+81=162;\\boxed{188}", "wrong", "188"),
    # an operand never used, or the boxed number not what the chain derived
    ("23+58=81;81+71=152;\\boxed{188}", "wrong", "188"),
    ("\\boxed{188}", "wrong", "188"),
    # malformed steps
    ("23+58=81;81+71=152;152+36=188\\boxed{188}", "wrong", "188"),
    ("23+58=81;81+71=152;152+36==188;\\boxed{188}", "wrong", "188"),
    ("23=23;23+58=81;81+71=152;152+36=188;\\boxed{188}", "wrong", "188"),
    ("23+58=81;81+71=152;152+36=18+8;\\boxed{188}", "wrong", "188"),
    # answers that are not plain integers equal to the gold
    ("23+58=81;81+71=152;152+36=188;\\boxed{100+88}", "wrong", "100+88"),
    ("23+58=81;81+71=152;152+36=188;188", "no_answer", None),
    ("23+58=81;81+71=152;152+36=188;\\boxed{188", "no_answer", None),
    ("", "no_answer", None),
])
def test_hand_made_traces(text: str, verdict: str, extracted: str | None) -> None:
    v = check(Q, GOLD, text)
    assert (v.verdict, v.correct, v.extracted) == (verdict, verdict == "correct", extracted)


def test_repeated_operands_can_each_be_used_once() -> None:
    assert check("40+40+20?", "100", "40+40=80;80+20=100;\\boxed{100}").correct
    assert not check("40+20?", "60", "40+40=80;\\boxed{60}").correct


def frames(texts: list[str], pid: str = "toy-m4-000") -> tuple[pl.DataFrame, pl.DataFrame]:
    problems = pl.DataFrame({"problem_id": [pid], "question": [Q], "answer": [GOLD], "answer_type": ["integer"],
                             "meta": ["{}"]})
    samples = pl.DataFrame({"problem_id": [pid] * len(texts), "sample_idx": list(range(len(texts))),
                            "text": texts}, schema_overrides={"sample_idx": pl.Int32})
    return problems, samples


def test_verify_table_returns_one_row_per_sample() -> None:
    problems, samples = frames(["23+58+71+36=188;\\boxed{188}", "23+58=91;91+71=152;152+36=188;\\boxed{188}",
                                "no box"])
    out = verify_table(problems, samples, "toy_arith", {})
    assert out.columns == ["problem_id", "sample_idx", "verdict", "correct", "extracted"]
    assert out["verdict"].to_list() == ["correct", "wrong", "no_answer"]
    assert out["correct"].to_list() == [True, False, False]
    assert out["extracted"].to_list() == ["188", "188", None]
    assert out.schema["sample_idx"] == pl.Int32


def test_verify_table_refuses_other_benchmarks_and_strays() -> None:
    problems, samples = frames(["\\boxed{1}"])
    with pytest.raises(UserError, match="only to the toy_arith"):
        verify_table(problems.with_columns(pl.lit("What is 2+2?").alias("question")), samples, "math500", {})
    with pytest.raises(UserError, match="not in the benchmark"):
        verify_table(problems, frames(["\\boxed{1}"], pid="other")[1], "toy_arith", {})
    with pytest.raises(UserError, match="lacks columns"):
        verify_table(problems.drop("answer"), samples, "toy_arith", {})
