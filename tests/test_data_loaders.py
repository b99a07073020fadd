"""Loaders: every math benchmark's records become problems the way the study's code reads them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlvr_limits.data.loaders import LOADERS, answer_type, normalize, read_records
from rlvr_limits.errors import UserError

FIXTURES = Path(__file__).parent / "data" / "fixtures" / "math"
MATH = ("math500", "aime24", "amc23", "gsm8k", "minerva_math", "olympiadbench")


def fixture(name: str) -> Path:
    return FIXTURES / name / "test.jsonl"


def load(name: str) -> list[dict]:
    return normalize(name, read_records(fixture(name), "jsonl"))


def raw(name: str) -> list[dict]:
    return [json.loads(line) for line in fixture(name).read_text().splitlines()]


@pytest.mark.parametrize("name", MATH)
def test_every_math_loader_uses_the_study_gold_and_keeps_file_order(name):
    from rlvr_limits.verify.math.gold import gold_from_record

    rows, records = load(name), raw(name)
    assert [r["problem_id"] for r in rows] == ["0", "1", "2"]
    for row, record in zip(rows, records, strict=True):
        assert set(row) == {"problem_id", "question", "answer", "answer_type", "meta"}
        assert row["answer"] == str(gold_from_record(name, record)).strip()
        text = record.get("question", record.get("problem"))
        assert row["question"] == text.strip()
        meta = json.loads(row["meta"])
        assert "idx" not in meta and ("question" if "question" in record else "problem") not in meta
        assert set(meta) | {"question", "problem", "idx"} >= set(record) - {"question", "problem", "idx"}


def test_gold_anchors_of_each_benchmark():
    assert [r["answer"] for r in load("gsm8k")] == ["18", "3", "70000"]
    assert [r["answer"] for r in load("aime24")] == ["204", "113", "371"]
    assert [float(r["answer"]) for r in load("amc23")] == [27.0, 36.0, 45.0]
    assert [r["answer"] for r in load("minerva_math")] == ["1.6", "4.5e33", "41.8"]
    assert load("olympiadbench")[0]["answer"] == "2"
    assert "2^{1009}" in load("olympiadbench")[2]["answer"] and "$" not in load("olympiadbench")[2]["answer"]
    math500 = [r["answer"].replace(" ", "") for r in load("math500")]
    assert math500[1:] == ["p-q", "\\frac{14}{3}"]
    assert [r["answer_type"] for r in load("gsm8k")] == ["integer"] * 3


def test_benchmark_ids_are_kept_in_meta():
    assert json.loads(load("aime24")[0]["meta"])["id"] == 60
    assert json.loads(load("math500")[0]["meta"])["unique_id"] == "test/precalculus/807.json"
    assert json.loads(load("olympiadbench")[1]["meta"])["id"] == 1610
    assert json.loads(load("aime24")[0]["meta"])["url"].startswith("https://artofproblemsolving.com/")


def test_true_false_and_yes_no_golds_extend_the_question_as_the_study_did():
    records = [("f:1", {"question": "Is 7 prime?", "answer": "x\n#### Yes"}),
               ("f:2", {"question": "Is 1 > 2? ", "answer": "x\n#### False"})]
    rows = normalize("gsm8k", records)
    assert rows[0]["question"] == "Is 7 prime? (Yes or No)"
    assert rows[1]["question"] == "Is 1 > 2?  (True or False)"  # appended before the final strip


def test_formats_give_the_same_problems(tmp_path):
    records = raw("gsm8k")
    gz = tmp_path / "t.jsonl.gz"
    gz.write_bytes(gzip.compress(fixture("gsm8k").read_bytes()))
    js = tmp_path / "t.json"
    js.write_text(json.dumps(records))
    pqf = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(records), pqf)
    expected = load("gsm8k")
    for path, fmt in ((gz, "jsonl.gz"), (js, "json"), (pqf, "parquet")):
        assert normalize("gsm8k", read_records(path, fmt)) == expected


def test_normalized_loader_reads_workflow_generated_problems():
    records = [("t:1", {"problem_id": "toy-m3-000", "question": "1+2+3=", "answer": "6",
                        "meta": {"m": 3, "operands": [1, 2, 3]}}),
               ("t:2", {"problem_id": 7, "question": "2+2=", "answer": 4, "meta": '{"m": 2}', "split": "test",
                        "answer_type": "digits"})]
    rows = normalize("normalized", records)
    assert rows[0] == {"problem_id": "toy-m3-000", "question": "1+2+3=", "answer": "6",
                       "answer_type": "integer", "meta": json.dumps({"m": 3, "operands": [1, 2, 3]})}
    assert rows[1]["problem_id"] == "7" and rows[1]["answer"] == "4" and rows[1]["answer_type"] == "digits"
    assert json.loads(rows[1]["meta"]) == {"m": 2, "split": "test"}


def test_answer_type_hint():
    assert [answer_type(a) for a in ("073", "-4", "27.0", "4.5e33", "\\frac{1}{2}", "(1,2)")] == \
        ["integer", "integer", "number", "number", "expression", "expression"]


def test_loader_names_cover_the_paper_benchmarks():
    assert set(MATH) | {"omni_math", "normalized", "humaneval_plus", "mbpp_plus", "livecodebench",
                        "humaneval", "mathvista", "mathvision"} == set(LOADERS)


@pytest.mark.parametrize(("content", "message"), [
    (b'{"question": "q", "answer": "#### 1"}\n{"question": \n', "t.jsonl:2: invalid JSON"),
    (b'[1, 2]\n', "t.jsonl:1: expected a JSON object per line"),
    (b'\n\n', "t.jsonl: no records"),
    (b'{"question": "\xff"}\n', "t.jsonl:1: not UTF-8 text"),
])
def test_malformed_jsonl_names_file_and_line(tmp_path, content, message):
    path = tmp_path / "t.jsonl"
    path.write_bytes(content)
    with pytest.raises(UserError) as info:
        read_records(path, "jsonl")
    assert message in str(info.value)


@pytest.mark.parametrize(("fmt", "content", "message"), [
    ("jsonl.gz", gzip.compress(b'{"a": 1}\n' * 50)[:30], "not a complete gzip file"),
    ("json", b'{"a": 1}', "expected a non-empty JSON array of objects"),
    ("json", b'[{"a": 1}, 2]', "item 1: expected a JSON object"),
    ("json", b'[{"a": 1', "invalid JSON"),
    ("parquet", b"PAR1 not really", "not a complete Parquet file"),
])
def test_malformed_files_of_each_format(tmp_path, fmt, content, message):
    path = tmp_path / f"t.{fmt}"
    path.write_bytes(content)
    with pytest.raises(UserError) as info:
        read_records(path, fmt)
    assert message in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize(("loader", "record", "message"), [
    ("gsm8k", {"answer": "#### 3"}, "f:9: no question"),
    ("gsm8k", {"question": "   ", "answer": "#### 3"}, "f:9: no question"),
    ("aime24", {"problem": "p", "answer": "1", "idx": [1]}, "f:9: field `idx` must be"),
    ("normalized", {"question": "q", "answer": "1"}, "f:9: missing field `problem_id`"),
    ("normalized", {"problem_id": "a", "question": "", "answer": "1"}, "f:9: `question` must be"),
    ("normalized", {"problem_id": "a", "question": "q", "answer": None}, "f:9: `answer` must be"),
    ("normalized", {"problem_id": True, "question": "q", "answer": "1"}, "f:9: `problem_id` must be"),
    ("normalized", {"problem_id": "a", "question": "q", "answer": "1", "meta": "[1"}, "f:9: `meta` must be"),
])
def test_malformed_records_name_their_line(loader, record, message):
    with pytest.raises(UserError) as info:
        normalize(loader, [("f:9", record)])
    assert message in str(info.value)


def test_duplicate_problem_ids_are_refused():
    records = [("f:1", {"problem_id": "a", "question": "q", "answer": "1"}),
               ("f:2", {"problem_id": "a", "question": "r", "answer": "2"})]
    with pytest.raises(UserError, match="f:2: problem_id 'a' repeats the one at f:1"):
        normalize("normalized", records)
