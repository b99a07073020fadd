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


def test_multi_file_entries_hold_one_record_per_file(tmp_path):
    lock = tmp_path / "benchmarks.lock.yaml"
    src = "hf://datasets/o/lcb@c/{}".format
    record_sha256(lock, "lcb", src("test4.jsonl"), A, file="test4.jsonl")
    assert locked_sha256(lock, "lcb", src("test4.jsonl"), file="test4.jsonl") == A
    assert locked_sha256(lock, "lcb", src("test5.jsonl"), file="test5.jsonl") is None  # added later: recorded then
    record_sha256(lock, "lcb", src("test5.jsonl"), B, file="test5.jsonl")
    record_sha256(lock, "lcb", src("test5.jsonl"), B, file="test5.jsonl")  # a concurrent job, same hash
    files = read_lock(lock)["lcb"]["files"]
    assert {k: v["sha256"] for k, v in files.items()} == {"test4.jsonl": A, "test5.jsonl": B}
    assert files["test5.jsonl"]["source"] == src("test5.jsonl") and "recorded" in files["test5.jsonl"]
    with pytest.raises(UserError, match=r"benchmarks\.lcb\.files\['test5\.jsonl'\] was recorded meanwhile"):
        record_sha256(lock, "lcb", src("test5.jsonl"), A, file="test5.jsonl")
    with pytest.raises(UserError, match=r"benchmarks\.lcb\.files\['test4\.jsonl'\] was recorded for source"):
        locked_sha256(lock, "lcb", "hf://datasets/o/lcb@d/test4.jsonl", file="test4.jsonl")


def test_switching_between_one_and_several_files_needs_a_fresh_entry(tmp_path):
    lock = tmp_path / "benchmarks.lock.yaml"
    record_sha256(lock, "one", "https://s/x", A)
    record_sha256(lock, "many", "https://s/y", B, file="https://s/y")
    with pytest.raises(UserError, match=r"benchmarks\.one was recorded for one file but the manifest now gives "
                                        r"several files"):
        locked_sha256(lock, "one", "https://s/x", file="https://s/x")
    with pytest.raises(UserError, match=r"benchmarks\.many was recorded for several files but the manifest now "
                                        r"gives one file"):
        record_sha256(lock, "many", "https://s/y", B)
    with pytest.raises(UserError, match="recorded for one file"):
        record_sha256(lock, "one", "https://s/x", A, file="https://s/x")


@pytest.mark.parametrize(("text", "message"), [
    ("benchmarks: [", "invalid YAML"),
    ("- 1\n", "expected a top-level mapping `benchmarks:`"),
    (yaml.safe_dump({"benchmarks": {"x": {"source": "s"}}}),
     "benchmarks.x: expected a mapping with `sha256`"),
    (yaml.safe_dump({"benchmarks": {"x": {"files": {}}}}), "benchmarks.x: expected a mapping with `sha256`"),
    (yaml.safe_dump({"benchmarks": {"x": {"files": {"a": {"sha256": 5}}}}}), "or `files:` of such mappings"),
    (yaml.safe_dump({"benchmarks": {"x": {"files": ["a"]}}}), "benchmarks.x: expected a mapping"),
])
def test_a_damaged_lock_file_is_named(tmp_path, text, message):
    lock = tmp_path / "benchmarks.lock.yaml"
    lock.write_text(text)
    with pytest.raises(UserError) as info:
        locked_sha256(lock, "x", "s")
    assert message in str(info.value) and str(lock) in str(info.value)
