"""The benchmark manifest: the shipped one is valid, and every malformed key is named in a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rlvr_limits.data.manifest import LOCK, Benchmark, load_manifest
from rlvr_limits.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "resources" / "benchmarks.yaml"
PAPER_BENCHMARKS = {"math500": 500, "aime24": 30, "amc23": 40, "gsm8k": 1319, "minerva_math": 272,
                    "olympiadbench": 675}

GOOD = {
    "type": "math",
    "source": {"url": "https://example.org/data/test.jsonl"},
    "sha256": "a" * 64,
    "format": "jsonl",
    "loader": "gsm8k",
    "n_problems": 3,
    "license": "MIT",
    "description": "three problems",
}


def write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "benchmarks.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


def entry(**changes: object) -> dict:
    out = dict(GOOD)
    for key, value in changes.items():
        if value is ...:
            out.pop(key)
        else:
            out[key] = value
    return out


def test_shipped_manifest_pins_the_six_paper_benchmarks_and_the_demo():
    manifest = load_manifest(SHIPPED)
    sizes = {name: b.n_problems for name, b in manifest.items() if name in PAPER_BENCHMARKS}
    assert sizes == PAPER_BENCHMARKS
    for name in PAPER_BENCHMARKS:
        bench = manifest[name]
        assert bench.source_kind == "url" and bench.local_path is None
        assert "/cf1c7858bfc145a27aa733e75d930d34f0d318a6/" in bench.url
        assert bench.url.endswith(f"/data/{name}/test.jsonl")
        assert len(bench.sha256) == 64 and bench.loader == name and bench.type == "math"
    toy = manifest["toy_arith"]
    assert toy.local_path == "results/toy/data/test.jsonl" and toy.sha256 is None
    assert toy.loader == "normalized" and toy.n_problems == 100


def test_the_three_source_kinds(tmp_path):
    hub = {"repo": "org/data", "repo_type": "dataset", "revision": "b" * 40, "path": "test.parquet"}
    manifest = load_manifest(write(tmp_path, {"benchmarks": {
        "u": entry(),
        "h": entry(source={"hub": hub}, sha256=LOCK, format="parquet"),
        "l": entry(source={"local": "data/x.jsonl"}, sha256=...),
    }}))
    assert list(manifest) == ["u", "h", "l"]
    assert isinstance(manifest["u"], Benchmark) and manifest["u"].source_description.startswith("https://")
    assert manifest["h"].hub.repo == "org/data" and manifest["h"].sha256 == LOCK
    assert manifest["h"].source_description == f"hf://datasets/org/data@{'b' * 40}/test.parquet"
    assert manifest["h"].source_record() == {"hub": hub}
    assert manifest["l"].local_path == "data/x.jsonl" and manifest["l"].sha256 is None
    assert manifest["l"].source_record() == {"local": "data/x.jsonl"}


BAD_ENTRIES = [
    (entry(type="audio"), "benchmarks.b.type: 'audio' is not one of"),
    (entry(format="csv"), "benchmarks.b.format: 'csv' is not one of"),
    (entry(loader="mystery"), "benchmarks.b.loader: 'mystery' is not one of"),
    (entry(n_problems=0), "benchmarks.b.n_problems: expected a positive integer"),
    (entry(n_problems="3"), "benchmarks.b.n_problems: expected a positive integer"),
    (entry(n_problems=True), "benchmarks.b.n_problems: expected a positive integer"),
    (entry(license=""), "benchmarks.b.license: expected a non-empty string"),
    (entry(description=None), "benchmarks.b.description: expected a non-empty string"),
    (entry(sha256="abc"), "benchmarks.b.sha256: expected 64 lowercase hex digits or `lock`"),
    (entry(sha256="A" * 64), "benchmarks.b.sha256: expected 64 lowercase hex digits or `lock`"),
    (entry(sha256=...), "benchmarks.b.sha256: required for a downloaded file"),
    (entry(source={"local": "x.jsonl"}, sha256=LOCK), "benchmarks.b.sha256: expected 64 lowercase hex"),
    (entry(colour="red"), "benchmarks.b: unknown keys ['colour']"),
    (entry(loader=...), "benchmarks.b: missing required keys ['loader']"),
    (entry(source="https://example.org/x.jsonl"), "benchmarks.b.source: expected exactly one of"),
    (entry(source={"url": "https://a/x", "local": "x"}), "benchmarks.b.source: expected exactly one of"),
    (entry(source={"ftp": "x"}), "benchmarks.b.source: expected exactly one of"),
    (entry(source={"url": "http://example.org/x.jsonl"}), "benchmarks.b.source.url: expected an https://"),
    (entry(source={"url": "https://example.org/"}), "benchmarks.b.source.url: expected an https://"),
    (entry(source={"url": 3}), "benchmarks.b.source.url: expected a URL string"),
    (entry(source={"local": ""}), "benchmarks.b.source.local: expected a non-empty string"),
    (entry(source={"hub": "org/x"}), "benchmarks.b.source.hub: expected a mapping"),
    (entry(source={"hub": {"repo": "o/x", "path": "t.jsonl"}}),
     "source.hub: missing required key `revision`"),
    (entry(source={"hub": {"repo": "o/x", "revision": "r", "path": "p", "branch": "x"}}),
     "source.hub: unknown keys ['branch']"),
    (entry(source={"hub": {"repo": "o/x/y", "revision": "r", "path": "p"}}), "source.hub.repo: expected"),
    (entry(source={"hub": {"repo": "o/x", "repo_type": "space", "revision": "r", "path": "p"}}),
     "source.hub.repo_type: 'space' is not one of"),
    (entry(source={"hub": {"repo": "o/x", "revision": 1234, "path": "p"}}), "source.hub.revision: expected"),
    ("not a mapping", "benchmarks.b: expected a mapping"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_ENTRIES)
def test_each_bad_key_is_named(tmp_path, bad, message):
    with pytest.raises(UserError) as info:
        load_manifest(write(tmp_path, {"benchmarks": {"b": bad}}))
    assert message in str(info.value)
    assert str(tmp_path / "benchmarks.yaml") in str(info.value)


@pytest.mark.parametrize(("doc", "message"), [
    ("benchmarks: [1, 2", "invalid YAML"),
    ("- a\n- b\n", "expected a top-level mapping `benchmarks:`"),
    ({"benchmarks": {}}, "`benchmarks:` is empty"),
    ({"benchmarks": {"b": GOOD}, "extra": 1}, "unknown top-level keys ['extra']"),
    ({"benchmarks": {"b/c": GOOD}}, "benchmarks.b/c: benchmark names may use"),
])
def test_malformed_documents(tmp_path, doc, message):
    with pytest.raises(UserError) as info:
        load_manifest(write(tmp_path, doc))
    assert message in str(info.value)


def test_missing_manifest(tmp_path):
    with pytest.raises(UserError, match="benchmark manifest not found"):
        load_manifest(tmp_path / "nope.yaml")


def test_loading_the_manifest_imports_no_heavy_modules():
    import subprocess
    import sys

    code = ("import sys; from rlvr_limits.data.manifest import load_manifest; "
            f"load_manifest({str(SHIPPED)!r}); "
            "print(sorted(m for m in ('torch', 'polars', 'sympy', 'huggingface_hub') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
