"""The `problems` stage end to end: manifest -> download (local HTTP server) -> problems table + sidecar."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from httpfakes import FileServer
from rlvr_limits.cli import main
from rlvr_limits.io import read_json, read_parquet
from rlvr_limits.tables import PROBLEM_COLUMNS

FIXTURES = Path(__file__).parent / "data" / "fixtures" / "math"
GSM8K = (FIXTURES / "gsm8k" / "test.jsonl").read_bytes()
DATA = "".join(json.dumps({"problem_id": f"p{i}", "question": f"{i}+1=", "answer": str(i + 1)}) + "\n"
               for i in range(3)).encode()
SHA = hashlib.sha256(DATA).hexdigest()


def manifest(tmp_path: Path, **entries: dict) -> Path:
    path = tmp_path / "benchmarks.yaml"
    base = {"type": "math", "format": "jsonl", "n_problems": 3, "license": "MIT", "description": "sample"}
    path.write_text(yaml.safe_dump({"benchmarks": {k: {**base, **v} for k, v in entries.items()}}))
    return path


def problems(tmp_path: Path, bench: str, *extra: str) -> int:
    return main(["problems", "--bench", bench, "--manifest", str(tmp_path / "benchmarks.yaml"),
                 "--lock", str(tmp_path / "benchmarks.lock.yaml"), "--download-dir", str(tmp_path / "dl"),
                 "--out", str(tmp_path / "problems" / f"{bench}.parquet"), *extra])


@pytest.fixture
def server():
    with FileServer({"/gsm8k/test.jsonl": GSM8K, "/toy/test.jsonl": DATA}) as s:
        yield s


def test_url_benchmark_becomes_a_problems_table_with_sidecar(tmp_path, server):
    url = server.url("/gsm8k/test.jsonl")
    sha = hashlib.sha256(GSM8K).hexdigest()
    manifest(tmp_path, gsm8k={"source": {"url": url}, "sha256": sha, "loader": "gsm8k"})
    assert problems(tmp_path, "gsm8k") == 0
    table = read_parquet(tmp_path / "problems" / "gsm8k.parquet", required=PROBLEM_COLUMNS)
    assert table.columns == list(PROBLEM_COLUMNS) and table["problem_id"].to_list() == ["0", "1", "2"]
    assert table["answer"].to_list() == ["18", "3", "70000"]
    sidecar = read_json(tmp_path / "problems" / "gsm8k.json")
    assert sidecar["source"] == {"url": url} and sidecar["sha256"] == sha and sidecar["revision"] is None
    assert sidecar["n_problems"] == 3 and sidecar["sha256_check"] == "pinned"
    assert sidecar["time"].endswith("+00:00")


def test_problem_count_must_match_the_manifest(tmp_path, server, capsys):
    manifest(tmp_path, web={"source": {"url": server.url("/toy/test.jsonl")}, "sha256": SHA,
                              "loader": "normalized", "n_problems": 4})
    assert problems(tmp_path, "web") == 2
    err = capsys.readouterr().err
    assert "holds 3 problems" in err and "benchmarks.web.n_problems: 4" in err
    assert not (tmp_path / "problems" / "web.parquet").exists()


def test_lock_file_records_the_first_download_and_refuses_a_changed_file(tmp_path, server, capsys):
    url = server.url("/toy/test.jsonl")
    manifest(tmp_path, web={"source": {"url": url}, "sha256": "lock", "loader": "normalized"})
    lock = tmp_path / "benchmarks.lock.yaml"

    assert problems(tmp_path, "web") == 0
    recorded = yaml.safe_load(lock.read_text())["benchmarks"]["web"]
    assert recorded["sha256"] == SHA and recorded["source"] == url
    assert read_json(tmp_path / "problems" / "web.json")["sha256_check"] == "record"

    assert problems(tmp_path, "web") == 0
    assert read_json(tmp_path / "problems" / "web.json")["sha256_check"] == "locked"

    changed = DATA.replace(b'"answer": "1"', b'"answer": "7"')
    server.files["/toy/test.jsonl"] = changed
    (tmp_path / "dl" / "web" / "test.jsonl").unlink()
    assert problems(tmp_path, "web") == 2
    err = capsys.readouterr().err
    assert f"expected {SHA}" in err and f"got {hashlib.sha256(changed).hexdigest()}" in err
    assert f"recorded in {lock}" in err
    assert yaml.safe_load(lock.read_text())["benchmarks"]["web"]["sha256"] == SHA


def test_lock_entry_of_another_source_is_refused(tmp_path, server, capsys):
    manifest(tmp_path, web={"source": {"url": server.url("/toy/test.jsonl")}, "sha256": "lock",
                              "loader": "normalized"})
    assert problems(tmp_path, "web") == 0
    server.files["/v2/test.jsonl"] = DATA
    manifest(tmp_path, web={"source": {"url": server.url("/v2/test.jsonl")}, "sha256": "lock",
                              "loader": "normalized"})
    assert problems(tmp_path, "web") == 2
    assert "was recorded for source" in capsys.readouterr().err


def test_a_wrong_count_is_not_locked(tmp_path, server):
    manifest(tmp_path, web={"source": {"url": server.url("/toy/test.jsonl")}, "sha256": "lock",
                              "loader": "normalized", "n_problems": 5})
    assert problems(tmp_path, "web") == 2
    assert not (tmp_path / "benchmarks.lock.yaml").exists()


def test_workflow_generated_local_benchmark(tmp_path):
    data = tmp_path / "toy" / "test.jsonl"
    data.parent.mkdir()
    data.write_text("".join(json.dumps({"problem_id": f"toy-{i}", "question": f"{i}+1=",
                                        "answer": str(i + 1), "meta": {"m": 2}}) + "\n" for i in range(3)))
    manifest(tmp_path, toy={"source": {"local": str(data)}, "loader": "normalized"})
    assert problems(tmp_path, "toy") == 0
    table = read_parquet(tmp_path / "problems" / "toy.parquet")
    assert table["problem_id"].to_list() == ["toy-0", "toy-1", "toy-2"]
    sidecar = read_json(tmp_path / "problems" / "toy.json")
    assert sidecar["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert sidecar["sha256_check"] == "unchecked" and sidecar["source"] == {"local": str(data)}


def test_unknown_benchmark(tmp_path, server, capsys):
    manifest(tmp_path, web={"source": {"url": server.url("/toy/test.jsonl")}, "sha256": SHA,
                              "loader": "normalized"})
    assert problems(tmp_path, "math") == 2
    assert "no benchmark 'math'; known: ['web']" in capsys.readouterr().err
