"""The miniature's task generator and data stage: deterministic, correct, strategies and slips as documented."""

from __future__ import annotations

import itertools
import json
import random

import polars as pl
import pytest

from rlvr_limits.cli import main
from rlvr_limits.toy import task
from rlvr_limits.toy.strict import check
from rlvr_limits.verify.math import verify

STRATEGIES = ("l2r", "r2l", "tree", "split")


def test_question_and_answer() -> None:
    p = task.Problem((23, 58, 71, 36))
    assert (p.question, p.answer, p.m) == ("23+58+71+36?", 188, 4)
    assert task.parse_question(p.question) == p.operands
    assert task.parse_question("23+58") is None and task.parse_question("23-5?") is None


@pytest.mark.parametrize(("strategy", "text"), [
    ("l2r", "23+58=81;81+71=152;152+36=188;\\boxed{188}"),
    ("r2l", "36+71=107;107+58=165;165+23=188;\\boxed{188}"),
    ("tree", "23+58=81;71+36=107;81+107=188;\\boxed{188}"),
    ("split", "23+58=73+8=81;81+71=151+1=152;152+36=182+6=188;\\boxed{188}"),
])
def test_strategies_render_as_documented(strategy: str, text: str) -> None:
    steps = task.solve(task.Problem((23, 58, 71, 36)), strategy, random.Random(0))
    assert task.render(steps) == text


def test_tree_carries_an_odd_operand_to_the_next_level() -> None:
    steps = task.solve(task.Problem((10, 20, 30, 40, 50)), "tree", random.Random(0))
    assert task.render(steps) == "10+20=30;30+40=70;30+70=100;100+50=150;\\boxed{150}"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_clean_solutions_are_right_for_both_verifiers(strategy: str) -> None:
    rng = random.Random(7)
    for m in range(2, 8):
        for _ in range(20):
            p = task.draw_problem(rng, m)
            text = task.render(task.solve(p, strategy, rng))
            assert verify(text, str(p.answer)).correct, text
            assert check(p.question, str(p.answer), text).correct, text


def test_slips_are_human_sized_and_propagate() -> None:
    rng = random.Random(3)
    p = task.Problem((23, 58, 71, 36))
    steps = task.solve(p, "l2r", rng, slip_rate=1.0)
    for prev, step in itertools.pairwise(steps):
        assert step.a == prev.result  # the chain continues from the slipped value
    for step in steps:
        assert step.result - (step.a + step.b) in task.SLIP_OFFSETS
    assert not check(p.question, str(p.answer), task.render(steps)).correct


def test_slip_rate_is_respected() -> None:
    rng = random.Random(5)
    steps = [s for _ in range(2000) for s in task.solve(task.draw_problem(rng, 3), "l2r", rng, 0.1)]
    slipped = sum(s.result != s.a + s.b for s in steps) / len(steps)
    assert 0.08 < slipped < 0.12


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        task.solve(task.Problem((1, 2)), "sideways", random.Random(0))


def test_generation_is_deterministic_and_streams_are_independent() -> None:
    a = task.draw_problems(1, "x", [2, 3], 50)
    assert a == task.draw_problems(1, "x", [2, 3], 50)
    assert a != task.draw_problems(2, "x", [2, 3], 50)
    assert a != task.draw_problems(1, "y", [2, 3], 50)
    test = task.test_problems(1, [3, 4], 10)
    assert [p.m for p in test] == [3] * 10 + [4] * 10
    assert len({p.key for p in test}) == 20


def run_data(out, *extra: str) -> int:
    return main(["toy-data", "--out", str(out), "--seed", "11", "--test-per-m", "5", "--pretrain-examples", "3000",
                 "--distill-examples", "200", "--rl-examples", "100", *extra])


def test_data_stage_writes_a_benchmark_disjoint_from_training(tmp_path) -> None:
    assert run_data(tmp_path) == 0
    rows = [json.loads(line) for line in (tmp_path / "test.jsonl").read_text().splitlines()]
    assert len(rows) == 20 and set(rows[0]) == {"problem_id", "question", "answer", "meta"}
    assert rows[0]["problem_id"] == "toy-m2-000" and rows[0]["meta"]["m"] == 2
    test_keys = {tuple(sorted(task.parse_question(r["question"]))) for r in rows}
    for name in ("pretrain", "distill", "rl"):
        frame = pl.read_parquet(tmp_path / f"{name}.parquet")
        keys = {tuple(sorted(task.parse_question(q))) for q in frame["question"]}
        assert not keys & test_keys, name
    pre = pl.read_parquet(tmp_path / "pretrain.parquet")
    assert set(pre["strategy"]) == {"l2r", "r2l", "tree"}
    assert 0.15 < 1 - pre["clean"].mean() < 0.4
    distill = pl.read_parquet(tmp_path / "distill.parquet")
    assert set(distill["strategy"]) == {"split"} and distill["clean"].all()
    assert set(pl.read_parquet(tmp_path / "rl.parquet")["m"]) == {2, 3, 4}
    first = (tmp_path / "test.jsonl").read_bytes()
    assert run_data(tmp_path) == 0 and (tmp_path / "test.jsonl").read_bytes() == first


@pytest.mark.parametrize(("extra", "message"), [
    (["--test-m", "3,x"], "--test-m"),
    (["--rl-m", "1,2"], "2..12"),
    (["--web-strategies", "l2r=1,split=1"], "teacher"),
    (["--web-strategies", "l2r"], "name=weight"),
    (["--slip-rate", "1.5"], "--slip-rate"),
    (["--test-per-m", "0"], "--test-per-m"),
])
def test_data_stage_refuses_bad_settings(tmp_path, capsys, extra: list[str], message: str) -> None:
    assert run_data(tmp_path, *extra) == 2
    assert message in capsys.readouterr().err
