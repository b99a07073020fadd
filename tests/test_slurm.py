"""`snakemake --profile slurm` on a real SLURM cluster: a single node started on this machine by
tests/slurm/cluster.sh (munged, slurmctld, slurmd; two GPUs declared through device files).

A reduced miniature runs once locally and once through SLURM, from the repository root as the README says. The
SLURM run must submit every non-local job with sbatch, give the GPU rules of a model on GPUs their GPU (and the
profile's CPUs per GPU and memory), keep downloads on the submit host, survive one sampling job killed with
`scancel` halfway through (the retry resumes from the sampling journal), and produce the same tables and samples
byte for byte.

Marked `slurm` and deselected by default (it installs and starts system daemons); `pytest -m slurm` runs it, as
.ci/run does. It skips only where SLURM cannot be installed, and with RLVR_LIMITS_REQUIRE_SLURM=1 (set by .ci/run)
it fails instead. The planning test at the top needs no cluster and runs in the default suite.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tiny_model import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
#: Jobs that must not reach sbatch: downloads, model resolution and the check before any GPU job run on the submit
#: host.
LOCAL_RULES = {"problems", "model", "check", "all"}
N_SAMPLES = 128


def environment() -> dict[str, str]:
    """This interpreter's tools first on PATH; the partition as the README says to give it."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "SBATCH_PARTITION": "gpu"}


def slurm_config(workdir: Path) -> dict[str, Any]:
    """Two models on four problems: `base` runs its jobs on a GPU (`gpu: true`, the hf engine uses whatever
    device it gets); `rl`, larger so that its sampling job runs for seconds, stays on CPUs."""
    problems = [{"problem_id": str(i), "question": q, "answer": a, "answer_type": "integer",
                 "meta": json.dumps({"solution": f"{q[:-1]}={a};\\boxed{{{a}}}"})}
                for i, (q, a) in enumerate([("1+2?", "3"), ("4+4?", "8"), ("2+7?", "9"), ("5+1?", "6")])]
    data = workdir / "data" / "tiny.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("".join(json.dumps(p) + "\n" for p in problems))
    manifest = workdir / "benchmarks.yaml"
    manifest.write_text(yaml.safe_dump({"benchmarks": {"tiny": {
        "type": "math", "source": {"local": "data/tiny.jsonl"}, "format": "jsonl", "loader": "normalized",
        "n_problems": 4, "reference": "solution", "license": "CC0", "description": "four sums"}}}))
    vocab = b"0123456789+?=;{}\\boxed"
    build_tiny_model(workdir / "models" / "base", vocab=vocab, seed=0)
    build_tiny_model(workdir / "models" / "rl", vocab=vocab, seed=1, hidden=256, layers=4, intermediate=512)
    model = {"engine": "hf", "template": "toy", "max_model_len": 64}
    config = {
        "seed": 7,
        "manifest": str(manifest),
        "sampling": {"temperature": 1.0, "top_p": 1.0, "shard": {"problems": 4, "samples": N_SAMPLES}},
        "models": {"base": {**model, "path": "models/base", "role": "base", "gpu": True},
                   "rl": {**model, "path": "models/rl", "role": "rl"}},
        "benchmarks": {"tiny": {"n_samples": N_SAMPLES, "k_max": N_SAMPLES, "max_tokens": 40,
                                "verifiers": ["math"]}},
        "comparisons": {"rl_vs_base": {"kind": "rl", "base": "base", "models": ["rl"], "benchmarks": ["tiny"]}},
        "analysis": {"bootstrap": 100, "perplexity": {"responses_per_problem": 1}},
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return config


def snakemake_from_root(workdir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", *args, "--directory", str(workdir),
            "--configfile", str(workdir / "config.yaml")]


def job_resources(dry_run_output: str) -> dict[tuple[str, str], dict[str, str]]:
    """(rule, wildcards) -> the job's resources, from the job listings of a dry run."""
    jobs = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:\n)", dry_run_output):
        rule = re.match(r"(?:local)?rule (\w+):\n", block)
        resources = re.search(r"^    resources: (.*)$", block, flags=re.MULTILINE)
        if rule and resources:
            wildcards = re.search(r"^    wildcards: (.*)$", block, flags=re.MULTILINE)
            key = (rule.group(1), wildcards.group(1) if wildcards else "")
            jobs[key] = dict(item.split("=", 1) for item in resources.group(1).split(", "))
    return jobs


