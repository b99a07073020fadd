"""Samples drawn by other harnesses: each format read from a real file of its tool (tests/data/import/README.md),
matched to the benchmark by id and by question text, the source's grades kept as verifier `imported`, every
mistake named with its file and line or problem, and a round trip through the plain format that changes nothing."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

from rlvr_limits.cli import main
from rlvr_limits.io import read_json, read_parquet, write_parquet
from rlvr_limits.tables import GRADE_COLUMNS, PROBLEM_COLUMNS, SAMPLE_COLUMNS, VERDICT_COLUMNS, conform

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "import"
QWEN = ROOT / "resources" / "import-example" / "math_cot_100.jsonl"
MATH500 = ROOT / "tests" / "data" / "math" / "math500" / "test.jsonl"


def problems_of(tmp_path: Path, source: Path, loader: str, n: int, name: str = "bench") -> Path:
    """The benchmark's problems table, made by the problems stage from a local file."""
    manifest = tmp_path / f"{name}.yaml"
    manifest.write_text(yaml.safe_dump({"benchmarks": {name: {
        "type": "code" if "humaneval" in loader else "math", "source": {"local": str(source)}, "format": "jsonl",
        "loader": loader, "n_problems": n, "license": "MIT", "description": "fixture"}}}))
    out = tmp_path / f"{name}.parquet"
    assert main(["problems", "--bench", name, "--manifest", str(manifest), "--lock", str(tmp_path / "lock.yaml"),
                 "--download-dir", str(tmp_path / "dl"), "--out", str(out)]) == 0
    return out


def head(source: Path, n: int, dest: Path) -> Path:
    dest.write_text("".join(source.read_text().splitlines(keepends=True)[:n]))
    return dest


def run_import(tmp_path: Path, problems: Path, fmt: str, files: list[Path], block: str,
               **spec: str) -> tuple[int, Path]:
    out = tmp_path / "imported" / f"{block}.parquet"
    code = main(["import", "--problems", str(problems), "--format", fmt, "--files", *map(str, files),
                 "--spec", json.dumps({"model": "m", **spec}), "--block", block, "--out", str(out)])
    return code, out


def test_qwen_math_toolkit_output_with_its_grades(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, QWEN, "math500", 100)
    code, out = run_import(tmp_path, problems, "qwen-math", [QWEN], "p0-99_s0-7")
    assert code == 0
    samples = read_parquet(out, required=SAMPLE_COLUMNS)
    source = [json.loads(line) for line in QWEN.read_text().splitlines()]
    assert samples.height == 800 and samples["text"].to_list() == [t for r in source for t in r["code"]]
    assert samples["seed"].null_count() == samples["entropy"].null_count() == samples["finish_reason"].null_count() \
        == 800
    grades = read_parquet(out.with_suffix(".grades.parquet"), required=GRADE_COLUMNS)
    assert grades["correct"].to_list() == [s for r in source for s in r["score"]]
    assert grades["extracted"].to_list() == [str(p) for r in source for p in r["pred"]]
    side = read_json(out.with_suffix(".json"))
    assert side["matched_by"] == "id" and side["graded_by_the_source"] is True
    assert "finish_reason" in side["null_columns"]
    assert side["files"] == {str(QWEN): "5b9128525733336c4b5bf5d3222f72b18655a305258dc09c301b546e9365ba5e"}
    # A smaller block takes the first problems and samples; the rest of the file is counted, not an error.
    code, out = run_import(tmp_path, problems, "qwen-math", [QWEN], "p0-9_s0-3")
    assert code == 0 and read_parquet(out).height == 40 and read_json(out.with_suffix(".json"))[
        "outside_the_block"] == 90 * 8


def test_lm_eval_samples_by_id_and_by_question(tmp_path: Path) -> None:
    """lm-eval logs each document once per filter (here two): the responses are read once, one per repeat."""
    (samples_file,) = (DATA / "lm-eval").glob("samples_*.jsonl")
    problems = problems_of(tmp_path, head(MATH500, 4, tmp_path / "math500.jsonl"), "math500", 4)
    code, out = run_import(tmp_path, problems, "lm-eval", [samples_file], "p0-3_s0-2")
    assert code == 0 and read_json(out.with_suffix(".json"))["matched_by"] == "id"
    by_id = read_parquet(out)
    logged = [json.loads(line) for line in samples_file.read_text().splitlines()]
    assert by_id.height == 12 and by_id["text"].to_list() == [t for r in logged[:4] for t in r["resps"][0]]
    assert read_parquet(out.with_suffix(".grades.parquet")).height == 0  # lm-eval grades documents, not samples
    code, out = run_import(tmp_path, problems, "lm-eval", [samples_file], "p0-3_s0-2", match="question")
    assert code == 0 and read_json(out.with_suffix(".json"))["matched_by"] == "question"
    assert read_parquet(out).equals(by_id)


