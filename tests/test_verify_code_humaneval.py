"""All 164 canonical HumanEval solutions pass their own tests in the sandbox; broken ones do not."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from rlvr_limits.verify.code.batch import SandboxPool, check_all
from rlvr_limits.verify.code.loaders import humaneval_task
from rlvr_limits.verify.code.sandbox import Limits

DATA = Path(__file__).parent / "data" / "code" / "HumanEval.jsonl.gz"


@pytest.fixture(scope="module")
def records():
    with gzip.open(DATA, "rt") as lines:
        return [json.loads(line) for line in lines]


def test_all_canonical_solutions_pass_and_broken_ones_fail(records):
    assert len(records) == 164
    tasks = [humaneval_task(r, time_limit_s=10.0) for r in records]
    canonical = [(r["prompt"] + r["canonical_solution"], t) for r, t in zip(records, tasks, strict=True)]
    broken = [(r["prompt"] + "    return None\n", t) for r, t in zip(records, tasks, strict=True)]
    with SandboxPool(2, Limits(memory_mb=1024)) as pool:
        verdicts = check_all(canonical + broken, pool, "humaneval")
    failed = [(r["task_id"], v.detail) for r, v in zip(records, verdicts[:164], strict=True) if not v.correct]
    assert failed == []
    assert not any(v.correct for v in verdicts[164:])
    assert set(Counter(v.status for v in verdicts[164:])) <= {"wrong", "error"}
