"""The server engine against a real vLLM server (`python -m rlvr_limits serve`, vLLM's CPU build here): a block drawn
through it agrees in pass@k with the in-process vLLM engine and fills the entropy column; a server killed mid-block
fails the job with a clear message, and once it is restarted the rerun completes with nothing lost or duplicated."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import psutil
import pytest

from rlvr_limits.analysis.bootstrap import percentile_bounds, resample_weights, resampled_means
from rlvr_limits.analysis.passk import pass_at_k_matrix
from rlvr_limits.cli import main
from rlvr_limits.io import read_parquet
from rlvr_limits.sampling.serve import wait_until_serving
from tiny_model import write_sample_inputs

pytestmark = pytest.mark.vllm

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "resources" / "prompts" / "toy.yaml"
VOCAB = b"0123456789+=;?"
MAX_MODEL_LEN = 96
MEMORY_SHARE = 0.05
QUESTIONS = [f"{a}+{b}?" for a, b in ((12, 34), (5, 7), (61, 8), (3, 3), (40, 44), (9, 90), (25, 25), (7, 1),
                                      (18, 2), (33, 66), (70, 7), (4, 56), (11, 11), (80, 19), (6, 60), (2, 9))]
KS = [1, 4, 16]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VllmServer:
    """`python -m rlvr_limits serve` of the tiny model on a free port; `kill` SIGKILLs vLLM itself."""

    def __init__(self, model: Path, log: Path) -> None:
        self.model, self.log, self.port = model, log, free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> float:
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rlvr_limits", "serve", "--model", str(self.model), "--name", "tiny", "--port",
             str(self.port), "--max-model-len", str(MAX_MODEL_LEN), "--dtype", "float32", "--gpu-memory-utilization",
             str(MEMORY_SHARE), "--server-log", str(self.log)], cwd=ROOT, start_new_session=True)
        wait_until_serving(self.base_url, self.process, 300, self.log)
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL the server (not the wrapper), as a node failure would."""
        for child in psutil.Process(self.process.pid).children():
            os.killpg(child.pid, signal.SIGKILL)
        self.process.wait(timeout=60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=120)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("server")
    model, record, problems = write_sample_inputs(root, QUESTIONS, vocab=VOCAB, hidden=64, heads=2, kv_heads=1,
                                                  intermediate=128, generation_eos=(";",))
    return {"root": root, "model": model, "record": record, "problems": problems}


@pytest.fixture(scope="module")
def server(setup: dict[str, Path]) -> Iterator[VllmServer]:
    served = VllmServer(setup["model"], setup["root"] / "server.log")
    print(f"vLLM server answered after {served.start():.0f} s")
    yield served
    served.stop()


def argv(setup: dict[str, Path], run: str, engine: str, block: str, **settings: object) -> list[str]:
    out = setup["root"] / run
    draw = {"model": "tiny", "dataset": "sums", "engine": engine, "max_tokens": 24, "temperature": 1.0,
            "top_p": 0.95, "top_k": -1, "seed": 5, "dtype": "float32"}
    return ["sample", "--problems", str(setup["problems"]), "--model", str(setup["record"]), "--template", str(TOY),
            "--draw", json.dumps(draw), "--settings", json.dumps({"max_model_len": MAX_MODEL_LEN, **settings}),
            "--block", block, "--out", str(out / f"{block}.parquet"), "--journal", str(out / "journal.jsonl")]


