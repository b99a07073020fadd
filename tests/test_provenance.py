"""The provenance record: git state, packages, model revisions, dataset hashes, hardware, config hash."""

from __future__ import annotations

import json
import subprocess
from importlib import metadata

import pytest

from rlvr_limits.cli import main
from rlvr_limits.io import read_json, write_json
from rlvr_limits.provenance import config_sha256, git_state

CONFIG = {"seed": 1234, "sampling": {"temperature": 1.0, "top_p": 1.0}, "models": {"toy_base": {"path": "x"}}}
MODEL = {"name": "toy_base", "source": "hub", "path": "/cache/snap/abc", "hf_id": "org/m",
         "revision_requested": "main", "revision_resolved": "a" * 40, "model_type": "qwen2", "bytes": 10,
         "sha256": {"config.json": "b" * 64}, "time": "2025-01-01T00:00:00+00:00"}
SIDECAR = {"benchmark": "gsm8k", "source": {"url": "https://x/test.jsonl"}, "revision": None,
           "sha256": "c" * 64, "sha256_check": "pinned", "n_problems": 1319,
           "license": "MIT"}


def run(tmp_path, config=CONFIG, models=(MODEL,), sidecars=(SIDECAR,)) -> tuple[int, dict | None]:
    model_paths, sidecar_paths = [], []
    for i, m in enumerate(models):
        write_json(m, tmp_path / f"m{i}.json")
        model_paths.append(str(tmp_path / f"m{i}.json"))
    for i, s in enumerate(sidecars):
        write_json(s, tmp_path / f"p{i}.json")
        sidecar_paths.append(str(tmp_path / f"p{i}.json"))
    out = tmp_path / "provenance.json"
    text = config if isinstance(config, str) else json.dumps(config)
    rc = main(["provenance", "--config-json", text, "--models", *model_paths, "--problems", *sidecar_paths,
               "--out", str(out)])
    return rc, (read_json(out) if rc == 0 else None)


def test_provenance_records_everything_that_shapes_the_numbers(tmp_path):
    rc, prov = run(tmp_path)
    assert rc == 0
    assert prov["models"]["toy_base"]["revision_resolved"] == "a" * 40
    assert prov["models"]["toy_base"]["sha256"] == {"config.json": "b" * 64}
    assert prov["datasets"]["gsm8k"]["sha256"] == "c" * 64 and prov["datasets"]["gsm8k"]["n_problems"] == 1319
    assert prov["packages"]["polars"] == metadata.version("polars")
    assert prov["packages"]["snakemake"] == metadata.version("snakemake")
    assert "vllm" in prov["packages"]
    assert prov["hardware"]["cpu_logical"] >= 1 and prov["hardware"]["ram_bytes"] > 0
    assert isinstance(prov["hardware"]["gpus"], list)
    assert prov["config"] == CONFIG and prov["config_sha256"] == config_sha256(CONFIG)
    assert set(prov["workflow"]) >= {"git_sha", "dirty"}


def test_config_hash_ignores_key_order_but_not_values():
    reordered = {"models": CONFIG["models"], "sampling": {"top_p": 1.0, "temperature": 1.0}, "seed": 1234}
    assert config_sha256(reordered) == config_sha256(CONFIG)
    changed = {**CONFIG, "sampling": {"temperature": 0.6, "top_p": 1.0}}
    assert config_sha256(changed) != config_sha256(CONFIG)


def test_config_can_be_read_from_a_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(CONFIG))
    rc, prov = run(tmp_path, config=f"@{path}")
    assert rc == 0 and prov["config_sha256"] == config_sha256(CONFIG)


def test_git_state_of_a_checkout(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "a.txt").write_text("1")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    clean = git_state(repo)
    assert len(clean["git_sha"]) == 40 and clean["dirty"] is False
    (repo / "a.txt").write_text("2")
    assert git_state(repo)["dirty"] is True
    outside = tmp_path / "plain"
    outside.mkdir()
    assert git_state(outside)["root"] != str(repo)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"config": "{not json"}, "--config-json: invalid JSON"),
    ({"config": "@/nonexistent/config.json"}, "config file not found"),
    ({"models": ({"name": "x"},)}, "not a model record"),
    ({"sidecars": ({"sha256": "x"},)}, "not a problems sidecar"),
])
def test_bad_inputs_are_named(tmp_path, capsys, kwargs, message):
    rc, _ = run(tmp_path, **kwargs)
    assert rc == 2 and message in capsys.readouterr().err
