"""The Snakemake DAG: what a dry run plans, how config errors surface, and what a change reruns.

The end-to-end run uses two tiny random-init models (built like hub models) on a four-problem benchmark, so the
real code path of every rule runs in well under two minutes.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from rlvr_limits.io import read_parquet, write_parquet
from tiny_model import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run([*SNAKEMAKE, "--directory", str(workdir), *args], capture_output=True, text=True,
                            env=env, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
    return result


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count, from the 'Job stats' table of a dry run."""
    stats = output.split("Job stats:", 1)
    if len(stats) == 1:
        return {}
    jobs = {}
    for line in stats[1].splitlines()[3:]:
        match = re.match(r"^(\S+)\s+(\d+)$", line.strip())
        if not match:
            break
        if match.group(1) != "total":
            jobs[match.group(1)] = int(match.group(2))
    return jobs


def planned_outputs(output: str) -> list[str]:
    return re.findall(r"output: (.+)", output)


def test_demo_dry_run_plans_every_stage(tmp_path: Path) -> None:
    result = snakemake(tmp_path, "--dry-run", "--configfile", str(ROOT / "config" / "config.yaml"))
    jobs = planned_jobs(result.stdout + result.stderr)
    for rule in ("problems", "model", "sample", "verify", "passk", "compare", "perplexity", "passk_curves",
                 "passk_difference", "coverage_split", "accuracy_histogram", "perplexity_distribution",
                 "training_steps", "sampling_efficiency",
                 "summary_table", "provenance"):
        assert rule in jobs, f"{rule} missing from the plan: {jobs}"
    assert any(rule.startswith("toy_") for rule in jobs), jobs


