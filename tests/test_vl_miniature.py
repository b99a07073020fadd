"""The vision-language miniature (config/vl-mini.yaml) end to end with the hf engine, as a new user runs it:
tiny Qwen2.5-VL models and picture problems built by the workflow, through the same rules as the text models,
to the pass@k figure and the report."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml

from test_workflow import ROOT, snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def vl_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("vl-mini")
    snakemake(workdir, "--configfile", str(ROOT / "config" / "vl-mini.yaml"), "--cores", "2")
    snakemake(workdir, "--configfile", str(ROOT / "config" / "vl-mini.yaml"), "--report", "results/report.html")
    return workdir


def test_images_are_extracted_and_multiple_choice_dropped(vl_run: Path) -> None:
    problems = pl.read_parquet(vl_run / "results" / "problems" / "toy_visual.parquet")
    assert problems["problem_id"].to_list() == ["1", "2", "3", "4", "5", "6"]
    assert all((vl_run / image).is_file() for image in problems["image"])
    meta = {row["problem_id"]: json.loads(row["meta"]) for row in problems.iter_rows(named=True)}
    assert (meta["4"]["precision"], meta["4"]["unit"]) == (1, "cm")


def test_every_sample_saw_its_image(vl_run: Path) -> None:
    config = yaml.safe_load((ROOT / "config" / "vl-mini.yaml").read_text())
    n = config["benchmarks"]["toy_visual"]["n_samples"]
    for model in config["models"]:
        (block,) = (vl_run / "results" / "samples" / model / "toy_visual").glob(f"*/p0-5_s0-{n - 1}.parquet")
        samples = pl.read_parquet(block)
        assert samples.height == 6 * n
        # The EasyR1 system prompt alone is over 300 character tokens; a 336×224 picture resized to at least 512²
        # pixels adds at least 324 visual tokens.
        assert samples["prompt_tokens"].min() >= 300 + 324
        sidecar = json.loads(block.with_suffix(".json").read_text())
        assert sidecar["engine"]["engine"] == "hf" and sidecar["template"]["name"] == "easyr1-vl"
        verdicts = pl.read_parquet(vl_run / "results" / "verdicts" / model / "toy_visual.parquet")
        assert verdicts.height == 6 * n and set(verdicts["verdict"]) <= {"correct", "wrong", "no_answer"}


def test_the_passk_figure_and_the_report(vl_run: Path) -> None:
    figures = vl_run / "results" / "figures" / "vl_pipeline"
    for kind in ("passk", "difference", "coverage", "histogram"):
        assert (figures / f"{kind}.svg").stat().st_size > 1000
    report = (vl_run / "results" / "report.html").read_text()
    assert "vl_pipeline" in report and "toy_visual" in report
    explorer = (vl_run / "results" / "explorer" / "vl_pipeline" / "toy_visual.html").read_text()
    assert explorer.count("data:image/jpeg;base64,") == 6  # each problem's picture, embedded
