"""Samples are kept, never drawn twice: through Snakemake, a grown n draws only the new indices, a lower n, another
shard layout or an engine setting draws nothing, a raised limit draws only the new problems, and every table
downstream equals byte for byte that of a fresh run with the final settings (hf engine, tiny random models)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rlvr_limits.io import read_parquet
from rlvr_limits.sampling.store import read_samples
from test_workflow import planned_jobs, planned_outputs, snakemake, tiny_config, write_config

#: Deselected by default (two minutes of Snakemake runs); `pytest -m rerun` runs it, as .ci/run does.
pytestmark = pytest.mark.rerun

TABLES = [f"results/{kind}/base/tiny.parquet" for kind in ("verdicts", "passk")]


def setup(workdir: Path) -> dict[str, Any]:
    """The tiny run's data and models, once per folder (models built again would be newer: everything reruns)."""
    return tiny_config(workdir)


def config_with(base: dict[str, Any], **bench: Any) -> dict[str, Any]:
    """The tiny run with one model, no analyses: sampling, verification and pass@k of 4 problems."""
    config = json.loads(json.dumps(base))
    config["models"] = {"base": config["models"]["base"]}
    config["sampling"]["shard"] = {"problems": 4, "samples": 64}
    del config["comparisons"], config["entropy_matching"]
    config["benchmarks"]["tiny"].update({"n_samples": 64, "k_max": 64, "limit": 3, **bench})
    return config


def run(workdir: Path, config: dict[str, Any]) -> str:
    result = snakemake(workdir, *TABLES, "--cores", "2", "--configfile", write_config(workdir, config))
    return result.stdout + result.stderr


def dry(workdir: Path, config: dict[str, Any]) -> tuple[dict[str, int], list[str], str]:
    result = snakemake(workdir, *TABLES, "--dry-run", "--configfile", write_config(workdir, config))
    out = result.stdout + result.stderr
    return planned_jobs(out), [o for o in planned_outputs(out) if "results/samples/" in o], out


def names(outputs: list[str]) -> set[str]:
    """The block tables among planned outputs ("<table>, <sidecar>")."""
    return {Path(o.split(",")[0]).name for o in outputs}


def samples(workdir: Path, config: dict[str, Any]) -> Any:
    """What the verify job reads: the blocks the plan names for the run's region, read as the stages read them."""
    (folder,) = (workdir / "results" / "samples" / "base" / "tiny").iterdir()
    bench = config["benchmarks"]["tiny"]
    ids = read_parquet(workdir / "results" / "problems" / "tiny.parquet")["problem_id"].to_list()
    return read_samples([str(p) for p in sorted(folder.glob("*.parquet"))], ids, bench["limit"],
                        bench["n_samples"])


def tables(workdir: Path) -> dict[str, bytes]:
    return {t: (workdir / t).read_bytes() for t in TABLES}


def replayed_jobs(workdir: Path, config: dict[str, Any]) -> dict[str, int]:
    """`snakemake archive` of the run, unpacked beside copies of its inputs: what a dry run there plans."""
    snakemake(workdir, "archive", "--cores", "1", "--configfile", write_config(workdir, config))
    replay = workdir / "replay"
    for inputs in ("models", "data"):
        shutil.copytree(workdir / inputs, replay / inputs)
    shutil.copy2(workdir / "benchmarks.yaml", replay / "benchmarks.yaml")
    subprocess.run(["tar", "--extract", "--file", str(workdir / "results" / "archive.tar.gz"), "--directory",
                    str(replay)], check=True)
    (workdir / "results" / "archive.tar.gz").unlink()
    config = {**config, "manifest": str(replay / "benchmarks.yaml")}
    return dry(replay, config)[0]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Fresh runs at n=128 and n=32, to compare with runs that reached those settings from another n."""
    runs = {}
    for n in (128, 32):
        workdir = tmp_path_factory.mktemp(f"fresh{n}")
        run(workdir, config_with(setup(workdir), n_samples=n, k_max=n))
        runs[n] = workdir
    return runs


def test_grow_lower_reshard_and_raise_the_limit(tmp_path: Path, fresh: dict[int, Path]) -> None:
    base = setup(tmp_path)
    run(tmp_path, config_with(base))

    grown = config_with(base, n_samples=128, k_max=128)
    jobs, sampled, out = dry(tmp_path, grown)
    assert jobs["sample"] == 1 and names(sampled) == {"p0-2_s64-127.parquet"}
    assert "192 samples to draw in 1 block(s) (p0-2_s64-127); 192 drawn before are reused" in out
    run(tmp_path, grown)
    assert samples(tmp_path, grown).equals(samples(fresh[128], grown))
    assert tables(tmp_path) == tables(fresh[128])
    assert replayed_jobs(tmp_path, grown) == {}  # the archive of a grown run draws nothing elsewhere

    lower = config_with(base, n_samples=32, k_max=32)
    jobs, sampled, _ = dry(tmp_path, lower)
    assert "sample" not in jobs and jobs["verify"] == 1 and not sampled
    run(tmp_path, lower)
    assert samples(tmp_path, lower).equals(samples(fresh[32], lower))
    assert tables(tmp_path) == tables(fresh[32])

    for other in ({"problems": 1, "samples": 16}, {"problems": 2, "samples": 100}):
        reshard = json.loads(json.dumps(grown))
        reshard["sampling"]["shard"] = other
        jobs, sampled, _ = dry(tmp_path, reshard)
        assert "sample" not in jobs and not sampled, (other, jobs)
    roomier = json.loads(json.dumps(grown))
    roomier["models"]["base"]["max_model_len"] = 96  # an engine setting: no sample changes
    assert "sample" not in dry(tmp_path, roomier)[0]

    more = config_with(base, n_samples=128, k_max=128, limit=4)
    (folder,) = (tmp_path / "results" / "samples" / "base" / "tiny").iterdir()
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    out = run(tmp_path, more)  # the check of every prompt reruns first (its limit changed), then the new blocks
    assert "128 samples to draw in 2 block(s) (p3-3_s0-63, p3-3_s64-127); 384 drawn before are reused" in out
    after = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert {name: after[name] for name in before} == before
    assert set(after) - set(before) == {f"p3-3_s{s}.{ext}" for s in ("0-63", "64-127") for ext in ("parquet", "json")}
    assert samples(tmp_path, more).height == 4 * 128