def test_slurm_profile_plans_per_rule_resources(tmp_path: Path) -> None:
    """The cluster profile's per-rule resources reach the jobs (the workflow profile must not replace them),
    and GPU jobs ask for CPUs per GPU rather than a default CPUs per task that would override it."""
    slurm_config(tmp_path)
    result = subprocess.run(snakemake_from_root(tmp_path, "--profile", "slurm", "--dry-run"), cwd=ROOT,
                            capture_output=True, text=True, env=environment(), timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    resources = job_resources(result.stdout + result.stderr)
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    for (rule, wildcards), planned in resources.items():
        for key, value in profile["set-resources"].get(rule, {}).items():
            if key != "cpus_per_gpu" or planned.get("gpu", "0") != "0":
                assert planned.get(key) == str(value), (rule, wildcards, key, planned)
    sampling = {wildcards.split(",")[0]: planned for (rule, wildcards), planned in resources.items()
                if rule == "sample" and wildcards.endswith(f"block=p0-3_s0-{N_SAMPLES - 1}")}
    on_gpu = sampling["model=base"]
    assert on_gpu["gpu"] == "1" and "cpus_per_task" not in on_gpu, on_gpu
    assert sampling["model=rl"]["gpu"] == "0"
    assert resources[("perplexity", "scorer=base, generator=rl, bench=tiny")]["gpu"] == "1"


# --------------------------------------------------------------------------- the real cluster


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[None]:
    """The test cluster, up for the session and stopped after it (start is a no-op on a cluster already up)."""
    start = subprocess.run([str(CLUSTER), "start"], capture_output=True, text=True, timeout=900)
    if start.returncode == 2 and os.environ.get("RLVR_LIMITS_REQUIRE_SLURM") != "1":
        pytest.skip(f"SLURM TEST NOT RUN: no SLURM can be installed or run here ({start.stderr.strip()})")
    if start.returncode != 0:
        pytest.fail(f"the SLURM test cluster did not start:\n{start.stdout}\n{start.stderr}")
    try:
        yield
    finally:
        subprocess.run([str(CLUSTER), "stop"], capture_output=True, text=True, timeout=120)


def squeue(*fields: str) -> list[list[str]]:
    """Rows of `squeue` (every state it still lists) with the given format fields, '|'-separated."""
    out = subprocess.run(["squeue", "-h", "-t", "all", "-o", "|".join(fields)], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    return [line.split("|") for line in out.splitlines() if line.strip()]


def journal_records(path: Path) -> int:
    """Finished samples in a sampling journal (its first line is the header)."""
    return max(0, len(path.read_text().splitlines()) - 1) if path.exists() else 0


def cancel_sampling_halfway(workdir: Path, process: subprocess.Popen[bytes], timeout_s: float = 600) -> tuple[str, int]:
    """Wait until the `rl` sampling job runs with part of its samples journalled, then scancel it.
    Returns the SLURM job id and the samples journalled at that moment."""
    block = f"p0-3_s0-{N_SAMPLES - 1}"
    deadline = time.monotonic() + timeout_s
    journal = Path("(not started)")
    while time.monotonic() < deadline and process.poll() is None:
        running = [job for job, state, note in squeue("%i", "%T", "%k")
                   if note.startswith("rule_sample_wildcards_rl_tiny_") and note.endswith(block) and state == "RUNNING"]
        journal = next((workdir / "results" / "journals" / "rl" / "tiny").glob(f"*/{block}.jsonl"), journal)
        done = journal_records(journal)
        if running and 0 < done < N_SAMPLES * 4 // 2:
            subprocess.run(["scancel", running[0]], check=True, timeout=30)
            return running[0], done
        time.sleep(0.1)
    raise AssertionError(f"the rl sampling job never ran with a partial journal ({journal_records(journal)} samples)")


def slurm_jobs() -> dict[str, dict[str, str]]:
    """Every job the controller still knows (MinJobAge keeps finished ones for an hour): id -> fields."""
    out = subprocess.run(["scontrol", "-d", "-o", "show", "job"], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    jobs = {}
    for line in out.splitlines():
        fields = dict(re.findall(r"(\S+?)=(\S*)", line))
        jobs[fields["JobId"]] = fields
    return jobs


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The SLURM run, with one sampling job cancelled halfway; beside it (it mostly waits on the cluster),
    the same configuration run locally for comparison."""
    workdir, local = tmp_path_factory.mktemp("slurm"), tmp_path_factory.mktemp("local")
    slurm_config(workdir)
    slurm_config(local)
    # Output goes to files: a pipe nobody reads while the other run is awaited would fill and stall it.
    with open(local / "snakemake.out", "w") as local_log, open(workdir / "snakemake.out", "w") as slurm_log:
        local_process = subprocess.Popen(snakemake_from_root(local, "--cores", "2"), cwd=ROOT, stdout=local_log,
                                         stderr=subprocess.STDOUT, env=environment())
        started = time.monotonic()
        process = subprocess.Popen(
            snakemake_from_root(workdir, "--profile", "slurm", "--slurm-init-seconds-before-status-checks", "5"),
            cwd=ROOT, stdout=slurm_log, stderr=subprocess.STDOUT, env=environment())
        try:
            cancelled, journalled = cancel_sampling_halfway(workdir, process)
            process.wait(timeout=900)
            wall_s = time.monotonic() - started
            local_process.wait(timeout=900)
        finally:
            for proc in (process, local_process):
                if proc.poll() is None:
                    proc.kill()
    output = (workdir / "snakemake.out").read_text()
    assert local_process.returncode == 0, (local / "snakemake.out").read_text()[-6000:]
    assert process.returncode == 0, output[-6000:]
    jobs = {job_id: fields for job_id, fields in slurm_jobs().items() if fields.get("WorkDir") == str(workdir)}
    return {"workdir": workdir, "local": local, "output": output, "jobs": jobs, "cancelled": cancelled,
            "journalled": journalled, "wall_s": wall_s}


def submitted_rules(output: str) -> list[str]:
    return re.findall(r"^Job \d+ has been submitted with SLURM jobid \d+ \(log: .*?/slurm_logs/rule_(\w+?)/", output,
                      flags=re.MULTILINE)


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count, from the 'Job stats' table the run prints before it starts."""
    table = output.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.MULTILINE)
            if rule != "total"}


@pytest.mark.slurm
def test_every_cluster_job_goes_through_sbatch(slurm_run: dict[str, Any]) -> None:
    output, jobs = slurm_run["output"], slurm_run["jobs"]
    submitted: dict[str, int] = {}
    for rule in submitted_rules(output):
        submitted[rule] = submitted.get(rule, 0) + 1
    expected = {rule: n for rule, n in planned_jobs(output).items() if rule not in LOCAL_RULES}
    expected["sample"] += 1  # the cancelled job's retry
    assert submitted == expected
    assert len(jobs) == sum(submitted.values()), "each submission is a job of this run's directory"
    assert all(fields["JobState"] == "COMPLETED" for job_id, fields in jobs.items()
               if job_id != slurm_run["cancelled"])
    print(f"\n{sum(submitted.values())} jobs submitted with sbatch (one cancelled and retried); the SLURM run "
          f"took {slurm_run['wall_s']:.0f} s")


@pytest.mark.slurm
def test_downloads_run_on_the_submit_host(slurm_run: dict[str, Any]) -> None:
    output = slurm_run["output"]
    for rule in ("problems", "model", "check"):
        assert re.search(rf"^local(rule|checkpoint) {rule}:", output, flags=re.MULTILINE), rule
        assert rule not in submitted_rules(output)


@pytest.mark.slurm
def test_gpu_jobs_get_their_gpu_cpus_and_memory(slurm_run: dict[str, Any]) -> None:
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())["set-resources"]
    checked = 0
    for fields in slurm_run["jobs"].values():
        name = fields["Comment"]
        rule = next((r for r in ("sample", "perplexity") if name.startswith(f"rule_{r}_wildcards_")), None)
        if rule is None:
            assert fields.get("TresPerJob", "") == "", (name, "a CPU job asked for a GPU")
            continue
        on_gpu = name.split("_wildcards_")[1].startswith("base_")  # the scorer (perplexity) or model (sample)
        if on_gpu:
            assert fields["TresPerJob"] == "gres:gpu:1" and fields["JOB_GRES"] == "gpu:1", fields
            assert int(fields["NumCPUs"]) == profile[rule]["cpus_per_gpu"], fields
            assert fields["MinMemoryNode"] == f"{profile[rule]['mem_mb']}M" or \
                fields["MinMemoryNode"] == f"{profile[rule]['mem_mb'] / 1024:.2f}G", fields
            checked += 1
        else:
            assert fields.get("TresPerJob", "") == "", (name, "a model on CPUs asked for a GPU")
    assert checked >= 4  # base's sampling job and its three perplexity jobs


