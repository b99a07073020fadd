"""MathVista-style answers through the math verifier: integers, floats at their stated precision, text."""

from __future__ import annotations

import json

import polars as pl
import pytest

from rlvr_limits.data.loaders import normalize, read_records
from rlvr_limits.data.visual import keep_free_form
from rlvr_limits.errors import UserError
from rlvr_limits.verify.math.batch import verify_table
from visual_fixtures import mathvision_parquet, mathvista_parquet


def problems_of(tmp_path, loader: str) -> pl.DataFrame:
    make = mathvista_parquet if loader == "mathvista" else mathvision_parquet
    records = keep_free_form(loader, read_records(make(tmp_path / f"{loader}.parquet"), "parquet"))
    return pl.DataFrame(normalize(loader, records))


def verdicts(problems: pl.DataFrame, answers: list[tuple[str, str]], benchmark: str) -> list[str]:
    samples = pl.DataFrame({"problem_id": [p for p, _ in answers], "sample_idx": list(range(len(answers))),
                            "text": [f"<think>look</think> The answer is \\boxed{{{a}}}." for _, a in answers],
                            "finish_reason": ["stop"] * len(answers)})
    return verify_table(problems, samples, benchmark, {"workers": 1})["verdict"].to_list()


CASES = [
    ("1", "7", "correct"), ("1", "7.0", "correct"), ("1", "8", "wrong"), ("1", "7.4", "wrong"),
    ("3", "2.5", "correct"), ("3", "2.50", "correct"), ("3", "2.46", "correct"), ("3", "2.54", "correct"),
    ("3", "2.56", "wrong"), ("3", "2.6", "wrong"), ("3", "2.5 cm", "correct"), ("3", "25", "wrong"),
    ("5", "blue", "correct"), ("5", "Blue", "correct"), ("5", "\\text{blue}", "correct"), ("5", "red", "wrong"),
]


@pytest.mark.parametrize(("pid", "answer", "verdict"), CASES)
def test_mathvista_answers_are_judged_by_their_type_and_precision(tmp_path, pid, answer, verdict):
    assert verdicts(problems_of(tmp_path, "mathvista"), [(pid, answer)], "mathvista_testmini") == [verdict]


def test_precision_zero_accepts_what_rounds_to_the_integer_and_two_places_are_finer(tmp_path):
    problems = problems_of(tmp_path, "mathvista")
    meta = json.loads(problems["meta"][1])
    for precision, answer, gold, verdict in ((0, "3.4", "3", "correct"), (0, "3.6", "3", "wrong"),
                                             (2, "1.234", "1.23", "correct"), (2, "1.24", "1.23", "wrong")):
        row = problems.slice(1, 1).with_columns(answer=pl.lit(gold),
                                                meta=pl.lit(json.dumps({**meta, "precision": precision})))
        assert verdicts(row, [("3", answer)], f"mv{precision}{answer}") == [verdict], (precision, answer)


def test_a_precision_on_a_non_float_answer_is_ignored(tmp_path):
    problems = problems_of(tmp_path, "mathvista")
    meta = json.dumps({**json.loads(problems["meta"][0]), "precision": 1})
    row = problems.slice(0, 1).with_columns(meta=pl.lit(meta))
    assert verdicts(row, [("1", "7.04")], "mathvista_int") == ["wrong"]


@pytest.mark.parametrize("precision", [-1, 1.5, "one", True, 40])
def test_a_bad_precision_is_named(tmp_path, precision):
    problems = problems_of(tmp_path, "mathvista")
    meta = json.dumps({**json.loads(problems["meta"][1]), "precision": precision})
    row = problems.slice(1, 1).with_columns(meta=pl.lit(meta))
    with pytest.raises(UserError, match=r"problem 3: meta `precision` .* must be a whole number"):
        verdicts(row, [("3", "2.5")], "mathvista_bad")


def test_mathvision_answers_compare_as_math(tmp_path):
    problems = problems_of(tmp_path, "mathvision")
    got = verdicts(problems, [("10", "4"), ("10", "5"), ("12", "0.5"), ("12", "\\frac{2}{4}"), ("12", "0.4")],
                   "mathvision_testmini")
    assert got == ["correct", "wrong", "correct", "correct", "wrong"]
