"""The lock file of `sha256: lock` benchmarks: recorded once, kept stable, refused when damaged."""

from __future__ import annotations

import threading

import pytest
import yaml

from rlvr_limits.data.lockfile import locked_sha256, read_lock, record_sha256
from rlvr_limits.errors import UserError

A, B = "a" * 64, "b" * 64


def test_record_then_read(tmp_path):
    lock = tmp_path / "resources" / "benchmarks.lock.yaml"
    assert locked_sha256(lock, "x", "https://s/x") is None
    record_sha256(lock, "x", "https://s/x", A)
    record_sha256(lock, "y", "local:y", B)
    assert locked_sha256(lock, "x", "https://s/x") == A
    assert set(read_lock(lock)) == {"x", "y"} and lock.read_text().startswith("# Hashes recorded")
    assert sorted(p.name for p in lock.parent.iterdir()) == ["benchmarks.lock.yaml"]


def test_recording_twice_keeps_the_first_entry(tmp_path):
    lock = tmp_path / "benchmarks.lock.yaml"
    record_sha256(lock, "x", "https://s/x", A)
    first = lock.read_text()
    record_sha256(lock, "x", "https://s/x", A)
    assert lock.read_text() == first
    with pytest.raises(UserError, match="was recorded meanwhile with sha256 " + A):
        record_sha256(lock, "x", "https://s/x", B)


def test_concurrent_jobs_do_not_lose_entries(tmp_path):
    lock = tmp_path / "benchmarks.lock.yaml"
    threads = [threading.Thread(target=record_sha256, args=(lock, f"b{i}", f"local:{i}", A))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(read_lock(lock)) == {f"b{i}" for i in range(8)}


def test_an_entry_for_another_source_is_refused(tmp_path):
    lock = tmp_path / "benchmarks.lock.yaml"
    record_sha256(lock, "x", "https://s/v1/x", A)
    with pytest.raises(UserError, match="recorded for source 'https://s/v1/x' but the manifest now says"):
        locked_sha256(lock, "x", "https://s/v2/x")


@pytest.mark.parametrize(("text", "message"), [
    ("benchmarks: [", "invalid YAML"),
    ("- 1\n", "expected a top-level mapping `benchmarks:`"),
    (yaml.safe_dump({"benchmarks": {"x": {"source": "s"}}}),
     "benchmarks.x: expected a mapping with `sha256`"),
])
def test_a_damaged_lock_file_is_named(tmp_path, text, message):
    lock = tmp_path / "benchmarks.lock.yaml"
    lock.write_text(text)
    with pytest.raises(UserError) as info:
        locked_sha256(lock, "x", "s")
    assert message in str(info.value) and str(lock) in str(info.value)
