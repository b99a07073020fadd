"""`verify_table`, the workflow backend: problems + sampled responses -> one verdict row per sample."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from rlvr_limits.data.loaders import read_records
from rlvr_limits.errors import UserError
from rlvr_limits.verify.code.batch import OUTPUT_SCHEMA, sidecar, verify_table
from rlvr_limits.verify.code.loaders import LOADERS
from rlvr_limits.verify.code.sandbox import isolation

DATA = Path(__file__).parent / "data" / "code"


def _problems(name: str, loader: str) -> pl.DataFrame:
    rows = [LOADERS[loader](loader, rec, n, where) for n, (where, rec) in enumerate(read_records(DATA / name,
                                                                                                 "jsonl"))]
    return pl.DataFrame(rows)


def _samples(rows: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame({"problem_id": [p for p, _ in rows], "sample_idx": list(range(len(rows))),
                         "text": [t for _, t in rows]}).with_columns(pl.col("sample_idx").cast(pl.Int32))


ADD = "a, b = map(int, input().split())\nprint(a + b)\nprint(a * b)\n"


def test_livecodebench_samples():
    problems = _problems("lcb_code_generation_lite.jsonl", "livecodebench")
    samples = _samples([
        ("abc999_a", f"Here is my solution.\n```python\n{ADD}```\nIt reads A and B."),
        ("abc999_a", f"<think>\nA plus B, times.\n</think>\n```python\n{ADD}```"),
        ("abc999_a", f"Here is my solution.\n```python\n{ADD}```\nIt reads A and B."),  # a repeat
        ("abc999_a", "a, b = map(int, input().split())\nprint(a - b)\nprint(a * b)\n```"),  # prefilled fence
        ("abc999_a", "I cannot solve this."),
        ("abc999_b", "```python\nwhile True:\n    pass\n```"),
        ("3999", "```python\nclass Solution:\n    def twoSum(self, nums, target):\n"
                 "        return [i for i in range(len(nums)) for j in range(i) if nums[i] + nums[j] == target][:0]"
                 " or [next(j for j in range(len(nums)) for i in range(j) if nums[i] + nums[j] == target) - 1,"
                 " next(j for j in range(len(nums)) for i in range(j) if nums[i] + nums[j] == target)]\n```"),
    ])
    table = verify_table(problems, samples.filter(pl.col("problem_id") != "abc999_b"), "lcb", {"workers": 2})
    assert dict(table.schema) == OUTPUT_SCHEMA
    assert table["verdict"].to_list() == ["correct", "correct", "correct", "wrong", "no_code", "correct"]
    assert table["correct"].to_list() == [True, True, True, False, False, True]
    assert table["extracted"][0] == ADD and table["extracted"][4] is None


@pytest.mark.slow
def test_timeouts_are_retried_and_final():
    problems = _problems("lcb_code_generation_lite.jsonl", "livecodebench").filter(pl.col("problem_id") ==
                                                                                   "abc999_b")
    table = verify_table(problems, _samples([("abc999_b", "```python\nwhile True:\n    pass\n```")]), "lcb", {})
    assert table["verdict"].to_list() == ["timeout"]


def test_evalplus_samples_are_sanitized():
    problems = _problems("evalplus_humaneval.jsonl", "humaneval_plus")
    samples = _samples([
        ("HumanEval/2", "```python\ndef truncate_number(number):\n    return number % 1.0\n\n"
                        "print(truncate_number(3.5))\nassert truncate_number(2.5) == 0.75\n```"),
        ("HumanEval/2", "```python\ndef truncate_number(number):\n    return int(number)\n```"),
        ("HumanEval/12", "```python\ndef longest(strings):\n"
                         "    return max(strings, key=len) if strings else None\n```"),
    ])
    table = verify_table(problems, samples, "humaneval_plus", {"min_time_limit_s": 2.0, "prefilled": False})
    assert table["verdict"].to_list() == ["correct", "wrong", "correct"]


def test_bad_settings_and_tables():
    problems = _problems("lcb_code_generation_lite.jsonl", "livecodebench")
    samples = _samples([("abc999_a", ADD)])
    with pytest.raises(UserError, match="unknown key"):
        verify_table(problems, samples, "lcb", {"timeout": 3})
    with pytest.raises(UserError, match="`workers` must be a positive number"):
        verify_table(problems, samples, "lcb", {"workers": 0})
    with pytest.raises(UserError, match="`prefilled` must be true or false"):
        verify_table(problems, samples, "lcb", {"prefilled": "yes"})
    with pytest.raises(UserError, match="not in the problems table"):
        verify_table(problems, _samples([("nope", ADD)]), "lcb", {})
    with pytest.raises(UserError, match="missing column"):
        verify_table(problems.drop("meta"), samples, "lcb", {})


def test_sidecar_reports_isolation():
    assert sidecar()["isolation"] == isolation()