def test_nemo_skills_seed_files_by_question(tmp_path: Path) -> None:
    """One file per seed: the sample index is the seed's rank. NeMo-Skills' ids are MATH file names, not ours,
    so the records find their problems by question text."""
    files = sorted((DATA / "nemo-skills").glob("output-rs*.jsonl"))
    rows = [json.loads(line) for line in files[0].read_text().splitlines()]
    problems = tmp_path / "problems.parquet"
    write_parquet(conform(pl.DataFrame({"problem_id": [f"q{i}" for i in range(8)],
                                        "question": [r["problem"] + "\n" for r in rows],  # whitespace differs
                                        "answer": [r["expected_answer"] for r in rows], "answer_type": "latex",
                                        "meta": "{}"}), PROBLEM_COLUMNS), problems)
    code, out = run_import(tmp_path, problems, "nemo-skills", files[::-1], "p0-7_s0-2")
    assert code == 0 and read_json(out.with_suffix(".json"))["matched_by"] == "question"
    table = read_parquet(out).sort("problem_id", "sample_idx")
    seeds = [[json.loads(line) for line in f.read_text().splitlines()] for f in files]
    assert table.filter(pl.col("sample_idx") == 1)["text"].to_list() == [r["generation"] for r in seeds[1]]
    grades = read_parquet(out.with_suffix(".grades.parquet")).sort("problem_id", "sample_idx")
    assert grades["correct"].sum() == sum(r["symbolic_correct"] for f in seeds for r in f)


def test_evalplus_solutions_and_completions_verify_in_the_sandbox(tmp_path: Path) -> None:
    source = ROOT / "tests" / "data" / "code" / "evalplus_humaneval.jsonl"
    problems = problems_of(tmp_path, source, "humaneval_plus", 3)
    code, out = run_import(tmp_path, problems, "evalplus", [DATA / "evalplus" / "samples.jsonl"], "p0-2_s0-2")
    assert code == 0
    verdicts = tmp_path / "verdicts.parquet"
    spec = {"benchmark": "he", "verifiers": ["code"], "settings": {"workers": 2}, "n_samples": 3}
    assert main(["verify", "--problems", str(problems), "--samples", str(out), "--spec", json.dumps(spec),
                 "--out", str(verdicts)]) == 0
    by_index = dict(read_parquet(verdicts).group_by("sample_idx").agg(pl.col("correct").all()).iter_rows())
    assert by_index == {0: True, 1: True, 2: False}  # solution, prompt + completion, a wrong solution


@pytest.mark.parametrize("fmt,line,field,match", [
    ("qwen-math", '{"idx": 0, "question": "q"}', None, "missing field `code`"),
    ("qwen-math", '{"idx": 0, "code": ["a", "b"], "score": [true]}', None, "field `score` has 1 entries for 2"),
    ("lm-eval", '{"doc_id": 0, "doc": {}, "resps": [["a"], ["b"]]}', None, "one list of generated texts"),
    ("nemo-skills", '{"problem": "p", "generation": 5}', None, "field `generation` must be the generated text"),
    ("evalplus", '{"task_id": "HumanEval/0"}', None, "missing field `solution`"),
    ("plain", '{"response": "x"}', None, "missing field `problem_id` or `question`"),
])
def test_a_bad_record_is_named_with_its_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture, fmt: str,
                                                       line: str, field: str | None, match: str) -> None:
    problems = problems_of(tmp_path, head(MATH500, 2, tmp_path / "m.jsonl"), "math500", 2)
    source = tmp_path / ("output-rs0.jsonl" if fmt == "nemo-skills" else "samples.jsonl")
    source.write_text('{"problem_id": "0", "response": "fine"}\n' + line + "\n" if fmt == "plain" else line + "\n")
    code, _ = run_import(tmp_path, problems, fmt, [source], "p0-1_s0-0")
    err = capsys.readouterr().err
    assert code == 2 and match in err and f"{source}:{2 if fmt == 'plain' else 1}:" in err, err