def test_slurm_profile_plans_the_paper_config(tmp_path: Path) -> None:
    """`snakemake --profile slurm` from the repository root, as the README says (./slurm -> profiles/slurm)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run([sys.executable, "-m", "snakemake", "--profile", "slurm", "--directory", str(tmp_path),
                             "--configfile", "config/paper.yaml", "--dry-run"], cwd=ROOT, capture_output=True,
                            text=True, env=env, timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    jobs = planned_jobs(out)
    assert jobs["sample"] > 100 and jobs["problems"] == 11 and jobs["entropy_matching"] == 6 and jobs["check"] == 1
    assert not any(rule.startswith("toy_") for rule in jobs), "the demo config leaked into --configfile"


def test_config_error_stops_before_any_job(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["sampling"]["temprature"] = 0.7
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "--dry-run", "--configfile", str(path), check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "config key sampling: unknown key 'temprature'" in message
    assert "Traceback" not in message
    assert not (tmp_path / "results").exists()


# --------------------------------------------------------------------------- a tiny real run


def tiny_config(workdir: Path) -> dict[str, Any]:
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
    for name, seed in (("base", 0), ("rl", 1)):
        build_tiny_model(workdir / "models" / name, vocab=vocab, seed=seed)
    model = {"engine": "hf", "template": "toy", "max_model_len": 64}
    return {
        "seed": 7,
        "manifest": str(manifest),
        "sampling": {"temperature": 1.0, "top_p": 1.0, "shard": {"problems": 2, "samples": 8}},
        "models": {"base": {**model, "path": "models/base", "role": "base"},
                   "rl": {**model, "path": "models/rl", "role": "rl"},
                   "direct": {**model, "path": "models/base", "role": "base", "max_tokens": 3},
                   "rl_hot": {**model, "path": "models/rl", "role": "rl", "sampling": {"temperature": 1.5}}},
        "benchmarks": {"tiny": {"n_samples": 8, "k_max": 8, "max_tokens": 12, "verifiers": ["math"]}},
        "comparisons": {"rl_vs_base": {"kind": "rl", "base": "base", "models": ["rl"], "benchmarks": ["tiny"]},
                        "unguessed": {"kind": "algorithms", "base": "base", "models": ["rl"], "benchmarks": ["tiny"],
                                      "guess_filter": {"direct": "direct", "threshold": 0.5}}},
        "entropy_matching": {"rl_heat": {"reference": "base", "sweep": ["rl", "rl_hot"], "benchmark": "tiny"}},
        "analysis": {"bootstrap": 100, "perplexity": {"responses_per_problem": 2}},
    }


def write_config(workdir: Path, config: dict[str, Any]) -> str:
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("tiny_run")
    config = tiny_config(workdir)
    snakemake(workdir, "--cores", "2", "--configfile", write_config(workdir, config))
    return workdir, config


def test_run_leaves_every_product(finished_run: tuple[Path, dict[str, Any]]) -> None:
    workdir, _ = finished_run
    results = workdir / "results"
    (draw,) = (results / "samples" / "rl" / "tiny").iterdir()  # one draw; 4 problems in blocks of 2 x 8
    assert sorted(p.name for p in draw.glob("*.parquet")) == ["p0-1_s0-7.parquet", "p2-3_s0-7.parquet"]
    assert (draw / "p0-1_s0-7.json").is_file()
    block = f"rl/tiny/{draw.name}/p0-1_s0-7"
    for path in ("problems/tiny.parquet", "models/base.json", "verdicts/rl/tiny.parquet", "passk/base/tiny.parquet",
                 "compare/rl_vs_base/tiny.json", "perplexity/base/rl/tiny.parquet", "tables/rl_vs_base.csv",
                 "tables/rl_vs_base.models.csv", "tables/rl_vs_base.findings.html",
                 "figures/rl_vs_base/passk.svg", "figures/rl_vs_base/passk.png", "figures/rl_vs_base/passk.html",
                 "figures/rl_vs_base/passk.vl.json", "provenance.json", f"logs/sample/{block}.log",
                 f"benchmarks/sample/{block}.tsv", "perplexity/base/reference/tiny.parquet",
                 "unguessed/unguessed/base/tiny.parquet", "unguessed/unguessed/rl/tiny.counts.parquet",
                 "unguessed/unguessed/tiny.guessed.csv", "figures/unguessed/passk.svg",
                 "figures/unguessed/efficiency.svg", "figures/rl_vs_base/perplexity.svg", "entropy/rl_heat.json",
                 "entropy/rl_heat.svg"):
        assert (results / path).is_file(), path
    assert "samples" in (results / "logs" / "sample" / f"{block}.log").read_text()


def test_rerun_after_run_does_nothing(finished_run: tuple[Path, dict[str, Any]]) -> None:
    workdir, config = finished_run
    result = snakemake(workdir, "--dry-run", "--configfile", write_config(workdir, config))
    assert planned_jobs(result.stdout + result.stderr) == {}
    assert "Nothing to be done" in result.stdout + result.stderr


def test_temperature_change_resamples_only_that_model(finished_run: tuple[Path, dict[str, Any]]) -> None:
    workdir, config = finished_run
    changed = json.loads(json.dumps(config))
    changed["models"]["rl"]["sampling"] = {"temperature": 0.7}
    result = snakemake(workdir, "--dry-run", "--configfile", write_config(workdir, changed))
    out = result.stdout + result.stderr
    jobs = planned_jobs(out)
    assert jobs["sample"] == 2 and jobs["verify"] == 1
    sampled = [o for o in planned_outputs(out) if "results/samples/" in o]
    assert sampled and all("results/samples/rl/" in o for o in sampled)
    assert not any("results/samples/base/" in o or "results/verdicts/base/" in o for o in planned_outputs(out))
    # A new draw, in a folder of its own: the samples at the old temperature are kept, and the run says why.
    assert "samples of this model and dataset exist under other draw settings" in out
    assert "temperature 1.0 -> 0.7" in out
    write_config(workdir, config)


def test_verifier_change_reruns_no_sampling(finished_run: tuple[Path, dict[str, Any]]) -> None:
    workdir, config = finished_run
    changed = json.loads(json.dumps(config))
    changed["verification"] = {"timeout_s": 3.0}
    result = snakemake(workdir, "--dry-run", "--configfile", write_config(workdir, changed))
    jobs = planned_jobs(result.stdout + result.stderr)
    assert jobs.get("verify") == 4  # base, rl, the guess filter's direct answers, rl at a higher temperature
    assert "sample" not in jobs and "model" not in jobs and "problems" not in jobs
    write_config(workdir, config)


def test_report_renders(finished_run: tuple[Path, dict[str, Any]]) -> None:
    workdir, config = finished_run
    snakemake(workdir, "--configfile", write_config(workdir, config), "--report", "results/report.html")
    html = (workdir / "results" / "report.html").read_text()
    assert "rl_vs_base" in html and len(html) > 50_000


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("headless Chromium is not installed (apt-get install chromium; .ci/run installs it)")


def browse(url: str, *flags: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with no network access of its own, logging the page's console to stderr."""
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={workdir / 'chromium-profile'}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=8000", "--window-size=1400,1000", *flags, url],
        capture_output=True, text=True, timeout=180)


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line and ("Error" in line or "Uncaught" in line)]


