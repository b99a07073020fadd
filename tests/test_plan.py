"""The plan: jobs per rule agree with Snakemake's own dry run of the paper config; tokens and GPU-hours add up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from rlvr_limits.config import WorkflowConfig
from rlvr_limits.errors import UserError
from rlvr_limits.plan import generations, job_counts, load_calibration, model_size, render_plan
from test_workflow import planned_jobs

ROOT = Path(__file__).resolve().parents[1]


def snakemake(workdir: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
                             "--directory", str(workdir), *args, "--configfile",
                             str(ROOT / "config" / "paper.yaml")], capture_output=True, text=True, env=env, timeout=600)
    return result, time.monotonic() - started


def paper_config(workdir: Path) -> WorkflowConfig:
    config = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    cwd = Path.cwd()
    os.chdir(workdir)  # user-supplied checkpoint paths are relative to the run's directory
    try:
        return WorkflowConfig.load(config, ROOT)
    finally:
        os.chdir(cwd)


def test_plan_counts_the_jobs_of_the_paper_dry_run(tmp_path: Path) -> None:
    result, elapsed = snakemake(tmp_path, "--dry-run")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    print(f"paper dry run: {elapsed:.1f} s")  # the target is under 10 s on an idle CPU machine
    assert elapsed < 120
    assert job_counts(paper_config(tmp_path)) == planned_jobs(out)
    # Without the never-released VeRL checkpoints the run says what it leaves out, then plans everything else.
    assert "user-supplied checkpoints not found: verl_ppo (checkpoints/verl/ppo)" in out
    assert "comparisons.rl_algorithms - RL algorithms from Qwen2.5-7B with VeRL (Fig. 8, 14; Table 2)" in out


def test_supplied_checkpoints_join_the_plan(tmp_path: Path) -> None:
    before = job_counts(paper_config(tmp_path))
    for name in ("ppo", "grpo_step150", "grpo_step300", "grpo_step450", "reinforce_pp", "rloo", "remax", "dapo",
                 "grpo_n32", "grpo_kl0.001"):
        (tmp_path / "checkpoints" / "verl" / name).mkdir(parents=True)
    (tmp_path / "checkpoints" / "easyr1" / "qwen2_5_vl_7b_geo3k_grpo").mkdir(parents=True)
    w = paper_config(tmp_path)
    after = job_counts(w)
    assert not w.missing_checkpoints and not w.skipped_comparisons
    assert after["training_steps"] == 1 and after["sampling_efficiency"] == 3 and "training_steps" not in before
    # omni_math_train, omni_math_test, math500_n256; mathvista_testmini, mathvision_testmini
    assert after["problems"] == before["problems"] + 5


def test_snakemake_plan_prints_tokens_and_gpu_hours(tmp_path: Path) -> None:
    """The README's command as written: `snakemake plan --configfile config/paper.yaml`, no --cores."""
    result, _ = snakemake(tmp_path, "plan")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "Jobs per rule" in out and "GPU-hours of sampling still to spend per model (H100-80GB" in out
    assert "Total: " in out and " GPU-hours of sampling on H100-80GB" in out
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*.parquet"))


def test_tokens_follow_n_problems_and_response_length(tmp_path: Path) -> None:
    w = paper_config(tmp_path)
    calibration = load_calibration(ROOT / "resources" / "calibration.yaml")
    gens = {(g.model, g.benchmark): g for g in generations(w, calibration)}
    aime = gens[("qwen25_7b", "aime24")]
    assert aime.prompts == 30 * 1024 and aime.response_tokens == 700 and aime.tokens == 30 * 1024 * 700
    assert gens[("qwen25_7b_direct", "aime24")].response_tokens == 12
    assert gens[("qwen25_math_7b_instruct", "minerva_math")].response_tokens == 650  # below its 3072 cap
    assert gens[("deepcoder_14b", "livecodebench_v5")].response_tokens == 12000
    assert model_size(w.models["dapo_32b"]) == 32 and model_size(w.models["coder1_zero_7b"]) == 7
    text = render_plan(w, calibration)
    assert "dapo_32b" in text and "x 2 GPU" in text


def test_a_grown_n_costs_only_the_new_samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """AIME24 drawn at n=128, then asked at n=1024 (the paper's move): the plan counts the 896 new samples per
    problem, their tokens and GPU-hours, beside the 128 drawn; the blocks' names are all it reads."""
    monkeypatch.chdir(tmp_path)
    calibration = load_calibration(ROOT / "resources" / "calibration.yaml")
    config = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    config["benchmarks"]["aime24"].update(n_samples=128, k_max=128)
    drawn = WorkflowConfig.load(config, ROOT)
    folder = drawn.draw_folder("qwen25_7b", "aime24")
    folder.mkdir(parents=True)
    for block in drawn.sample_plan("qwen25_7b", "aime24").new:
        (folder / f"{block.name}.parquet").touch()
    config["benchmarks"]["aime24"].update(n_samples=1024, k_max=1024)
    grown = WorkflowConfig.load(config, ROOT)
    gens = {(g.model, g.benchmark): g for g in generations(grown, calibration)}
    aime = gens[("qwen25_7b", "aime24")]
    assert (aime.prompts, aime.drawn, aime.tokens) == (30 * 896, 30 * 128, 30 * 896 * 700)
    assert gens[("simplerl_zoo_7b", "aime24")].prompts == 30 * 1024  # nothing drawn for the RL model
    assert [b.name for b in grown.sample_plan("qwen25_7b", "aime24").new] == [
        f"p0-29_s{s}-{s + 127}" for s in range(128, 1024, 128)]  # blocks of (up to) 100 problems x 128 samples
    text = render_plan(grown, calibration)
    assert f"{30 * 128:,} samples already drawn are reused" in text


@pytest.mark.parametrize("text,match", [
    ("card: X\nthroughput: {}\nresponse_tokens: {}\n", "no throughput for card 'X'"),
    ("card: H\nthroughput: {H: {7: {tokens_per_s: 10}}}\nresponse_tokens: {a: {tokens: 1, source: s}}\n",
     r"throughput.H.7 must be \{tokens_per_s"),
    ("- a\n", "needs the keys card, throughput and response_tokens"),
])
def test_calibration_mistakes_are_named(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "calibration.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=match):
        load_calibration(path)