@pytest.mark.slurm
def test_cancelled_sampling_job_resumes_from_its_journal(slurm_run: dict[str, Any]) -> None:
    jobs, cancelled = slurm_run["jobs"], slurm_run["cancelled"]
    assert jobs[cancelled]["JobState"] == "CANCELLED", jobs[cancelled]
    comment = jobs[cancelled]["Comment"]
    retried = [f for job_id, f in jobs.items() if f["Comment"] == comment and job_id != cancelled]
    assert [f["JobState"] for f in retried] == ["COMPLETED"]
    (log,) = (p.read_text() for p in (slurm_run["workdir"] / "results" / "logs" / "sample" / "rl" / "tiny").glob(
        f"*/p0-3_s0-{N_SAMPLES - 1}.log"))
    resumed = [int(n) for n in re.findall(r"(\d+) from the journal", log)]
    assert resumed and resumed[-1] >= slurm_run["journalled"] > 0, log[-2000:]
    assert resumed[-1] < N_SAMPLES * 4, "the retry drew the rest itself"


@pytest.mark.slurm
def test_slurm_run_matches_a_local_run_byte_for_byte(slurm_run: dict[str, Any]) -> None:
    local_run, compared = slurm_run["local"], 0
    for part in ("tables", "samples", "passk"):
        local_files = sorted(p.relative_to(local_run) for p in (local_run / "results" / part).rglob("*")
                             if p.is_file() and p.suffix in (".csv", ".parquet", ".html"))
        slurm_files = sorted(p.relative_to(slurm_run["workdir"])
                             for p in (slurm_run["workdir"] / "results" / part).rglob("*")
                             if p.is_file() and p.suffix in (".csv", ".parquet", ".html"))
        assert local_files == slurm_files and local_files, part
        for rel in local_files:
            assert (local_run / rel).read_bytes() == (slurm_run["workdir"] / rel).read_bytes(), rel
            compared += 1
    assert compared >= 8


@pytest.mark.slurm
def test_a_grown_n_submits_only_the_new_blocks(slurm_run: dict[str, Any]) -> None:
    """n doubled after the run: one sampling job per model, for the new indices only, goes through sbatch; the
    drawn blocks stay as they are."""
    workdir = slurm_run["workdir"]
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["benchmarks"]["tiny"].update(n_samples=2 * N_SAMPLES, k_max=2 * N_SAMPLES)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    drawn = {p: p.stat().st_mtime_ns for p in (workdir / "results" / "samples").rglob("*.parquet")}
    result = subprocess.run(snakemake_from_root(workdir, "--profile", "slurm", "--slurm-init-seconds-before-status-"
                                                "checks", "5"), cwd=ROOT, capture_output=True, text=True,
                            env=environment(), timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert submitted_rules(output).count("sample") == 2, output[-6000:]
    new = sorted(p.relative_to(workdir).as_posix() for p in (workdir / "results" / "samples").rglob("*.parquet")
                 if p not in drawn)
    assert [Path(p).parts[2] for p in new] == ["base", "rl"]
    assert all(p.endswith(f"/p0-3_s{N_SAMPLES}-{2 * N_SAMPLES - 1}.parquet") for p in new), new
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in drawn.items())
