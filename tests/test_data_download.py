"""Benchmark downloads from a local HTTP server and a local fake Hub: checksums, retries, truncation."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from huggingface_hub import constants as hf_constants

from httpfakes import FakeHub, FileServer
from rlvr_limits.data.download import Fetched, fetch, file_sha256
from rlvr_limits.data.manifest import Benchmark, load_manifest
from rlvr_limits.errors import UserError

FIXTURE = Path(__file__).parent / "data" / "fixtures" / "math" / "gsm8k" / "test.jsonl"
DATA = FIXTURE.read_bytes()
SHA = hashlib.sha256(DATA).hexdigest()
PATH = "/hkust-nlp/simpleRL-reason/abc/data/gsm8k/test.jsonl"


def bench(tmp_path: Path, source: dict, sha256: str | None = SHA) -> Benchmark:
    entry = {"type": "math", "source": source, "format": "jsonl", "loader": "gsm8k", "n_problems": 3,
             "license": "MIT", "description": "GSM8K sample"}
    if sha256 is not None:
        entry["sha256"] = sha256
    path = tmp_path / "benchmarks.yaml"
    path.write_text(yaml.safe_dump({"benchmarks": {"gsm8k": entry}}))
    return load_manifest(path)["gsm8k"]


def get(tmp_path: Path, b: Benchmark, **kw) -> Fetched:
    (got,) = fetch(b, tmp_path / "downloads", tmp_path / "benchmarks.lock.yaml", backoff_s=0.0, **kw)
    return got


def leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "downloads").rglob("*") if p.is_file())


@pytest.fixture
def server():
    with FileServer({PATH: DATA}) as s:
        yield s


def test_download_checks_sha256_and_lands_under_the_final_name(tmp_path, server):
    got = get(tmp_path, bench(tmp_path, {"url": server.url(PATH)}))
    assert got.path == tmp_path / "downloads" / "gsm8k" / "test.jsonl"
    assert got.path.read_bytes() == DATA and got.sha256 == SHA and got.check == "pinned"
    assert got.revision is None
    assert leftovers(tmp_path) == ["test.jsonl"]


def test_a_good_earlier_download_is_reused_without_network(tmp_path, server):
    b = bench(tmp_path, {"url": server.url(PATH)})
    get(tmp_path, b)
    get(tmp_path, b)
    assert server.requests[f"GET {PATH}"] == 1


def test_checksum_mismatch_names_the_file_and_both_hashes(tmp_path, server):
    wrong = "0" * 64
    with pytest.raises(UserError) as info:
        get(tmp_path, bench(tmp_path, {"url": server.url(PATH)}, sha256=wrong))
    message = str(info.value)
    assert str(tmp_path / "downloads" / "gsm8k" / "test.jsonl") in message
    assert f"expected {wrong}" in message and f"got {SHA}" in message and "sha256 mismatch" in message
    assert leftovers(tmp_path) == []


def test_a_corrupt_cached_file_is_downloaded_again(tmp_path, server):
    target = tmp_path / "downloads" / "gsm8k" / "test.jsonl"
    target.parent.mkdir(parents=True)
    target.write_bytes(DATA[:-10])
    got = get(tmp_path, bench(tmp_path, {"url": server.url(PATH)}))
    assert got.path.read_bytes() == DATA and server.requests[f"GET {PATH}"] == 1


def test_server_errors_are_retried_with_backoff(tmp_path, server):
    server.failures[PATH] = ["503", "503"]
    got = get(tmp_path, bench(tmp_path, {"url": server.url(PATH)}))
    assert got.sha256 == SHA and server.requests[f"GET {PATH}"] == 3


def test_a_truncated_body_is_retried_and_never_kept(tmp_path, server):
    server.failures[PATH] = ["truncate"]
    got = get(tmp_path, bench(tmp_path, {"url": server.url(PATH)}))
    assert got.path.read_bytes() == DATA and server.requests[f"GET {PATH}"] == 2
    assert leftovers(tmp_path) == ["test.jsonl"]


def test_a_persistently_truncated_download_fails_without_a_partial_file(tmp_path, server):
    server.failures[PATH] = ["truncate"] * 10
    with pytest.raises(UserError) as info:
        get(tmp_path, bench(tmp_path, {"url": server.url(PATH)}), retries=2)
    assert "failed after 3 attempts" in str(info.value) and "truncated" in str(info.value)
    assert server.requests[f"GET {PATH}"] == 3
    assert leftovers(tmp_path) == []


def test_not_found_is_not_retried(tmp_path, server):
    url = server.url("/missing.jsonl")
    with pytest.raises(UserError, match="HTTP 404"):
        get(tmp_path, bench(tmp_path, {"url": url}))
    assert server.requests["GET /missing.jsonl"] == 1


def test_an_unreachable_server_fails_after_the_retries(tmp_path):
    with FileServer() as dead:
        url = dead.url(PATH)
    with pytest.raises(UserError, match="failed after 2 attempts"):
        get(tmp_path, bench(tmp_path, {"url": url}), retries=1, timeout_s=5)


def test_local_files_are_used_in_place_and_hashed(tmp_path):
    local = tmp_path / "made_by_a_rule.jsonl"
    local.write_bytes(DATA)
    got = get(tmp_path, bench(tmp_path, {"local": str(local)}, sha256=None))
    assert got.path == local and got.sha256 == SHA and got.check == "unchecked"
    pinned = get(tmp_path, bench(tmp_path, {"local": str(local)}))
    assert pinned.check == "pinned"
    with pytest.raises(UserError, match="sha256 mismatch"):
        get(tmp_path, bench(tmp_path, {"local": str(local)}, sha256="1" * 64))
    with pytest.raises(UserError, match="not found"):
        get(tmp_path, bench(tmp_path, {"local": str(tmp_path / "absent.jsonl")}, sha256=None))


@pytest.fixture
def hub():
    with FakeHub() as h:
        yield h


def hub_bench(tmp_path: Path, commit: str, sha256: str = SHA, repo: str = "org/math") -> Benchmark:
    return bench(tmp_path, {"hub": {"repo": repo, "repo_type": "dataset", "revision": commit,
                                    "path": "data/test.jsonl"}}, sha256=sha256)


def test_hub_file_is_fetched_at_the_pinned_revision(tmp_path, hub):
    commit = hub.add("org/math", {"data/test.jsonl": DATA, "README.md": b"hi"}, repo_type="dataset")
    got = get(tmp_path, hub_bench(tmp_path, commit), endpoint=hub.base)
    assert got.revision == commit and got.sha256 == SHA and file_sha256(got.path) == SHA
    assert got.path.is_relative_to(tmp_path / "downloads" / ".hub-cache")
    assert hub.downloads("data/test.jsonl") == 1


def test_hub_file_from_the_cache_when_offline(tmp_path, hub, monkeypatch):
    commit = hub.add("org/math", {"data/test.jsonl": DATA}, repo_type="dataset")
    first = get(tmp_path, hub_bench(tmp_path, commit), endpoint=hub.base)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    again = get(tmp_path, hub_bench(tmp_path, commit), endpoint=hub.base)
    assert again.path == first.path and again.revision == commit
    assert hub.downloads("data/test.jsonl") == 1


def test_hub_checksum_mismatch_names_the_file_and_both_hashes(tmp_path, hub):
    commit = hub.add("org/math", {"data/test.jsonl": DATA}, repo_type="dataset")
    with pytest.raises(UserError) as info:
        get(tmp_path, hub_bench(tmp_path, commit, sha256="2" * 64), endpoint=hub.base)
    message = str(info.value)
    assert "data/test.jsonl" in message and f"expected {'2' * 64}" in message and f"got {SHA}" in message


@pytest.mark.parametrize(("repo", "revision", "message"), [
    ("org/nothing", None, "repository not found"),
    ("org/math", "f" * 40, "revision not found"),
])
def test_hub_errors_are_explained(tmp_path, hub, repo, revision, message):
    commit = hub.add("org/math", {"data/test.jsonl": DATA}, repo_type="dataset")
    with pytest.raises(UserError, match=message):
        get(tmp_path, hub_bench(tmp_path, revision or commit, repo=repo), endpoint=hub.base)


def test_hub_missing_file_is_explained(tmp_path, hub):
    commit = hub.add("org/math", {"other.jsonl": DATA}, repo_type="dataset")
    with pytest.raises(UserError, match="file not found in the repository"):
        get(tmp_path, hub_bench(tmp_path, commit), endpoint=hub.base)


def test_hub_offline_without_cache_says_where_to_download(tmp_path, hub, monkeypatch):
    commit = hub.add("org/math", {"data/test.jsonl": DATA}, repo_type="dataset")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(UserError, match="on a machine with internet first"):
        get(tmp_path, hub_bench(tmp_path, commit), endpoint=hub.base)
    assert hub.downloads("data/test.jsonl") == 0