def test_unmatched_records_and_short_problems(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    problems = problems_of(tmp_path, head(MATH500, 3, tmp_path / "m.jsonl"), "math500", 3)
    source = tmp_path / "plain.jsonl"
    rows = [{"problem_id": "0", "response": "a"}, {"problem_id": "0", "response": "b"},
            {"problem_id": "1", "response": "c"}, {"question": "What is 1+1?", "response": "2"},
            {"problem_id": "2", "response": "d"}]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, _ = run_import(tmp_path, problems, "plain", [source], "p0-2_s0-0")
    err = capsys.readouterr().err
    assert code == 2 and "1 records match no problem" in err and f"{source}:4" in err
    code, out = run_import(tmp_path, problems, "plain", [source], "p0-2_s0-0", unmatched="ignore")
    assert code == 0 and read_json(out.with_suffix(".json"))["unmatched"] == 1
    code, _ = run_import(tmp_path, problems, "plain", [source], "p0-2_s0-1", unmatched="ignore")
    err = capsys.readouterr().err
    assert code == 2 and "2 of 3 problems have fewer than n_samples=2 samples" in err and "1 (1), 2 (1)" in err
    assert "lower the benchmark's n_samples (and k_max) to 1" in err
    source.write_text(json.dumps({"problem_id": "0", "response": "a", "sample_idx": 0}) + "\n"
                      + json.dumps({"problem_id": "0", "response": "b", "sample_idx": 0}) + "\n")
    code, _ = run_import(tmp_path, problems, "plain", [source], "p0-0_s0-0")
    assert code == 2 and f"{source}:2: sample 0 of problem 0 appears twice" in capsys.readouterr().err


def test_an_unknown_format_is_named(tmp_path: Path) -> None:
    from rlvr_limits.config import WorkflowConfig
    from rlvr_limits.errors import UserError

    config = yaml.safe_load((ROOT / "config" / "import-example.yaml").read_text())
    config["models"]["qwen_math_cot"]["samples"]["format"] = "helm"
    with pytest.raises(UserError, match=r"models.qwen_math_cot.samples.format: 'helm' is not one of: qwen-math"):
        WorkflowConfig.load(config, ROOT)
    config["models"]["qwen_math_cot"]["samples"].update(format="qwen-math", path="no/such/*.jsonl")
    with pytest.raises(UserError, match=r"samples\.path: no file matches 'no/such/"):
        WorkflowConfig.load(config, ROOT)
    config["models"]["qwen_math_cot"]["samples"]["path"] = str(QWEN)
    config["models"]["qwen_math_cot"]["path"] = "weights/"
    with pytest.raises(UserError, match="has no weights to load; remove path"):
        WorkflowConfig.load(config, ROOT)


def test_our_samples_round_trip_through_the_plain_format(tmp_path: Path) -> None:
    """Exported to the plain format and imported again, a model's samples give the same verdicts and pass@k."""
    source = head(QWEN, 20, tmp_path / "q.jsonl")
    problems = problems_of(tmp_path, source, "math500", 20)
    _, block = run_import(tmp_path, problems, "qwen-math", [source], "p0-19_s0-7")
    drawn = tmp_path / "drawn" / "p0-19_s0-7.parquet"  # a block as sampling writes it (null columns filled)
    filled = read_parquet(block).with_columns(seed=1, prompt_tokens=50, entropy=0.3, finish_reason=pl.lit("stop"),
                                              n_tokens=pl.col("text").str.len_chars())
    write_parquet(filled.cast({"seed": pl.Int64, "prompt_tokens": pl.Int32, "n_tokens": pl.Int32}), drawn)
    exported = tmp_path / "exported.jsonl"
    region = json.dumps({"problems": 20, "samples": 8})
    assert main(["export", "--problems", str(problems), "--region", region, "--samples", str(drawn),
                 "--out", str(exported)]) == 0
    code, back = run_import(tmp_path / "back", problems, "plain", [exported], "p0-19_s0-7")
    assert code == 0 and read_json(back.with_suffix(".json"))["matched_by"] == "id"
    tables = {}
    for name, samples in (("drawn", drawn), ("back", back)):
        verdicts = tmp_path / f"{name}.verdicts.parquet"
        spec = {"benchmark": "math500", "verifiers": ["math"], "settings": {"workers": 1}, "n_samples": 8}
        assert main(["verify", "--problems", str(problems), "--samples", str(samples), "--spec", json.dumps(spec),
                     "--out", str(verdicts)]) == 0
        passk = tmp_path / f"{name}.passk.parquet"
        assert main(["passk", "--verdicts", str(verdicts), "--spec", json.dumps(
            {"n_samples": 8, "k_max": 8, "bootstrap": 200, "ci": 0.95, "seed": 1}), "--out", str(passk),
            "--counts", str(tmp_path / f"{name}.counts.parquet")]) == 0
        tables[name] = (verdicts.read_bytes(), passk.read_bytes())
    assert tables["drawn"] == tables["back"]


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """config/import-example.yaml, run as the README says, in a copy of its files."""
    from test_workflow import snakemake

    workdir = tmp_path_factory.mktemp("import_example")
    shutil.copytree(ROOT / "resources" / "import-example", workdir / "resources" / "import-example")
    snakemake(workdir, "--cores", "2", "--configfile", str(ROOT / "config" / "import-example.yaml"))
    snakemake(workdir, "--configfile", str(ROOT / "config" / "import-example.yaml"), "--report",
              "results/report.html")
    return workdir


def test_the_example_passk_under_the_source_grades_is_the_sources_own(example_run: Path) -> None:
    passk = read_parquet(example_run / "results" / "passk" / "qwen_math_cot" / "math_test_first100.parquet")
    source = [json.loads(line) for line in QWEN.read_text().splitlines()]
    for k in (1, 2, 4, 8):
        expected = sum(1 - math.comb(8 - sum(r["score"]), k) / math.comb(8, k) for r in source) / len(source)
        got = passk.filter((pl.col("verifier") == "imported") & (pl.col("k") == k))["pass_at_k"].item()
        assert math.isclose(got, expected, rel_tol=0, abs_tol=1e-12), (k, got, expected)
    verdicts = read_parquet(example_run / "results" / "verdicts" / "qwen_math_cot" / "math_test_first100.parquet",
                            required=VERDICT_COLUMNS)
    assert set(verdicts["verifier"]) == {"math", "imported"}
    agreement = pl.read_csv(example_run / "results" / "agreement" / "qwen_math_cot" / "math_test_first100.csv")
    assert agreement.row(0, named=True)["samples"] == 800
    html = (example_run / "results" / "report.html").read_text()
    assert "imported samples" in html and "Agreement of the verdicts" in html
    summary = json.loads((example_run / "results" / "compare" / "imported_samples" / "math_test_first100.json")
                         .read_text())
    assert {r["verifier"] for r in summary["results"]} == {"math"}  # the comparison is under our verifier


def test_imported_responses_are_scored_by_a_model_with_weights(example_run: Path, tmp_path: Path) -> None:
    """The perplexity stage reads an imported block like a drawn one; only the imported model cannot score."""
    from tiny_model import build_tiny_model

    scorer = tmp_path / "scorer.json"
    scorer.write_text(json.dumps({"name": "tiny", "path": str(build_tiny_model(tmp_path / "tiny", seed=2,
                                                                              max_positions=1024))}))
    block = example_run / "results" / "samples" / "qwen_math_cot" / "math_test_first100" / "imported" / \
        "p0-99_s0-7.parquet"
    spec = {"scorer": "tiny", "generator": "qwen_math_cot", "benchmark": "math_test_first100",
            "responses_per_problem": 1, "seed": 1, "engine": "hf", "dtype": "auto", "max_model_len": 512,
            "n_samples": 8, "limit": 5}
    out = tmp_path / "ppl.parquet"
    assert main(["perplexity", "--scorer", str(scorer), "--template", str(ROOT / "resources" / "prompts" /
                                                                         "qwen-boxed.yaml"),
                 "--spec", json.dumps(spec), "--problems",
                 str(example_run / "results" / "problems" / "math_test_first100.parquet"), "--samples", str(block),
                 "--out", str(out)]) == 0
    assert read_parquet(out).height == 5


def test_analyses_that_need_the_model_are_left_out_with_a_message() -> None:
    """An imported model cannot score perplexities or give entropies; its responses can still be scored."""
    from rlvr_limits.config import PerplexityJob, WorkflowConfig

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["models"]["toy_rl"] = {"samples": {"path": str(QWEN), "format": "qwen-math"}, "role": "rl", "step": 100}
    config["models"]["toy_rl_hot"] = {**config["models"]["toy_distill"], "sampling": {"temperature": 1.5}}
    config["entropy_matching"] = {"heat": {"reference": "toy_base", "sweep": ["toy_rl", "toy_rl_hot"],
                                           "benchmark": "toy_arith"}}
    w = WorkflowConfig.load(config, ROOT)
    jobs = w.perplexity_jobs()
    assert PerplexityJob("toy_base", "toy_rl", "toy_arith") in jobs
    assert not any(job.scorer == "toy_rl" for job in jobs)
    assert w.entropy_matching == {}
    notes = " ".join(w.imported_notes())
    assert "toy_rl is known by its samples only: the perplexity with it as the scorer is left out" in notes
    assert "left out: entropy_matching.heat" in notes
    assert ("toy_rl", "toy_arith") not in w.drawn_pairs() and ("toy_rl", "toy_arith") in w.sampled_pairs()
