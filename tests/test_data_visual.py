"""Visual benchmarks: hub-layout parquet -> free-form problems with their images extracted once."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import yaml
from PIL import Image

from httpfakes import FakeHub
from rlvr_limits.cli import main
from rlvr_limits.data import problems as problems_stage
from rlvr_limits.data.download import fetch
from rlvr_limits.data.loaders import normalize, read_records
from rlvr_limits.data.manifest import load_manifest
from rlvr_limits.data.visual import extract_images, keep_free_form
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_json, read_parquet
from rlvr_limits.tables import PROBLEM_COLUMNS
from visual_fixtures import MATHVISION_ROWS, MATHVISTA_ROWS, mathvision_parquet, mathvista_parquet, png

MANIFEST = Path(__file__).parents[1] / "resources" / "benchmarks.yaml"


def entry_of(name: str) -> dict:
    return yaml.safe_load(MANIFEST.read_text())["benchmarks"][name]


def run_problems(tmp_path: Path, bench: str, entry: dict, *extra: str) -> int:
    (tmp_path / "benchmarks.yaml").write_text(yaml.safe_dump({"benchmarks": {bench: entry}}))
    return main(["problems", "--bench", bench, "--manifest", str(tmp_path / "benchmarks.yaml"),
                 "--lock", str(tmp_path / "benchmarks.lock.yaml"), "--download-dir", str(tmp_path / "dl"),
                 "--out", str(tmp_path / "problems" / f"{bench}.parquet"), *extra])


def test_the_manifest_reads_both_benchmarks_free_form_at_the_paper_counts():
    manifest = load_manifest(MANIFEST)
    vista, vision = manifest["mathvista_testmini"], manifest["mathvision_testmini"]
    assert (vista.type, vista.loader, vista.free_form, vista.n_problems) == ("visual", "mathvista", True, 460)
    assert (vision.type, vision.loader, vision.free_form, vision.n_problems) == ("visual", "mathvision", True, 114)
    assert vista.hub.repo == "AI4Math/MathVista" and vista.hub.path.startswith("data/testmini-")
    assert vision.hub.repo == "MathLLMs/MathVision" and vision.hub.path.startswith("data/testmini-")
    assert vista.sha256 == vision.sha256 == "lock"


def test_mathvista_from_the_hub_keeps_the_free_form_problems_their_images_and_answer_metadata(
        tmp_path, monkeypatch):
    data = mathvista_parquet(tmp_path / "src.parquet").read_bytes()
    entry = entry_of("mathvista_testmini")
    with FakeHub() as hub:
        commit = hub.add(entry["source"]["hub"]["repo"], {entry["source"]["hub"]["path"]: data},
                         repo_type="dataset")
        entry["source"]["hub"]["revision"] = commit
        entry["n_problems"] = 3
        monkeypatch.setattr(problems_stage, "fetch", functools.partial(fetch, endpoint=hub.base, backoff_s=0.0))
        assert run_problems(tmp_path, "mathvista_testmini", entry) == 0
    table = read_parquet(tmp_path / "problems" / "mathvista_testmini.parquet")
    assert table.columns == [*PROBLEM_COLUMNS, "image"]
    assert table["problem_id"].to_list() == ["1", "3", "5"]
    assert table["answer"].to_list() == ["7", "2.5", "blue"]
    assert table["answer_type"].to_list() == ["integer", "float", "text"]
    metas = [json.loads(m) for m in table["meta"]]
    assert [(m["precision"], m["unit"]) for m in metas] == [(None, None), (1, "cm"), (None, None)]
    assert all("decoded_image" not in m and m["query"].startswith("Hint:") for m in metas)
    folder = tmp_path / "problems" / "mathvista_testmini" / "images"
    assert table["image"].to_list() == [str(folder / f"{pid}.png") for pid in ("1", "3", "5")]
    expected = [png(8 + 4 * i, 6 + 2 * i, (40 * i % 256, 100, 200)) for i in (0, 2, 4)]
    assert [Path(p).read_bytes() for p in table["image"]] == expected
    assert Image.open(table["image"][1]).size == (16, 10)
    sidecar = read_json(tmp_path / "problems" / "mathvista_testmini.json")
    assert sidecar["free_form"] == {"n_records": 5, "n_kept": 3} and sidecar["revision"] == commit
    assert sidecar["images"] == str(folder)


def test_images_are_written_once_and_a_changed_one_is_replaced(tmp_path):
    source = mathvision_parquet(tmp_path / "src.parquet")
    records = keep_free_form("mathvision", read_records(source, "parquet"))
    rows = normalize("mathvision", records)
    folder = tmp_path / "images"
    first = extract_images(rows, records, folder)
    stamps = {p: Path(p).stat().st_mtime_ns for p in (r["image"] for r in first)}
    Path(first[1]["image"]).write_bytes(b"\x89PNG\r\n\x1a\nnot this one")
    again = extract_images(rows, records, folder)
    assert again == first
    assert Path(first[0]["image"]).stat().st_mtime_ns == stamps[first[0]["image"]]
    assert Path(first[1]["image"]).read_bytes() == records[1][1]["decoded_image"]["bytes"]
    assert sorted(p.name for p in folder.iterdir()) == ["10.png", "12.png"]


def test_mathvision_drops_the_problems_with_options(tmp_path):
    source = mathvision_parquet(tmp_path / "src.parquet")
    records = read_records(source, "parquet")
    kept = keep_free_form("mathvision", records)
    assert [r["id"] for _, r in kept] == [r["id"] for r in MATHVISION_ROWS if not r["options"]] == ["10", "12"]
    rows = normalize("mathvision", kept)
    assert [(r["answer"], r["answer_type"]) for r in rows] == [("4", "integer"), ("\\frac{1}{2}", "expression")]
    assert json.loads(rows[1]["meta"])["subject"] == "metric geometry - area"


def test_mathvista_filter_follows_question_type(tmp_path):
    records = read_records(mathvista_parquet(tmp_path / "src.parquet"), "parquet")
    kept = keep_free_form("mathvista", records)
    assert [r["pid"] for _, r in kept] == [r["pid"] for r in MATHVISTA_ROWS if r["question_type"] == "free_form"]


def test_a_count_other_than_the_manifest_names_the_filter(tmp_path, capsys):
    source = mathvision_parquet(tmp_path / "src.parquet")
    entry = {**entry_of("mathvision_testmini"), "source": {"local": str(source)}}
    entry.pop("sha256")
    assert run_problems(tmp_path, "mathvision_testmini", entry) == 2
    err = capsys.readouterr().err
    assert "holds 2 problems (2 of 4 free-form, kept by benchmarks.mathvision_testmini.free_form)" in err
    assert "n_problems: 114" in err


@pytest.mark.parametrize(("change", "message"), [
    ({"question_type": "essay"}, "field `question_type` must be one of ['free_form', 'multi_choice']"),
    ({"answer_type": "fraction"}, "field `answer_type` must be one of"),
    ({"answer_type": "float", "precision": None}, "a float answer needs `precision`"),
    ({"answer_type": "float", "precision": 1.5}, "a float answer needs `precision`"),
    ({"pid": "../x"}, "cannot name an image file"),
    ({"answer": ""}, "field `answer` must be a non-empty string"),
])
def test_bad_mathvista_records_are_named(tmp_path, change, message):
    rows = [{**MATHVISTA_ROWS[0], **change}]
    records = read_records(mathvista_parquet(tmp_path / "src.parquet", rows), "parquet")
    with pytest.raises(UserError, match="row 0") as caught:
        normalize("mathvista", keep_free_form("mathvista", records))
    assert message in str(caught.value)


def test_a_row_without_image_bytes_is_named(tmp_path):
    records = read_records(mathvision_parquet(tmp_path / "src.parquet"), "parquet")[:1]
    records[0][1]["decoded_image"] = {"bytes": None, "path": "1.png"}
    with pytest.raises(UserError, match=r"row 0: field `decoded_image` must hold the image"):
        extract_images(normalize("mathvision", records), records, tmp_path / "images")
    records[0][1]["decoded_image"] = {"bytes": b"plain text", "path": "1.png"}
    with pytest.raises(UserError, match="not a PNG, JPEG, GIF, BMP or WebP image"):
        extract_images(normalize("mathvision", records), records, tmp_path / "images")


@pytest.mark.parametrize(("change", "message"), [
    ({"free_form": "yes"}, "free_form: expected true or false"),
    ({"loader": "math500"}, "`type: visual` goes with an image loader"),
    ({"type": "math"}, "`type: visual` goes with an image loader"),
])
def test_manifest_mistakes_of_visual_entries_are_named(tmp_path, change, message):
    entry = {**entry_of("mathvista_testmini"), **change}
    if change.get("loader") == "math500":
        entry.pop("free_form")
    path = tmp_path / "benchmarks.yaml"
    path.write_text(yaml.safe_dump({"benchmarks": {"mv": entry}}))
    with pytest.raises(UserError, match=r"benchmarks\.mv") as caught:
        load_manifest(path)
    assert message in str(caught.value)


def test_free_form_needs_a_loader_that_knows_multiple_choice(tmp_path):
    entry = {"type": "math", "source": {"local": "x.jsonl"}, "format": "jsonl", "loader": "math500",
             "free_form": True, "n_problems": 1, "license": "MIT", "description": "d"}
    path = tmp_path / "benchmarks.yaml"
    path.write_text(yaml.safe_dump({"benchmarks": {"m": entry}}))
    with pytest.raises(UserError, match=r"benchmarks.m.free_form: loader 'math500' cannot tell"):
        load_manifest(path)
