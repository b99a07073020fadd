"""The resume journal: append, reload, torn and damaged lines, stale settings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rlvr_limits.errors import UserError
from rlvr_limits.progress import LOG
from rlvr_limits.sampling.journal import Journal


@pytest.fixture
def caplog(caplog: pytest.LogCaptureFixture):
    """Capture the package logger even after the CLI has set it not to propagate."""
    LOG.addHandler(caplog.handler)
    yield caplog
    LOG.removeHandler(caplog.handler)


def record(pid: str, idx: int, **extra: object) -> dict:
    return {"problem_id": pid, "sample_idx": idx, "seed": 10 + idx, "text": f"answer é {idx}", "prompt_tokens": 5,
            "n_tokens": 3, "finish_reason": "stop", "entropy": 0.25, **extra}


def filled(path: Path, n: int = 3, fingerprint: str = "f1") -> Journal:
    journal = Journal(path, fingerprint)
    assert journal.open() == {}
    for i in range(n):
        journal.append(record("p1", i))
    journal.close()
    return journal


def test_records_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "j" / "000.jsonl"
    filled(path)
    journal = Journal(path, "f1")
    got = journal.open()
    assert got == {("p1", i): record("p1", i) for i in range(3)}
    journal.append(record("p2", 0, entropy=math.nan))
    journal.remove()
    assert not path.exists()


def test_nan_entropy_round_trips(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl", "f")
    journal.open()
    journal.append(record("p", 0, entropy=math.nan))
    journal.close()
    assert math.isnan(Journal(tmp_path / "j.jsonl", "f").open()[("p", 0)]["entropy"])


@pytest.mark.parametrize("tail", [b'{"problem_id": "p1", "sample_idx": 3, "se', b"\x00\x00\x00\x00",
                                  b'{"problem_id": "p1"}\n', b"not json at all\n"])
def test_a_torn_or_damaged_last_line_is_dropped(tmp_path: Path, tail: bytes,
                                                caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "j.jsonl"
    filled(path)
    size = path.stat().st_size
    with open(path, "ab") as handle:
        handle.write(tail)
    journal = Journal(path, "f1")
    assert len(journal.open()) == 3
    assert path.stat().st_size == size
    journal.append(record("p1", 3))
    journal.close()
    assert set(Journal(path, "f1").open()) == {("p1", i) for i in range(4)}
    assert "dropping" in caplog.text


@pytest.mark.parametrize("line,match", [
    ("garbage\n", r"j\.jsonl:3: damaged journal line \(invalid JSON"),
    ('{"problem_id": "p1"}\n', r"j\.jsonl:3: damaged journal line \(keys"),
    (json.dumps(record("p1", 9, sample_idx="9")) + "\n", r"j\.jsonl:3: .*'sample_idx' has type str"),
    (json.dumps(record("p1", 9, seed=True)) + "\n", r"'seed' has type bool"),
])
def test_a_damaged_line_before_the_end_is_refused(tmp_path: Path, line: str, match: str) -> None:
    path = tmp_path / "j.jsonl"
    filled(path, n=1)
    with open(path, "a") as handle:
        handle.write(line + json.dumps(record("p1", 5)) + "\n")
    with pytest.raises(UserError, match=match):
        Journal(path, "f1").open()


def test_a_journal_from_other_settings_is_started_over(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "j.jsonl"
    filled(path, fingerprint="old")
    assert Journal(path, "new").open() == {}
    assert "other settings" in caplog.text
    assert json.loads(path.read_text().splitlines()[0])["fingerprint"] == "new"


def test_a_foreign_file_is_refused_and_an_empty_one_restarted(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text("problem_id,sample_idx\n")
    with pytest.raises(UserError, match=r"j\.jsonl:1: not a sample journal"):
        Journal(path, "f").open()
    path.write_text("")
    assert Journal(path, "f").open() == {}
    path.write_bytes(b'{"rlvr_limits_sample_jou')  # a header torn by a crash
    assert Journal(path, "f").open() == {}
