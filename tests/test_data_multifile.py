"""Multi-file benchmarks end to end: LiveCodeBench-format files on a local fake Hub (and a local HTTPS
stand-in), read in order, windowed by contest date, locked per file, refused when one file changes."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import pickle
import shutil
import zlib
from pathlib import Path

import huggingface_hub
import pytest
import yaml

from httpfakes import FakeHub, FileServer
from rlvr_limits.cli import main
from rlvr_limits.data import problems as problems_stage
from rlvr_limits.data.download import fetch
from rlvr_limits.data.manifest import load_manifest
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_json, read_parquet
from rlvr_limits.tables import PROBLEM_COLUMNS

REPO = "livecodebench/code_generation_lite"
WINDOW = {"field": "contest_date", "from": "2024-08-01", "until": "2025-02-01"}
PRIVATE_STDIN = [{"input": "2 3\n", "output": "5\n", "testtype": "stdin"},
                 {"input": "10 -4\n", "output": "6\n", "testtype": "stdin"}]


def pickled(tests: list[dict]) -> str:
    """`private_test_cases` as code_generation_lite stores it: base64(zlib(pickle(json text)))."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


def stdin_problem(qid: str, date: str) -> dict:
    return {"question_title": f"Sum {qid}", "question_content": "Read A and B; print A+B.", "platform": "atcoder",
            "question_id": qid, "contest_id": qid.split("_")[0], "contest_date": date, "starter_code": "",
            "difficulty": "easy",
            "public_test_cases": json.dumps([{"input": "1 1\n", "output": "2\n", "testtype": "stdin"}]),
            "private_test_cases": pickled(PRIVATE_STDIN), "metadata": "{}"}


def functional_problem(qid: str, date: str) -> dict:
    tests = [{"input": "[1, 2]\n3", "output": "[0, 1]", "testtype": "functional"}]
    return {"question_title": "two-sum", "question_content": "Return the indices of two numbers adding to target.",
            "platform": "leetcode", "question_id": qid, "contest_id": "weekly-contest-420", "contest_date": date,
            "starter_code": "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n",
            "difficulty": "easy", "public_test_cases": json.dumps(tests), "private_test_cases": json.dumps(tests),
            "metadata": json.dumps({"func_name": "twoSum"})}


def jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


# Two release files as the Hub holds them; the window keeps 4 of their 6 records.
TEST4 = jsonl([stdin_problem("abc364_a", "2024-07-31T23:59:59"),   # before `from`: dropped
               stdin_problem("abc365_a", "2024-08-01T00:00:00"),   # exactly at `from`: kept
               stdin_problem("abc372_b", "2024-09-21T12:00:00")])
TEST5 = jsonl([functional_problem("3600", "2024-12-01T00:00:00"),
               stdin_problem("abc390_a", "2025-01-31T23:59:59"),   # last second inside: kept
               stdin_problem("abc391_a", "2025-02-01T00:00:00")])  # exactly at `until`: dropped
KEPT = ["abc365_a", "abc372_b", "3600", "abc390_a"]
SHA4, SHA5 = hashlib.sha256(TEST4).hexdigest(), hashlib.sha256(TEST5).hexdigest()


@pytest.fixture
def hub():
    with FakeHub() as h:
        h.commit = h.add(REPO, {"test4.jsonl": TEST4, "test5.jsonl": TEST5, "README.md": b"lcb"}, repo_type="dataset")
        yield h


def hub_source(hub: FakeHub, paths: list[str], revision: str | None = None) -> dict:
    return {"hub": {"repo": REPO, "repo_type": "dataset", "revision": revision or hub.commit, "paths": paths}}


def manifest(tmp_path: Path, **entry: object) -> Path:
    path = tmp_path / "benchmarks.yaml"
    base = {"type": "code", "format": "jsonl", "loader": "livecodebench", "sha256": "lock", "where": WINDOW,
            "n_problems": 4, "license": "cc", "description": "LiveCodeBench window"}
    path.write_text(yaml.safe_dump({"benchmarks": {"lcb": {**base, **entry}}}, sort_keys=False))
    return path