def test_a_block_through_the_server_agrees_with_the_in_process_engine(setup, server: VllmServer) -> None:
    """Problem p counts as solved by a sample containing its digit p mod 10, so the engines' pass@k differ only by
    sampling noise; their paired difference must have a 95% interval holding zero."""
    block = "p0-15_s0-31"
    started = time.monotonic()
    assert main(argv(setup, "via-server", "server", block, server={"base_url": server.base_url, "model": "tiny",
                                                                   "concurrency": 8})) == 0
    server_s = time.monotonic() - started
    # the in-process engine in a job of its own, as the workflow runs it (vLLM stops with the process)
    local_job = subprocess.run([sys.executable, "-m", "rlvr_limits", *argv(setup, "in-process", "vllm", block,
                                                                          gpu_memory_utilization=MEMORY_SHARE)],
                               cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert local_job.returncode == 0, local_job.stderr[-4000:]
    tables = {name: read_parquet(setup["root"] / name / f"{block}.parquet").sort("problem_id", "sample_idx")
              for name in ("via-server", "in-process")}
    served, local = tables["via-server"], tables["in-process"]
    assert served.select("problem_id", "sample_idx", "seed").equals(local.select("problem_id", "sample_idx", "seed"))
    assert served["entropy"].is_finite().all() and (served["entropy"] > 0).mean() > 0.5
    assert set(served["finish_reason"]) <= {"stop", "length"}
    curves = {}
    for name, table in tables.items():
        correct = np.array([sum(str(p % 10) in text for text in table.filter(pl.col("problem_id") == f"q{p:02d}")
                                ["text"]) for p in range(len(QUESTIONS))])
        curves[name] = pass_at_k_matrix(np.full(len(QUESTIONS), 32), correct, KS)
    low, high = percentile_bounds(resampled_means(curves["via-server"] - curves["in-process"],
                                                  resample_weights(len(QUESTIONS), 2000, seed=11)), 0.95)
    same = float((served["text"] == local["text"]).mean())
    print(f"512 samples through the server in {server_s:.1f} s; {same:.1%} of texts equal the in-process engine's")
    for j, k in enumerate(KS):
        print(f"pass@{k}: server {curves['via-server'][:, j].mean():.3f}, in-process "
              f"{curves['in-process'][:, j].mean():.3f}, paired interval [{low[j]:+.3f}, {high[j]:+.3f}]")
        assert low[j] <= 0 <= high[j], k
    side = json.loads((setup["root"] / "via-server" / f"{block}.json").read_text())
    assert side["engine"]["served"][0]["root"] == str(setup["model"])


def test_a_server_killed_mid_block_fails_the_job_and_the_rerun_completes_it(setup, server: VllmServer) -> None:
    block = "p0-15_s0-63"
    args = argv(setup, "killed", "server", block, server={"base_url": server.base_url, "model": "tiny",
                                                          "concurrency": 2, "retries": 2, "backoff_s": 0.2})
    journal = setup["root"] / "killed" / "journal.jsonl"
    job = subprocess.Popen([sys.executable, "-m", "rlvr_limits", *args], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not journal.exists() or len(journal.read_text().splitlines()) < 100):
        time.sleep(0.1)
    server.kill()
    _, err = job.communicate(timeout=120)
    assert job.returncode == 2, err
    kept = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    assert 100 <= len(kept) < 1024
    assert f"{len(kept)} finished and are kept" in err and "ConnectError" in err, err
    print(f"killed after {len(kept)} of 1024 samples; the job said: {err.strip().splitlines()[-1]}")

    print(f"vLLM server answered again after {server.start():.0f} s")
    assert main(args) == 0
    table = read_parquet(setup["root"] / "killed" / f"{block}.parquet")
    assert table.height == 1024 and table.select("problem_id", "sample_idx").n_unique() == 1024
    side = json.loads((setup["root"] / "killed" / f"{block}.json").read_text())
    assert side["samples_from_journal"] == len(kept) and side["samples_drawn"] == 1024 - len(kept)
    rows = {(r["problem_id"], r["sample_idx"]): r for r in table.iter_rows(named=True)}
    assert all(rows[(r["problem_id"], r["sample_idx"])]["text"] == r["text"] for r in kept)
    assert table["entropy"].is_finite().all()


def test_scoring_through_the_server_agrees_with_the_hf_engine(setup, server: VllmServer) -> None:
    from transformers import AutoTokenizer

    from rlvr_limits.sampling.hf import HFEngine
    from rlvr_limits.sampling.server_engine import ServerEngine, ServerSettings

    tokenizer = AutoTokenizer.from_pretrained(setup["model"])
    served = ServerEngine(ServerSettings.from_dict({"base_url": server.base_url, "model": "tiny"}), tokenizer,
                          MAX_MODEL_LEN)
    hf = HFEngine.from_pretrained(setup["model"], tokenizer=tokenizer, dtype="float32", threads=None)
    pairs = [(tokenizer.encode(q), tokenizer.encode(f"{sum(map(int, q[:-1].split('+')))};")) for q in QUESTIONS]
    ours, reference = served.score_batch(pairs), hf.score_batch(pairs)
    gap = max(abs(a - b) for x, y in zip(ours, reference, strict=True) for a, b in zip(x, y, strict=True))
    assert gap < 1e-3, f"largest log-prob difference {gap:.2e}"


def test_the_workflow_samples_verifies_and_scores_pass_at_k_through_the_server(setup, server: VllmServer,
                                                                               tmp_path: Path) -> None:
    """The rules with a model on engine server: the model rule fetches no weights, the sample job asks no GPU."""
    import yaml

    problems = [{"problem_id": str(i), "question": q, "answer": a, "answer_type": "integer", "meta": "{}"}
                for i, (q, a) in enumerate([("1+2?", "3"), ("4+4?", "8"), ("2+7?", "9"), ("5+1?", "6")])]
    (tmp_path / "tiny.jsonl").write_text("".join(json.dumps(p) + "\n" for p in problems))
    (tmp_path / "benchmarks.yaml").write_text(yaml.safe_dump({"benchmarks": {"tiny": {
        "type": "math", "source": {"local": "tiny.jsonl"}, "format": "jsonl", "loader": "normalized",
        "n_problems": 4, "license": "CC0", "description": "four sums"}}}))
    config = {"seed": 7, "manifest": str(tmp_path / "benchmarks.yaml"),
              "sampling": {"temperature": 1.0, "top_p": 1.0, "shard": {"problems": 4, "samples": 8}},
              "models": {"tiny": {"path": str(setup["model"]), "engine": "server", "template": "toy", "role": "base",
                                  "max_model_len": MAX_MODEL_LEN,
                                  "server": {"base_url": server.base_url, "model": "tiny"}}},
              "benchmarks": {"tiny": {"n_samples": 8, "k_max": 8, "max_tokens": 12, "verifiers": ["math"]}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    targets = ["results/verdicts/tiny/tiny.parquet", "results/passk/tiny/tiny.parquet"]
    result = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory",
                             str(tmp_path), "--configfile", str(tmp_path / "config.yaml"), "--cores", "2", *targets],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-6000:]
    record = json.loads((tmp_path / "results" / "models" / "tiny.json").read_text())
    assert record["weights"] is False and not any(name.endswith(".safetensors") for name in record["sha256"])
    (block,) = (tmp_path / "results" / "samples" / "tiny" / "tiny").glob("*/p0-3_s0-7.parquet")
    assert json.loads(block.with_suffix(".json").read_text())["engine"]["engine"] == "server"
    assert read_parquet(block).height == 32 and read_parquet(tmp_path / targets[1])["k"].max() == 8