def test_report_and_figures_draw_offline(finished_run: tuple[Path, dict[str, Any]]) -> None:
    workdir, config = finished_run
    report = workdir / "results" / "report.html"
    if not report.exists():
        snakemake(workdir, "--configfile", write_config(workdir, config), "--report", str(report))
    shot = workdir / "report.png"
    result = browse(report.as_uri(), f"--screenshot={shot}", workdir=workdir)
    assert shot.is_file(), result.stderr[-2000:]
    from PIL import Image

    pixels = Image.open(shot).convert("L")
    low, high = pixels.getextrema()
    assert high - low > 100, "the report screenshot is blank"
    assert not console_errors(result.stderr), console_errors(result.stderr)

    figures = [*(workdir / "results" / "figures").glob("*/*.html"), *(workdir / "results" / "entropy").glob("*.html")]
    for figure in sorted(figures):
        dom = browse(figure.as_uri(), "--dump-dom", workdir=workdir)
        assert 'class="marks"' in dom.stdout or "<canvas" in dom.stdout, f"{figure.name} did not draw"
        assert not console_errors(dom.stderr), (figure.name, console_errors(dom.stderr))


def selftest(page: Path, category: str, workdir: Path) -> dict[str, Any]:
    """What the explorer saw when it opened a category and clicked its first problem (`#selftest=...`)."""
    dom = browse(f"{page.as_uri()}#selftest={category}", "--dump-dom", workdir=workdir)
    assert not console_errors(dom.stderr), console_errors(dom.stderr)  # a blocked request would log one
    found = re.search(r'<pre id="selftest"[^>]*>([^<]*)</pre>', dom.stdout)
    assert found and found.group(1), dom.stdout[-2000:]
    return json.loads(html.unescape(found.group(1)))


def test_explorer_filters_and_opens_problems_offline(finished_run: tuple[Path, dict[str, Any]]) -> None:
    workdir, _ = finished_run
    page = workdir / "results" / "explorer" / "rl_vs_base" / "tiny.html"
    text = page.read_text()
    assert "Content-Security-Policy" in text and not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", text)
    summary = json.loads((workdir / "results" / "compare" / "rl_vs_base" / "tiny.json").read_text())
    counts = next(r for r in summary["results"] if r["verifier"] == "math")["coverage"]["counts"]
    for category, expected in counts.items():
        seen = selftest(page, category, workdir)
        assert (seen["filter"], seen["rows"]) == (category, expected), seen
        if expected:  # the first problem opened: each model's responses, each with its verdict
            assert seen["opened"] and seen["responses"] >= 2 and seen["verdicts"] >= seen["responses"], seen