def problems(tmp_path: Path, hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> int:
    """The `problems` stage with its downloads pointed at the fake Hub."""
    monkeypatch.setattr(problems_stage, "fetch", functools.partial(fetch, endpoint=hub.base, backoff_s=0.0))
    return main(["problems", "--bench", "lcb", "--manifest", str(tmp_path / "benchmarks.yaml"),
                 "--lock", str(tmp_path / "benchmarks.lock.yaml"), "--download-dir", str(tmp_path / "dl"),
                 "--out", str(tmp_path / "problems" / "lcb.parquet")])


def locked(tmp_path: Path) -> dict[str, str]:
    entry = yaml.safe_load((tmp_path / "benchmarks.lock.yaml").read_text())["benchmarks"]["lcb"]
    return {name: record["sha256"] for name, record in entry["files"].items()}


def test_hub_files_are_read_in_order_windowed_and_locked_per_file(tmp_path, hub, monkeypatch):
    manifest(tmp_path, source=hub_source(hub, ["test4.jsonl", "test5.jsonl"]))
    assert problems(tmp_path, hub, monkeypatch) == 0
    table = read_parquet(tmp_path / "problems" / "lcb.parquet", required=PROBLEM_COLUMNS)
    assert table["problem_id"].to_list() == KEPT
    metas = [json.loads(m) for m in table["meta"].to_list()]
    assert [m["contest_date"][:10] for m in metas] == ["2024-08-01", "2024-09-21", "2024-12-01", "2025-01-31"]
    stdin = metas[0]["code"]
    assert stdin["kind"] == "lcb" and stdin["func_name"] is None
    assert stdin["tests"] == [{"input": "1 1\n", "output": "2\n", "testtype": "stdin"}, *PRIVATE_STDIN]
    assert metas[2]["code"]["func_name"] == "twoSum" and len(metas[2]["code"]["tests"]) == 2

    sidecar = read_json(tmp_path / "problems" / "lcb.json")
    assert sidecar["source"] == hub_source(hub, ["test4.jsonl", "test5.jsonl"])
    assert sidecar["revision"] == hub.commit
    assert sidecar["sha256"] == {"test4.jsonl": SHA4, "test5.jsonl": SHA5}
    assert sidecar["sha256_check"] == {"test4.jsonl": "record", "test5.jsonl": "record"}
    assert sidecar["where"] == {**WINDOW, "n_records": 6, "n_kept": 4}
    assert [Path(f).name for f in sidecar["file"]] == ["test4.jsonl", "test5.jsonl"]
    assert sidecar["n_problems"] == 4
    assert locked(tmp_path) == {"test4.jsonl": SHA4, "test5.jsonl": SHA5}

    assert problems(tmp_path, hub, monkeypatch) == 0
    assert read_json(tmp_path / "problems" / "lcb.json")["sha256_check"] == {"test4.jsonl": "locked",
                                                                             "test5.jsonl": "locked"}
    assert hub.downloads("test4.jsonl") == 1 and hub.downloads("test5.jsonl") == 1 and hub.downloads("README.md") == 0


def test_a_changed_file_is_refused_by_its_lock_record(tmp_path, hub, monkeypatch, capsys):
    manifest(tmp_path, source=hub_source(hub, ["test4.jsonl", "test5.jsonl"]))
    assert problems(tmp_path, hub, monkeypatch) == 0
    changed = TEST5.replace(b"2025-01-31T23:59:59", b"2025-01-30T23:59:59")
    hub.repos[("dataset", REPO)]["files"]["test5.jsonl"] = changed  # same commit, other bytes
    shutil.rmtree(tmp_path / "dl" / ".hub-cache")
    assert problems(tmp_path, hub, monkeypatch) == 2
    err = capsys.readouterr().err
    assert "test5.jsonl" in err and f"expected {SHA5}" in err and hashlib.sha256(changed).hexdigest() in err
    assert f"recorded in {tmp_path / 'benchmarks.lock.yaml'}" in err
    assert locked(tmp_path) == {"test4.jsonl": SHA4, "test5.jsonl": SHA5}


def test_a_file_added_to_the_list_is_recorded_while_the_others_stay_enforced(tmp_path, hub, monkeypatch):
    manifest(tmp_path, source=hub_source(hub, ["test4.jsonl"]), n_problems=2)
    assert problems(tmp_path, hub, monkeypatch) == 0
    assert locked(tmp_path) == {"test4.jsonl": SHA4}
    manifest(tmp_path, source=hub_source(hub, ["test4.jsonl", "test5.jsonl"]))
    assert problems(tmp_path, hub, monkeypatch) == 0
    assert read_json(tmp_path / "problems" / "lcb.json")["sha256_check"] == {"test4.jsonl": "locked",
                                                                             "test5.jsonl": "record"}
    assert locked(tmp_path) == {"test4.jsonl": SHA4, "test5.jsonl": SHA5}


def test_a_wrong_count_after_the_window_names_both_counts_and_locks_nothing(tmp_path, hub, monkeypatch, capsys):
    manifest(tmp_path, source=hub_source(hub, ["test4.jsonl", "test5.jsonl"]), n_problems=279)
    assert problems(tmp_path, hub, monkeypatch) == 2
    err = capsys.readouterr().err
    assert f"hf://datasets/{REPO}@{hub.commit}/{{test4.jsonl,test5.jsonl}}: holds 4 problems" in err
    assert "(4 of 6 records kept by benchmarks.lcb.where: contest_date in [2024-08-01, 2025-02-01))" in err
    assert "benchmarks.lcb.n_problems: 279" in err
    assert not (tmp_path / "benchmarks.lock.yaml").exists()
    assert not (tmp_path / "problems" / "lcb.parquet").exists()


def test_without_a_window_every_record_of_every_file_is_a_problem(tmp_path, hub, monkeypatch):
    path = manifest(tmp_path, source=hub_source(hub, ["test5.jsonl", "test4.jsonl"]), n_problems=6,
                    sha256={"test4.jsonl": SHA4, "test5.jsonl": SHA5})
    doc = yaml.safe_load(path.read_text())
    del doc["benchmarks"]["lcb"]["where"]
    path.write_text(yaml.safe_dump(doc))
    assert problems(tmp_path, hub, monkeypatch) == 0
    table = read_parquet(tmp_path / "problems" / "lcb.parquet")
    assert table["problem_id"].to_list() == ["3600", "abc390_a", "abc391_a", "abc364_a", "abc365_a", "abc372_b"]
    sidecar = read_json(tmp_path / "problems" / "lcb.json")
    assert sidecar["where"] is None and set(sidecar["sha256_check"].values()) == {"pinned"}
    assert not (tmp_path / "benchmarks.lock.yaml").exists()


def test_a_record_outside_the_date_format_is_an_error_naming_its_line(tmp_path, hub, monkeypatch, capsys):
    broken = TEST5 + jsonl([{**stdin_problem("abc392_a", "soon")}])
    hub.commit = hub.add(REPO, {"test4.jsonl": TEST4, "test5.jsonl": broken}, repo_type="dataset")
    manifest(tmp_path, source=hub_source(hub, ["test4.jsonl", "test5.jsonl"]))
    assert problems(tmp_path, hub, monkeypatch) == 2
    err = capsys.readouterr().err
    assert "test5.jsonl:4: field `contest_date` is 'soon', not an ISO date" in err


def bench(tmp_path: Path, source: dict, **entry: object):
    return load_manifest(manifest(tmp_path, source=source, **entry))["lcb"]


def get(tmp_path: Path, b, endpoint: str | None = None, **kw) -> list:
    return fetch(b, tmp_path / "dl", tmp_path / "benchmarks.lock.yaml", backoff_s=0.0, endpoint=endpoint, **kw)


def test_busy_hub_downloads_are_retried(tmp_path, hub):
    hub.failures["test5.jsonl"] = ["503", "503"]
    got = get(tmp_path, bench(tmp_path, hub_source(hub, ["test4.jsonl", "test5.jsonl"])), hub.base)
    assert [g.sha256 for g in got] == [SHA4, SHA5] and hub.downloads("test5.jsonl") == 3
    assert {g.revision for g in got} == {hub.commit}


def test_a_persistently_busy_hub_fails_without_a_partial_file(tmp_path, hub):
    hub.failures["test5.jsonl"] = ["503"] * 10
    with pytest.raises(UserError, match=r"benchmark 'lcb' \(hf://datasets/.*/test5.jsonl\): the Hub answered HTTP 503"):
        get(tmp_path, bench(tmp_path, hub_source(hub, ["test4.jsonl", "test5.jsonl"])), hub.base, retries=2)
    assert hub.downloads("test5.jsonl") == 3
    cached = sorted(p.name for p in (tmp_path / "dl" / ".hub-cache").rglob("*.jsonl"))
    assert cached == ["test4.jsonl"]  # the failed file never landed under its name


def test_a_truncated_hub_download_never_lands(tmp_path, hub):
    hub.failures["test4.jsonl"] = ["truncate"]
    (got4, got5) = get(tmp_path, bench(tmp_path, hub_source(hub, ["test4.jsonl", "test5.jsonl"])), hub.base)
    assert got4.path.read_bytes() == TEST4 and got5.path.read_bytes() == TEST5


def test_files_from_different_commits_are_refused(tmp_path, hub, monkeypatch):
    real = huggingface_hub.hf_hub_download

    def branch_moves_between_files(*args, **kwargs):
        path = real(*args, **kwargs)
        hub.add(REPO, {"test4.jsonl": TEST4 + b"\n", "test5.jsonl": TEST5}, repo_type="dataset")  # main moves on
        return path

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", branch_moves_between_files)
    with pytest.raises(UserError, match=r"came from different commits .*pin `source\.hub\.revision` to one commit"):
        get(tmp_path, bench(tmp_path, hub_source(hub, ["test4.jsonl", "test5.jsonl"], revision="main")), hub.base)


def test_https_files_are_fetched_in_order_and_checked_each(tmp_path):
    with FileServer({"/v4/test4.jsonl": TEST4, "/v5/test5.jsonl": TEST5}) as server:
        urls = [server.url("/v4/test4.jsonl"), server.url("/v5/test5.jsonl")]
        good = get(tmp_path, bench(tmp_path, {"urls": urls}, sha256={urls[0]: SHA4, urls[1]: SHA5}))
        assert [g.path for g in good] == [tmp_path / "dl" / "lcb" / name for name in ("test4.jsonl", "test5.jsonl")]
        assert [g.check for g in good] == ["pinned", "pinned"] and [g.key for g in good] == urls
        (tmp_path / "dl" / "lcb" / "test5.jsonl").unlink()
        with pytest.raises(UserError) as info:
            get(tmp_path, bench(tmp_path, {"urls": urls}, sha256={urls[0]: SHA4, urls[1]: SHA4}))
        message = str(info.value)
        assert urls[1] in message and f"expected {SHA4}" in message and f"got {SHA5}" in message
        assert f"benchmarks.lcb.sha256['{urls[1]}'] in the manifest" in message
        assert not (tmp_path / "dl" / "lcb" / "test5.jsonl").exists()
