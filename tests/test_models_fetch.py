"""The `model` stage: local directories are checked and hashed; hub models come from a local fake Hub."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import constants as hf_constants
from safetensors.numpy import save, save_file

from httpfakes import FakeHub
from rlvr_limits.cli import main
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_json
from rlvr_limits.models.fetch import parse_spec, resolve, select_hub_files

CONFIG = {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "hidden_size": 8}


def model_dir(root: Path, sharded: bool = False) -> Path:
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps(CONFIG))
    (root / "tokenizer.json").write_text(json.dumps({"version": "1.0", "model": {"type": "BPE"}}))
    (root / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|endoftext|>"}))
    (root / "README.md").write_text("not hashed")
    if sharded:
        save_file({"a": np.ones((2, 2), np.float32)}, root / "model-00001-of-00002.safetensors")
        save_file({"b": np.zeros(3, np.float32)}, root / "model-00002-of-00002.safetensors")
        index = {"weight_map": {"a": "model-00001-of-00002.safetensors",
                                "b": "model-00002-of-00002.safetensors"}}
        (root / "model.safetensors.index.json").write_text(json.dumps(index))
    else:
        save_file({"w": np.arange(6, dtype=np.float32)}, root / "model.safetensors")
    return root


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_local_model_is_checked_and_hashed(tmp_path):
    root = model_dir(tmp_path / "m")
    record = resolve("m", {"path": str(root)})
    assert record["source"] == "local" and record["path"] == str(root)
    assert record["hf_id"] is None and record["revision_resolved"] is None
    assert record["model_type"] == "qwen2" and record["architectures"] == ["Qwen2ForCausalLM"]
    assert record["sha256"] == {n: sha(root / n) for n in ("config.json", "tokenizer.json",
                                                            "tokenizer_config.json", "model.safetensors")}
    assert record["bytes"] == sum((root / n).stat().st_size for n in record["sha256"])


def test_sharded_weights_with_their_index(tmp_path):
    root = model_dir(tmp_path / "m", sharded=True)
    names = list(resolve("m", {"path": str(root)})["sha256"])
    assert names[-3:] == ["model.safetensors.index.json", "model-00001-of-00002.safetensors",
                          "model-00002-of-00002.safetensors"]


def test_cli_writes_the_record(tmp_path):
    root = model_dir(tmp_path / "m")
    out = tmp_path / "models" / "m.json"
    assert main(["model", "--name", "m", "--spec", json.dumps({"path": str(root)}), "--out", str(out)]) == 0
    assert read_json(out)["sha256"]["model.safetensors"] == sha(root / "model.safetensors")


def break_dir(root: Path, how: str) -> None:
    if how == "no config":
        (root / "config.json").unlink()
    elif how == "bad config":
        (root / "config.json").write_text("{")
    elif how == "config without type":
        (root / "config.json").write_text("{}")
    elif how == "no tokenizer":
        (root / "tokenizer.json").unlink()
    elif how == "no weights":
        (root / "model.safetensors").unlink()
    elif how == "truncated weights":
        data = (root / "model.safetensors").read_bytes()
        (root / "model.safetensors").write_bytes(data[:-4])
    elif how == "garbage weights":
        (root / "model.safetensors").write_bytes(b"\xff" * 16)
    elif how == "missing shard":
        (root / "model.safetensors").rename(root / "model-00001-of-00001.safetensors")
        (root / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
            "w": "model-00001-of-00001.safetensors", "v": "model-00002-of-00002.safetensors"}}))


@pytest.mark.parametrize(("how", "message"), [
    ("no config", "no config.json"),
    ("bad config", "config.json: not valid JSON"),
    ("config without type", "neither `model_type` nor `architectures`"),
    ("no tokenizer", "no tokenizer files"),
    ("no weights", "no weights"),
    ("truncated weights", "truncated or corrupt"),
    ("garbage weights", "not a complete safetensors file"),
    ("missing shard", "shards listed in model.safetensors.index.json are missing"),
])
def test_unloadable_directories_are_refused(tmp_path, how, message):
    root = model_dir(tmp_path / "m")
    break_dir(root, how)
    with pytest.raises(UserError, match=message):
        resolve("m", {"path": str(root)})


def test_missing_directory(tmp_path):
    with pytest.raises(UserError, match="model directory not found"):
        resolve("m", {"path": str(tmp_path / "nowhere")})


@pytest.mark.parametrize(("spec", "message"), [
    ("{", "invalid JSON"),
    ("[1]", "expected a JSON object"),
    ('{"path": "a", "hf_id": "b"}', "exactly one of `path`"),
    ("{}", "exactly one of `path`"),
    ('{"hf_id": "org/m"}', "`revision` is required"),
    ('{"path": "a", "revision": "x"}', "apply to `hf_id` models only"),
    ('{"path": "a", "engine": "hf"}', "unknown keys ['engine']"),
    ('{"hf_id": "org/m", "revision": ""}', "`revision` must be a non-empty string"),
    ('{"path": "a", "weights": "no"}', "`weights` must be true or false"),
])
def test_bad_specs(spec, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_spec(spec, "m")


def test_hub_file_selection_prefers_safetensors_and_skips_subfolders():
    files = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json",
             "merges.txt", "README.md", ".gitattributes", "model-00001-of-00002.safetensors",
             "model-00002-of-00002.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
             "pytorch_model.bin.index.json", "original/consolidated.safetensors", "LICENSE"]
    assert select_hub_files(files) == sorted([
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json",
        "merges.txt", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        "model.safetensors.index.json"])
    assert "pytorch_model.bin" in select_hub_files(["config.json", "tokenizer.json", "pytorch_model.bin"])
    with pytest.raises(UserError, match="no top-level weights"):
        select_hub_files(["config.json", "tokenizer.json"])


def hub_files() -> dict[str, bytes]:
    return {"config.json": json.dumps(CONFIG).encode(), "tokenizer.json": b'{"model": {}}',
            "tokenizer_config.json": b"{}", "model.safetensors": save({"w": np.ones(4, np.float32)}),
            "pytorch_model.bin": b"old weights", "README.md": b"card"}


@pytest.fixture
def hub():
    with FakeHub() as h:
        yield h


def test_hub_model_is_downloaded_at_the_revision_and_recorded(tmp_path, hub):
    commit = hub.add("org/tiny", hub_files(), refs=("main", "v1"))
    spec = {"hf_id": "org/tiny", "revision": "v1", "cache_dir": str(tmp_path / "hf")}
    record = resolve("tiny", spec, endpoint=hub.base)
    path = Path(record["path"])
    assert record["source"] == "hub" and record["hf_id"] == "org/tiny"
    assert record["revision_requested"] == "v1" and record["revision_resolved"] == commit
    assert path.name == commit and path.is_relative_to(tmp_path / "hf")
    assert sorted(record["sha256"]) == ["config.json", "model.safetensors", "tokenizer.json",
                                        "tokenizer_config.json"]
    weights = hub_files()["model.safetensors"]
    assert record["sha256"]["model.safetensors"] == hashlib.sha256(weights).hexdigest()
    assert hub.downloads("pytorch_model.bin") == 0 and hub.downloads("README.md") == 0


def test_a_model_a_server_runs_fetches_its_config_and_tokenizer_only(tmp_path, hub):
    hub.add("org/tiny", hub_files(), refs=("main",))
    spec = {"hf_id": "org/tiny", "revision": "main", "cache_dir": str(tmp_path / "hf"), "weights": False}
    record = resolve("tiny", spec, endpoint=hub.base)
    assert sorted(record["sha256"]) == ["config.json", "tokenizer.json", "tokenizer_config.json"]
    assert record["weights"] is False and hub.downloads("model.safetensors") == 0
    tokenizer_only = model_dir(tmp_path / "local")
    (tokenizer_only / "model.safetensors").unlink()
    assert "weights" not in resolve("m", {"path": str(tokenizer_only), "weights": False})["sha256"]
    with pytest.raises(UserError, match="no weights"):
        resolve("m", {"path": str(tokenizer_only)})


def test_hub_model_from_the_cache_when_offline(tmp_path, hub, monkeypatch):
    commit = hub.add("org/tiny", hub_files(), refs=("main", "v1"))
    spec = {"hf_id": "org/tiny", "revision": "v1", "cache_dir": str(tmp_path / "hf")}
    online = resolve("tiny", spec, endpoint=hub.base)
    served = sum(hub.requests.values())
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    offline = resolve("tiny", spec, endpoint=hub.base)
    assert offline["path"] == online["path"] and offline["revision_resolved"] == commit
    assert offline["sha256"] == online["sha256"] and sum(hub.requests.values()) == served


def test_hub_model_offline_without_cache_says_to_download_with_internet(tmp_path, hub, monkeypatch):
    hub.add("org/tiny", hub_files())
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    spec = {"hf_id": "org/tiny", "revision": "main", "cache_dir": str(tmp_path / "hf")}
    with pytest.raises(UserError, match="on a machine with internet first"):
        resolve("tiny", spec, endpoint=hub.base)


@pytest.mark.parametrize(("hf_id", "revision", "message"), [
    ("org/absent", "main", "repository not found"),
    ("org/tiny", "v9", "revision not found"),
])
def test_hub_errors_are_explained(tmp_path, hub, hf_id, revision, message):
    hub.add("org/tiny", hub_files())
    spec = {"hf_id": hf_id, "revision": revision, "cache_dir": str(tmp_path / "hf")}
    with pytest.raises(UserError, match=message):
        resolve("tiny", spec, endpoint=hub.base)


def test_hub_repository_without_weights_is_refused(tmp_path, hub):
    hub.add("org/notamodel", {"config.json": b"{}", "README.md": b"x"})
    spec = {"hf_id": "org/notamodel", "revision": "main", "cache_dir": str(tmp_path / "hf")}
    with pytest.raises(UserError, match="model org/notamodel@main: the repository has no top-level weights"):
        resolve("x", spec, endpoint=hub.base)


def test_a_branch_is_locked_to_its_first_commit(tmp_path, hub):
    lock = tmp_path / "models.lock.yaml"
    first = hub.add("org/tiny", hub_files())
    spec = {"hf_id": "org/tiny", "revision": "main", "cache_dir": str(tmp_path / "hf"), "lock": str(lock)}
    assert resolve("tiny", spec, endpoint=hub.base)["revision_resolved"] == first
    assert f"org/tiny@main:\n    commit: {first}" in lock.read_text()
    # The branch moves; the study keeps asking for the recorded commit instead of silently taking the new one.
    moved = hub.add("org/tiny", {**hub_files(), "model.safetensors": save({"w": np.zeros(4, np.float32)})})
    assert moved != first
    with pytest.raises(UserError, match=first[:12]):
        resolve("tiny", spec, endpoint=hub.base)
    # Refreshing on purpose: delete the entry and resolve again.
    lock.write_text("models: {}\n")
    assert resolve("tiny", spec, endpoint=hub.base)["revision_resolved"] == moved
    assert f"commit: {moved}" in lock.read_text()


def test_a_damaged_model_lock_is_refused(tmp_path, hub):
    lock = tmp_path / "models.lock.yaml"
    lock.write_text("models: {'org/tiny@main': {commit: nope}}\n")
    hub.add("org/tiny", hub_files())
    spec = {"hf_id": "org/tiny", "revision": "main", "cache_dir": str(tmp_path / "hf"), "lock": str(lock)}
    with pytest.raises(UserError, match=r"models\.lock\.yaml: expected `models:`"):
        resolve("tiny", spec, endpoint=hub.base)