def test_archive_replays_without_resampling(finished_run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    workdir, config = finished_run
    snakemake(workdir, "archive", "--cores", "1", "--configfile", write_config(workdir, config))
    replay = tmp_path / "replay"
    shutil.copytree(workdir / "models", replay / "models")  # the user's own inputs: local models and data
    shutil.copytree(workdir / "data", replay / "data")
    subprocess.run(["tar", "--extract", "--file", str(workdir / "results" / "archive.tar.gz"), "--directory",
                    str(replay)], check=True)
    assert len(list((replay / "results" / "samples" / "rl" / "tiny").glob("*/p0-1_s0-7.parquet"))) == 1
    result = snakemake(replay, "--dry-run", "--configfile", write_config(replay, config))
    assert "Nothing to be done" in result.stdout + result.stderr, planned_jobs(result.stdout + result.stderr)
    (replay / "results" / "figures" / "rl_vs_base" / "passk.svg").unlink()
    jobs = planned_jobs(snakemake(replay, "--dry-run", "--configfile", write_config(replay, config)).stdout)
    assert jobs == {"passk_curves": 1, "all": 1}


def test_guess_filter_drops_what_the_direct_run_guesses(finished_run: tuple[Path, dict[str, Any]]) -> None:
    """The tiny random models never answer directly; given a direct-answer run that hit problem 1 once in 8
    samples (below the 0.5 threshold), exactly the filtered comparison reruns, without that problem."""
    workdir, config = finished_run
    results = workdir / "results"
    direct_counts = results / "passk" / "direct" / "tiny.counts.parquet"
    counts = read_parquet(direct_counts)
    assert counts["c"].sum() == 0
    write_parquet(counts.with_columns(c=pl.when(pl.col("problem_id") == "1").then(1).otherwise(pl.col("c"))),
                  direct_counts)
    result = snakemake(workdir, "--cores", "2", "--configfile", write_config(workdir, config))
    jobs = planned_jobs(result.stdout + result.stderr)
    assert jobs["passk_unguessed"] == 2 and jobs["compare"] == 1 and jobs["guessed_problems"] == 1
    assert not {"sample", "verify", "passk", "perplexity"} & set(jobs)

    guessed = pl.read_csv(results / "unguessed" / "unguessed" / "tiny.guessed.csv", schema_overrides={
        "problem_id": pl.String})
    assert guessed.filter(pl.col("status") == "guessed")["problem_id"].to_list() == ["1"]
    for model in ("base", "rl"):
        kept = read_parquet(results / "unguessed" / "unguessed" / model / "tiny.counts.parquet")
        assert sorted(kept["problem_id"]) == ["0", "2", "3"]
        assert set(read_parquet(results / "unguessed" / "unguessed" / model / "tiny.parquet")["n_problems"]) == {3}
    summary = json.loads((results / "compare" / "unguessed" / "tiny.json").read_text())
    assert summary["guess_filter"]["direct"] == "direct"
    assert {r["coverage"]["n_problems"] for r in summary["results"]} == {3}
    unfiltered = json.loads((results / "compare" / "rl_vs_base" / "tiny.json").read_text())
    assert {r["coverage"]["n_problems"] for r in unfiltered["results"]} == {4}


def reduced_toy_config(workdir: Path) -> dict[str, Any]:
    """The embedded demo shrunk to seconds: tiny models, a few training steps, 8 problems, 8 samples each."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    manifest = yaml.safe_load((ROOT / "resources" / "benchmarks.yaml").read_text())
    manifest["benchmarks"] = {"toy_arith": {**manifest["benchmarks"]["toy_arith"], "n_problems": 8}}
    (workdir / "benchmarks.yaml").write_text(yaml.safe_dump(manifest))
    config["manifest"] = str(workdir / "benchmarks.yaml")
    config["toy"] = {
        "seed": 1234,
        "data": {"test_per_m": 2, "pretrain_examples": 400, "distill_examples": 100, "rl_examples": 20},
        "model": {"d_model": 32, "layers": 1, "heads": 1, "kv_heads": 1, "mlp": 64},
        "pretrain": {"steps": 6, "batch": 8, "warmup": 2, "curriculum_steps": 0},
        "rl": {"steps": 2, "prompts": 2, "group": 4, "checkpoints": [1]},
        "distill": {"steps": 2, "batch": 8, "warmup": 1},
    }
    config["benchmarks"]["toy_arith"].update(n_samples=8, k_max=8, max_tokens=40)
    config["sampling"]["shard"] = {"problems": 8, "samples": 8}
    del config["models"]["toy_rl_step40"]
    del config["comparisons"]["rl_steps"]
    return config


def test_same_seed_gives_identical_verdicts_and_passk(tmp_path: Path) -> None:
    """The miniature end to end (training included), twice from scratch: identical verdict and pass@k tables."""
    tables = []
    for run in ("first", "second"):
        workdir = tmp_path / run
        workdir.mkdir()
        config = write_config(workdir, reduced_toy_config(workdir))
        targets = [f"results/{kind}/{model}/toy_arith.parquet" for kind in ("verdicts", "passk")
                   for model in ("toy_base", "toy_rl", "toy_distill")]
        snakemake(workdir, *targets, "--cores", "2", "--configfile", config)
        tables.append({t: (workdir / t).read_bytes() for t in targets})
    assert tables[0] == tables[1]


# --------------------------------------------------------------------------- reruns and replays from git clones
# A clone's source files are all newer than any result, and an unpacked archive has no Snakemake metadata: only
# the stamps (results/stamps) decide. Sampling never reruns for sampling code; cheaper stages rerun for code that
# means something else (comments and formatting never count). The tiny run's results are planned against a
# fresh clone's edited code, and archived and replayed in other fresh clones of the same commit.


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=replay", "-c", "user.email=replay@example.org", *args], cwd=cwd,
                          capture_output=True, text=True, check=True).stdout


def clone(source: Path, dest: Path) -> Path:
    git(source.parent, "clone", "--quiet", str(source), str(dest))
    return dest


def in_checkout(checkout: Path, *args: str, check: bool = True,
                workdir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Snakemake on a checkout's own Snakefile (in `workdir`, default the checkout), its jobs importing that
    checkout's package."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(checkout / "workflow")}
    result = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(checkout / "Snakefile"),
                             "--directory", str(workdir or checkout), *args], capture_output=True, text=True,
                            env=env, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
    return result


def dry_run(checkout: Path, config: dict[str, Any], workdir: Path | None = None) -> tuple[dict[str, int], str]:
    workdir = workdir or checkout
    result = in_checkout(checkout, "--dry-run", "--configfile", write_config(workdir, config), workdir=workdir)
    out = result.stdout + result.stderr
    return planned_jobs(out), out


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository whose one commit is this working tree (tracked and new files), to clone from."""
    repo = tmp_path_factory.mktemp("source") / "rlvr-limits"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src, dst = ROOT / name, repo / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        elif src.is_file():
            shutil.copy(src, dst)
    git(repo, "init", "--quiet")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", "working tree")
    return repo


VERDICTS = [f"results/verdicts/{model}/tiny.parquet" for model in ("base", "rl", "direct", "rl_hot")]


@pytest.fixture(scope="module")
def clone_run(source: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The tiny workflow sampled and verified in a fresh clone, by that clone's own Snakefile."""
    checkout = clone(source, tmp_path_factory.mktemp("clone_run") / "rlvr-limits")
    config = tiny_config(checkout)
    in_checkout(checkout, *VERDICTS, "--cores", "2", "--configfile", write_config(checkout, config))
    return checkout, config


@pytest.fixture
def tiny_run(clone_run: tuple[Path, dict[str, Any]]):
    """(checkout, config) of the clone's run; the edits a test makes to the clone are undone afterwards."""
    yield clone_run
    git(clone_run[0], "checkout", "--", ".")


def planned(checkout: Path, config: dict[str, Any]) -> tuple[dict[str, int], str]:
    """A dry run of the clone's run: its verdicts and what they need."""
    out = in_checkout(checkout, *VERDICTS, "--dry-run", "--configfile", write_config(checkout, config))
    return planned_jobs(out.stdout + out.stderr), out.stdout + out.stderr


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_sampling_code_touched_or_commented_resamples_nothing(tiny_run) -> None:
    checkout, config = tiny_run
    sampling = sorted((checkout / "workflow" / "rlvr_limits" / "sampling").glob("*.py"))
    for path in sampling:
        path.touch()
    assert planned(checkout, config)[0] == {}
    for path in sampling:
        path.write_text(f"# a comment added\n{path.read_text()}\n\n# and another at the end\n")
    assert planned(checkout, config)[0] == {}


def test_sampling_code_change_resamples_nothing(tiny_run) -> None:
    checkout, config = tiny_run
    sampling = checkout / "workflow" / "rlvr_limits" / "sampling"
    with (sampling / "hf.py").open("a") as handle:
        handle.write("\nUNUSED_BY_SAMPLING = 1\n")  # real code, but no change in what a spec draws
    edit(sampling / "templates.py", "\nimport ", "\nimport textwrap as _unused\nimport ")  # read by verify too
    jobs, out = planned(checkout, config)
    assert jobs == {"verify": 4}, jobs
    assert "code-verify changed" in out and "sampling/templates.py" in out
    git(checkout, "checkout", "--", ".")
    assert planned(checkout, config)[0] == {}  # back to the code the results were made with


def test_sampling_parameter_or_behaviour_change_resamples(tiny_run) -> None:
    checkout, config = tiny_run
    changed = yaml.safe_load(yaml.safe_dump(config))
    changed["models"]["base"]["sampling"] = {"top_p": 0.9}
    jobs, out = planned(checkout, changed)
    sampled = [o for o in planned_outputs(out) if "results/samples/" in o]
    assert jobs["sample"] == 2 and sampled and all("results/samples/base/" in o for o in sampled)
    edit(checkout / "workflow" / "rlvr_limits" / "sampling" / "store.py", "SAMPLING_BEHAVIOUR = 1",
         "SAMPLING_BEHAVIOUR = 2")
    jobs, out = planned(checkout, config)
    assert jobs["sample"] == 8, jobs  # four models, two blocks each
    assert "behaviour 1 -> 2" in out


def archive_and_replay(checkout: Path, run: Path, config: dict[str, Any], source: Path, replay: Path) -> Path:
    """`snakemake archive` of a run (made with `checkout`), unpacked into a fresh clone beside the user's own
    inputs (copied with their time stamps)."""
    in_checkout(checkout, "archive", "--cores", "2", "--configfile", write_config(run, config), workdir=run)
    clone(source, replay)
    for inputs in ("models", "data", "benchmarks.yaml"):
        if (run / inputs).is_dir():
            shutil.copytree(run / inputs, replay / inputs)
        elif (run / inputs).is_file():
            shutil.copy2(run / inputs, replay / inputs)
    subprocess.run(["tar", "--extract", "--file", str(run / "results" / "archive.tar.gz"), "--directory",
                    str(replay)], check=True)
    return replay


def test_archive_replays_in_a_fresh_clone(finished_run, source: Path, tmp_path: Path) -> None:
    run, config = finished_run
    replay = archive_and_replay(source, run, config, source, tmp_path / "replay")
    assert not (replay / ".snakemake").exists()
    config = {**config, "manifest": str(replay / "benchmarks.yaml")}
    jobs, out = dry_run(replay, config)
    assert jobs == {}, out[-3000:]
    # The guess filter's test above edited the run's direct-answer counts; this comparison is as the run made it.
    tables = sorted(p.relative_to(run) for p in (run / "results" / "tables").glob("rl_vs_base.*"))
    assert len(tables) == 3
    for derived in ("verdicts", "passk", "compare", "tables"):
        shutil.rmtree(replay / "results" / derived)
    result = in_checkout(replay, *map(str, tables), "--cores", "2", "--configfile", write_config(replay, config))
    jobs = planned_jobs(result.stdout + result.stderr)
    assert jobs["verify"] == 2 and not {"sample", "model", "problems"} & set(jobs), jobs
    for table in tables:
        assert (replay / table).read_bytes() == (run / table).read_bytes(), table


def test_replay_from_another_commit_names_what_reruns(finished_run, source: Path, tmp_path: Path) -> None:
    run, config = finished_run
    replay = archive_and_replay(source, run, config, source, tmp_path / "replay")
    with (replay / "workflow" / "rlvr_limits" / "verify" / "stage.py").open("a") as handle:
        handle.write("\nSTAGE_REVISION = 2\n")
    with (replay / "workflow" / "rlvr_limits" / "sampling" / "hf.py").open("a") as handle:
        handle.write("\nENGINE_NOTE = 'faster'\n")
    git(replay, "commit", "--quiet", "--all", "--message", "a later commit")
    config = {**config, "manifest": str(replay / "benchmarks.yaml")}
    jobs, out = dry_run(replay, config)
    assert "code-verify changed" in out and "verify/stage.py" in out
    assert jobs["verify"] == 4 and not {"sample", "model", "problems"} & set(jobs), jobs


def test_embedded_default_replays_without_retraining(source: Path, tmp_path: Path) -> None:
    """The miniature trains its own models: the archive carries them, and a fresh clone retrains nothing."""
    run = clone(source, tmp_path / "run")
    config = reduced_toy_config(run)
    config["comparisons"], config["entropy_matching"] = {}, {}  # the archive then holds models, samples, pass@k
    replay = archive_and_replay(run, run, config, source, tmp_path / "replay")
    assert (replay / "results" / "toy" / "models" / "rl" / "config.json").is_file()
    config = reduced_toy_config(replay)
    config["comparisons"], config["entropy_matching"] = {}, {}
    jobs, out = dry_run(replay, config)
    assert jobs == {}, out[-3000:]
