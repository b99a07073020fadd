"""A code benchmark through the workflow's own stages: manifest -> problems -> samples -> verify (sandboxed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import yaml

from rlvr_limits import io
from rlvr_limits.cli import main
from rlvr_limits.tables import SAMPLE_COLUMNS, conform
from rlvr_limits.verify.code.sandbox import BUBBLEWRAP, FALLBACKS

FIXTURE = Path(__file__).parent / "data" / "code" / "evalplus_humaneval.jsonl"


def test_humaneval_plus_problems_verify_in_the_sandbox(tmp_path: Path) -> None:
    shutil.copy(FIXTURE, tmp_path / "he.jsonl")
    n = sum(1 for _ in FIXTURE.open())
    manifest = tmp_path / "benchmarks.yaml"
    manifest.write_text(yaml.safe_dump({"benchmarks": {"he": {
        "type": "code", "source": {"local": str(tmp_path / "he.jsonl")}, "format": "jsonl",
        "loader": "humaneval_plus", "n_problems": n, "license": "MIT", "description": "fixture"}}}))
    problems_path = tmp_path / "problems.parquet"
    assert main(["problems", "--bench", "he", "--manifest", str(manifest), "--lock", str(tmp_path / "lock.yaml"),
                 "--download-dir", str(tmp_path / "dl"), "--out", str(problems_path)]) == 0
    problems = io.read_parquet(problems_path)
    assert problems.height == n and set(problems["answer_type"]) == {"code"}

    rows = []
    for pid, prompt, solution in problems.select("problem_id", "question", "answer").iter_rows():
        program = prompt + solution if "def " not in solution else solution
        rows.append({"problem_id": pid, "sample_idx": 0, "text": f"```python\n{program}\n```"})
        rows.append({"problem_id": pid, "sample_idx": 1, "text": "```python\nimport os\nos.system('true')\n```"})
        rows.append({"problem_id": pid, "sample_idx": 2, "text": "I cannot write code for this."})
    samples = pl.DataFrame(rows).with_columns(seed=0, prompt_tokens=1, n_tokens=1, finish_reason=pl.lit("stop"),
                                              entropy=0.0)
    samples_path = tmp_path / f"p0-{n - 1}_s0-2.parquet"  # a sample block: every problem x samples 0..2
    io.write_parquet(conform(samples, SAMPLE_COLUMNS), samples_path)

    out = tmp_path / "verdicts.parquet"
    spec = {"benchmark": "he", "verifiers": ["code"], "settings": {"workers": 2}, "n_samples": 3}
    assert main(["verify", "--problems", str(problems_path), "--samples", str(samples_path),
                 "--spec", json.dumps(spec), "--out", str(out)]) == 0
    verdicts = io.read_parquet(out).sort("problem_id", "sample_idx")
    by_idx = {idx: set(v) for idx, v in verdicts.group_by("sample_idx").agg("verdict").iter_rows()}
    assert by_idx[0] == {"correct"}
    assert "correct" not in by_idx[1]
    assert by_idx[2] == {"no_code"}
    sidecar = io.read_json(out.with_suffix(".json"))
    assert sidecar["verifiers"]["code"]["isolation"] in (BUBBLEWRAP, *FALLBACKS)
