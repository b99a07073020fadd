"""Benchmark files in the evalplus and LiveCodeBench formats -> problems-table rows -> CodeTasks -> verdicts."""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from pathlib import Path

import pytest

from rlvr_limits.data.loaders import read_records
from rlvr_limits.errors import UserError
from rlvr_limits.verify.code import check
from rlvr_limits.verify.code.batch import SandboxPool, build_tasks
from rlvr_limits.verify.code.loaders import (
    LCB_PREAMBLE,
    LOADERS,
    code_spec,
    decode_private_tests,
    evalplus_inputs,
    lcb_in_window,
    lcb_row,
)
from rlvr_limits.verify.code.sandbox import Limits

DATA = Path(__file__).parent / "data" / "code"


def _rows(name: str, loader: str) -> dict[str, dict[str, str]]:
    rows = [LOADERS[loader](loader, record, n, where)
            for n, (where, record) in enumerate(read_records(DATA / name, "jsonl"))]
    return {row["problem_id"]: row for row in rows}


@pytest.fixture(scope="module")
def pool():
    with SandboxPool(1, Limits(memory_mb=512)) as sandboxes:
        yield sandboxes


@pytest.fixture(scope="module")
def tasks(pool):
    rows = {**_rows("evalplus_humaneval.jsonl", "humaneval_plus"), **_rows("evalplus_mbpp.jsonl", "mbpp_plus"),
            **_rows("lcb_code_generation_lite.jsonl", "livecodebench")}
    specs = {pid: code_spec(row["meta"], pid) for pid, row in rows.items()}
    return rows, build_tasks(specs, pool, {"min_time_limit_s": 2.0}, "test")


def _grade(pool, program: str, task) -> str:
    return pool.map(lambda box, _: check(program, task, sandbox=box, retry_timeout=False), [0])[0].status


def test_evalplus_rows_and_reference_solutions_pass(tasks, pool):
    rows, built = tasks
    for problem_id in ("HumanEval/2", "HumanEval/32", "HumanEval/12", "Mbpp/2", "Mbpp/252", "Mbpp/793"):
        assert rows[problem_id]["answer_type"] == "code"
        assert _grade(pool, rows[problem_id]["answer"], built[problem_id]) == "correct", problem_id
    assert len(built["HumanEval/2"]) == 6 and len(built["Mbpp/793"]) == 2  # base + plus ({} = none)
    assert all(limit >= 2.0 for limit in built["HumanEval/2"].time_limits)
    assert built["HumanEval/32"].oracle == "find_zero" and built["Mbpp/2"].oracle == "set_eq"


def test_evalplus_float_rule_and_oracles(tasks, pool):
    _, built = tasks
    truncate = built["HumanEval/2"]
    assert _grade(pool, "def truncate_number(number):\n    return number % 1.0 + 1e-9\n", truncate) == "correct"
    assert _grade(pool, "def truncate_number(number):\n    return number % 1.0 + 1e-3\n", truncate) == "wrong"
    assert _grade(pool, "def truncate_number(number):\n    return str(number % 1.0)\n", truncate) == "wrong"
    # find_zero: any root passes, whichever the reference found
    other_root = "import math\ndef poly(xs, x):\n    return sum(c * math.pow(x, i) for i, c in enumerate(xs))\n" \
                 "def find_zero(xs):\n    lo, hi = -1000.0, 1000.0\n    if poly(xs, lo) > 0:\n" \
                 "        lo, hi = hi, lo\n    for _ in range(200):\n        mid = (lo + hi) / 2\n" \
                 "        if poly(xs, mid) < 0:\n            lo = mid\n        else:\n            hi = mid\n" \
                 "    return lo\n"
    assert _grade(pool, other_root, built["HumanEval/32"]) == "correct"
    assert _grade(pool, "def find_zero(xs):\n    return 0.5\n", built["HumanEval/32"]) == "wrong"
    # set equality: any order, list or tuple
    assert _grade(pool, "def similar_elements(a, b):\n    return sorted(set(a) & set(b), reverse=True)\n",
                  built["Mbpp/2"]) == "correct"
    assert _grade(pool, "def similar_elements(a, b):\n    return [a[0]]\n", built["Mbpp/2"]) == "wrong"
    # tuple vs list is not a failure; MBPP+ complex inputs arrive as complex numbers
    assert _grade(pool, "import cmath\ndef convert(z):\n    assert isinstance(z, complex)\n"
                  "    return list(cmath.polar(z))\n", built["Mbpp/252"]) == "correct"


def test_mbpp_input_types_are_restored():
    assert evalplus_inputs("mbpp", "Mbpp/2", [[[1, 2], [3]]], "x") == [((1, 2), (3,))]
    assert evalplus_inputs("mbpp", "Mbpp/252", [["1+2j"]], "x") == [((1 + 2j),)]
    assert evalplus_inputs("mbpp", "Mbpp/580", [[[1, [2, 3]]]], "x") == [((1, (2, 3)),)]
    assert evalplus_inputs("mbpp", "Mbpp/793", {}, "x") == []
    assert evalplus_inputs("humaneval", "HumanEval/0", [[[1, 2]]], "x") == [([1, 2],)]
    with pytest.raises(UserError, match="argument lists"):
        evalplus_inputs("humaneval", "HumanEval/0", [1, 2], "f.jsonl:3")


