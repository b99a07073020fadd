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


def test_shipped_manifest_declares_livecodebench_v5_as_the_study_windows_it():
    manifest = load_manifest(SHIPPED)
    window, full = manifest["livecodebench_v5"], manifest["livecodebench_v5_full"]
    release_v5 = ["test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl"]
    for bench in (window, full):
        assert bench.type == "code" and bench.loader == "livecodebench" and bench.format == "jsonl"
        assert bench.multi_file and bench.source_kind == "hub"
        assert {f.hub.repo for f in bench.files} == {"livecodebench/code_generation_lite"}
        assert {f.hub.revision for f in bench.files} == {"0fe84c3912ea0c4d4a78037083943e8f0c4dd505"}
        assert {f.hub.repo_type for f in bench.files} == {"dataset"}
        assert set(bench.sha256.values()) == {LOCK}
    assert [f.key for f in full.files] == release_v5 and full.n_problems == 880 and full.where is None
    assert [f.key for f in window.files] == release_v5[2:] and window.n_problems == 279
    assert window.where.spec() == {"field": "contest_date", "from": "2024-08-01", "until": "2025-02-01"}


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
    assert not any(b.multi_file for b in manifest.values()) and all(len(b.files) == 1 for b in manifest.values())


def test_multi_file_sources(tmp_path):
    hub = {"repo": "org/lcb", "repo_type": "dataset", "revision": "c" * 40, "paths": ["test4.jsonl", "/test5.jsonl"]}
    urls = ["https://example.org/v1/a.jsonl", "https://example.org/v2/b.jsonl"]
    where = {"field": "contest_date", "from": "2024-08-01", "until": "2025-02-01"}
    manifest = load_manifest(write(tmp_path, {"benchmarks": {
        "h": entry(source={"hub": hub}, sha256=LOCK, where=where),
        "u": entry(source={"urls": urls}, sha256={urls[1]: "b" * 64, urls[0]: "a" * 64}),
        "one": entry(source={"hub": {**hub, "paths": ["test5.jsonl"]}}, sha256={"test5.jsonl": "5" * 64}),
    }}))
    h, u, one = manifest["h"], manifest["u"], manifest["one"]
    assert h.multi_file and h.source_kind == "hub" and h.url is None and h.hub is None and h.local_path is None
    assert [(f.key, f.hub.path, f.sha256) for f in h.files] == [("test4.jsonl", "test4.jsonl", LOCK),
                                                                 ("test5.jsonl", "test5.jsonl", LOCK)]
    assert h.files[1].description == f"hf://datasets/org/lcb@{'c' * 40}/test5.jsonl"
    assert h.source_description == f"hf://datasets/org/lcb@{'c' * 40}/{{test4.jsonl,test5.jsonl}}"
    assert h.source_record() == {"hub": {**hub, "paths": ["test4.jsonl", "test5.jsonl"]}}
    assert h.where.spec() == where and manifest["u"].where is None
    assert u.source_kind == "urls" and [f.url for f in u.files] == urls
    assert [f.sha256 for f in u.files] == ["a" * 64, "b" * 64] and u.sha256 == {urls[0]: "a" * 64, urls[1]: "b" * 64}
    assert u.source_record() == {"urls": urls} and u.source_description == " + ".join(urls)
    assert one.multi_file and one.sha256 == {"test5.jsonl": "5" * 64}


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
    # multi-file sources
    (entry(source={"hub": {"repo": "o/x", "revision": "r", "path": "p", "paths": ["q"]}}),
     "source.hub: give exactly one of `path: <file>` (one file) or `paths: [<file>, ...]`"),
    (entry(source={"hub": {"repo": "o/x", "revision": "r"}}), "source.hub: give exactly one of `path"),
    (entry(source={"hub": {"repo": "o/x", "revision": "r", "paths": "test.jsonl"}}),
     "source.hub.paths: expected a non-empty list of file paths"),
    (entry(source={"hub": {"repo": "o/x", "revision": "r", "paths": []}}),
     "source.hub.paths: expected a non-empty list"),
    (entry(source={"hub": {"repo": "o/x", "revision": "r", "paths": ["a", 3]}}),
     "source.hub.paths[1]: expected a non-empty string"),
    (entry(source={"hub": {"repo": "o/x", "revision": "r", "paths": ["a", "/a"]}}),
     "source.hub.paths: ['a'] listed more than once"),
    (entry(source={"urls": "https://example.org/a.jsonl"}), "source.urls: expected a non-empty list of URLs"),
    (entry(source={"urls": []}), "source.urls: expected a non-empty list of URLs"),
    (entry(source={"urls": ["https://e.org/a.jsonl", "ftp://e.org/b.jsonl"]}),
     "source.urls[1]: expected an https:// URL"),
    (entry(source={"urls": ["https://e.org/a.jsonl", "https://e.org/a.jsonl"]}),
     "source.urls: ['https://e.org/a.jsonl'] listed more than once"),
    (entry(source={"urls": ["https://e.org/v1/t.jsonl", "https://e.org/v2/t.jsonl"]}),
     "source.urls: several URLs end in the same file name ['t.jsonl']"),
    (entry(source={"urls": ["https://e.org/a.jsonl"]}, sha256="a" * 64),
     "benchmarks.b.sha256: a source with several files needs a mapping file -> 64 hex digits"),
    (entry(source={"urls": ["https://e.org/a.jsonl"]}, sha256=...),
     "benchmarks.b.sha256: a source with several files needs a mapping"),
    (entry(source={"hub": {"repo": "o/x", "revision": "r", "paths": ["a", "b"]}}, sha256={"a": "a" * 64}),
     "benchmarks.b.sha256: the keys must be exactly the source's files ['a', 'b']; missing ['b']"),
    (entry(source={"hub": {"repo": "o/x", "revision": "r", "paths": ["a"]}}, sha256={"a": "a" * 64, "c": "c" * 64}),
     "the keys must be exactly the source's files ['a']; unknown ['c']"),
    (entry(source={"hub": {"repo": "o/x", "revision": "r", "paths": ["a"]}}, sha256={"a": LOCK}),
     "benchmarks.b.sha256['a']: expected 64 lowercase hex digits, got 'lock'"),
    (entry(reference=["solution"]), "benchmarks.b.reference: expected a non-empty string"),
    (entry(reference=""), "benchmarks.b.reference: expected a non-empty string"),
    # record filter
    (entry(where="contest_date >= 2024-08-01"), "benchmarks.b.where: expected a mapping"),
    (entry(where=None), "benchmarks.b.where: expected a mapping"),
    (entry(where={"field": "d", "since": "2024-08-01"}), "benchmarks.b.where: unknown keys ['since']"),
    (entry(where={"field": "d", "from": "1 Aug 2024"}), "benchmarks.b.where.from: expected an ISO date"),
    (entry(where={"field": "d", "from": "2025-02-01", "until": "2024-08-01"}), "benchmarks.b.where: `from`"),
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