def test_lcb_rows_decode_pickled_private_tests(tasks):
    rows, built = tasks
    meta = json.loads(rows["abc999_a"]["meta"])
    assert [t["input"] for t in meta["code"]["tests"]] == ["1 2\n", "10 20\n", "-3 3\n"]
    assert meta["platform"] == "atcoder" and meta["contest_date"].startswith("2024-09-14")
    # The statement as the dataset has it; the prompt template writes the format block around it.
    assert "### Format:" not in rows["abc999_a"]["question"] and meta["starter_code"] == ""
    assert json.loads(rows["3999"]["meta"])["starter_code"].startswith("class Solution")
    assert len(built["abc999_a"]) == 3 and built["abc999_a"].kind == "stdio"
    assert built["3999"].kind == "functional" and built["3999"].entry_point == "twoSum"
    assert built["3999"].time_limits == (6.0, 6.0, 6.0) and built["3999"].preamble == LCB_PREAMBLE


def test_lcb_stdin_and_functional_grading(tasks, pool):
    _, built = tasks
    add = "a, b = map(int, input().split())\nprint(a + b)\nprint(a * b)\n"
    assert _grade(pool, add, built["abc999_a"]) == "correct"
    assert _grade(pool, "import sys\na, b = map(int, sys.stdin.buffer.read().split())\n"
                  "print(f'  {a + b}  ')\nprint(a * b, '\\n')\n", built["abc999_a"]) == "correct"  # spacing
    assert _grade(pool, "a, b = map(int, input().split())\nprint(a + b)\nprint()\nprint(a * b)\n",
                  built["abc999_a"]) == "wrong"  # a blank line between answers
    assert _grade(pool, "a, b = map(int, input().split())\nprint(a + b)\n", built["abc999_a"]) == "wrong"
    # LiveCodeBench's preamble: math.* without an import; Decimal tokens: 2.00 == 2.0
    assert _grade(pool, "n = int(input())\nprint(f'{n / 2:.2f}')\n", built["abc999_b"]) == "correct"
    assert _grade(pool, "print(truediv(int(input()), 2))\n", built["abc999_b"]) == "correct"
    assert _grade(pool, "print(floor(int(input()) / 2))\n", built["abc999_b"]) == "wrong"
    two_sum = "class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n" \
              "        for i, x in enumerate(nums):\n            if target - x in seen:\n" \
              "                return (seen[target - x], i)\n            seen[x] = i\n"
    assert _grade(pool, two_sum, built["3999"]) == "correct"
    assert _grade(pool, "class Solution:\n    def twoSum(self, nums, target):\n        return [0, 1]\n",
                  built["3999"]) == "wrong"


def test_pickle_that_tries_to_execute_code_is_refused(tmp_path):
    target = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (target,))

    blob = base64.b64encode(zlib.compress(pickle.dumps(Exploit()))).decode()
    with pytest.raises(UserError, match="refusing to load"):
        decode_private_tests(blob, "test6.jsonl:7")
    assert not target.exists()
    listed = base64.b64encode(zlib.compress(pickle.dumps(["not", "a", "string"]))).decode()
    with pytest.raises(UserError, match="hold a list"):
        decode_private_tests(listed, "test6.jsonl:8")
    with pytest.raises(UserError, match="neither JSON nor"):
        decode_private_tests("%%% not base64 %%%", "test6.jsonl:9")


def test_malformed_records_name_the_place():
    good = dict(read_records(DATA / "lcb_code_generation_lite.jsonl", "jsonl")[0][1])
    with pytest.raises(UserError, match=r"f\.jsonl:2: field `question_id`"):
        lcb_row("livecodebench", {**good, "question_id": 5}, 1, "f.jsonl:2")
    with pytest.raises(UserError, match="test 0 must be"):
        lcb_row("livecodebench", {**good, "public_test_cases": json.dumps([{"input": 1}])}, 1, "f.jsonl:2")
    with pytest.raises(UserError, match="missing field `plus_input`"):
        LOADERS["humaneval_plus"]("humaneval_plus", {"task_id": "HumanEval/0", "prompt": "", "entry_point": "f",
                                                     "canonical_solution": "", "base_input": []}, 0, "g.jsonl:1")
    with pytest.raises(UserError, match="no code tests"):
        code_spec(json.dumps({"level": 3}), "7")


def test_contest_date_window():
    record = {"contest_date": "2024-08-03T00:00:00"}
    assert lcb_in_window(record, "2024-08-01", "2025-02-01")
    assert not lcb_in_window({"contest_date": "2025-02-01T00:00:00"}, "2024-08-01", "2025-02-01")
