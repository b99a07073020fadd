"""Read a benchmark file and turn its records into problems (the columns of `tables.PROBLEM_COLUMNS`).

A manifest entry's `loader` names one of `LOADERS`. The math loaders carry the names of the benchmarks in
the study's evaluation code and take the question and the gold answer the way that code does, so that our
pass@k numbers are computed against the same golds:

- question: the first of the fields `question`, `problem`, `Question`, `input`, stripped, with
  " (True or False)" / " (Yes or No)" appended when the gold is such a word;
- gold: `rlvr_limits.verify.math.gold.gold_from_record(loader, record)` (e.g. the last `\\boxed{}` of the
  solution for MATH500 and Minerva, the text after `####` for GSM8K, `final_answer[0]` for OlympiadBench);
- problem_id: the record's `idx` when it has one, else its 0-based position in the file (the code's `idx`).

The code loaders (`humaneval_plus`, `mbpp_plus`, `livecodebench`, `humaneval`) live with the code verifier
(`rlvr_limits.verify.code.loaders`): they put each problem's tests into `meta`.

The visual loaders (`mathvista`, `mathvision`) live in `rlvr_limits.data.visual`, with the images they
bring.

`normalized` reads files that already hold problems (`problem_id`, `question`, `answer`, optional
`answer_type` and `meta`), such as the files the workflow generates itself.

This module imports only the standard library at load time: the manifest (read while Snakemake builds the
DAG) imports `LOADERS` from here.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from rlvr_limits.data.visual import LOADERS as VISUAL_LOADERS
from rlvr_limits.errors import UserError
from rlvr_limits.verify.code.loaders import LOADERS as CODE_LOADERS

Record = dict[str, Any]
Row = dict[str, str]

#: Fields holding the question, in the order the study's code looks for them.
QUESTION_KEYS = ("question", "problem", "Question", "input")

#: Where each math loader's gold answer comes from (for error messages).
GOLD_SOURCES = {
    "math500": "the last \\boxed{} of `solution`",
    "minerva_math": "the last \\boxed{} of `solution`",
    "gsm8k": "the text after `####` in `answer`",
    "olympiadbench": "`final_answer[0]`",
    "aime24": "`answer`",
    "amc23": "`answer`",
    "omni_math": "`answer`",
}

_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def answer_type(answer: str) -> str:
    """A coarse hint for readers of the table: `integer`, `number` or `expression`."""
    text = answer.strip()
    if _INTEGER.match(text):
        return "integer"
    if _NUMBER.match(text):
        return "number"
    return "expression"


def _meta_json(meta: dict[str, Any]) -> str:
    return json.dumps(meta, ensure_ascii=False, default=str)


def _math_row(loader: str, record: Record, index: int, where: str) -> Row:
    from rlvr_limits.verify.math.gold import gold_from_record  # sympy-heavy; only when problems are built

    key = next((k for k in QUESTION_KEYS if k in record), None)
    question = record.get(key) if key else None
    if not isinstance(question, str) or not question.strip():
        raise UserError(f"{where}: no question: expected a non-empty string in one of the fields "
                        f"{list(QUESTION_KEYS)}")
    try:
        gold = gold_from_record(loader, record)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise UserError(f"{where}: cannot take the gold answer from {GOLD_SOURCES[loader]} "
                        f"({exc.__class__.__name__}: {exc})") from None
    answer = "" if gold is None else str(gold).strip()
    if not answer:
        raise UserError(f"{where}: empty gold answer (taken from {GOLD_SOURCES[loader]})")
    if answer.lower() in ("true", "false"):
        question += " (True or False)"
    if answer.lower() in ("yes", "no"):
        question += " (Yes or No)"
    problem_id = record.get("idx", index)
    if isinstance(problem_id, bool) or not isinstance(problem_id, int | str):
        raise UserError(f"{where}: field `idx` must be an integer or a string, got {problem_id!r}")
    meta = {k: v for k, v in record.items() if k not in (key, "idx")}
    return {"problem_id": str(problem_id), "question": question.strip(), "answer": answer,
            "answer_type": answer_type(answer), "meta": _meta_json(meta)}


def _normalized_row(loader: str, record: Record, index: int, where: str) -> Row:
    for key in ("problem_id", "question", "answer"):
        if key not in record:
            raise UserError(f"{where}: missing field `{key}` (a `normalized` file holds problem_id, "
                            "question, answer and optionally answer_type and meta)")
    problem_id, question, answer = record["problem_id"], record["question"], record["answer"]
    if isinstance(problem_id, bool) or not isinstance(problem_id, int | str) or str(problem_id) == "":
        raise UserError(f"{where}: `problem_id` must be a non-empty string or an integer, got {problem_id!r}")
    if not isinstance(question, str) or not question.strip():
        raise UserError(f"{where}: `question` must be a non-empty string, got {question!r}")
    if isinstance(answer, bool) or not isinstance(answer, str | int | float) or str(answer).strip() == "":
        raise UserError(f"{where}: `answer` must be a non-empty string or a number, got {answer!r}")
    meta = record.get("meta") or {}
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except json.JSONDecodeError:
            meta = None
    if not isinstance(meta, dict):
        raise UserError(f"{where}: `meta` must be an object (or JSON text of one), got {record['meta']!r}")
    extra = {k: v for k, v in record.items() if k not in ("problem_id", "question", "answer", "answer_type",
                                                          "meta")}
    kind = record.get("answer_type") or answer_type(str(answer))
    if not isinstance(kind, str):
        raise UserError(f"{where}: `answer_type` must be a string, got {kind!r}")
    return {"problem_id": str(problem_id), "question": question, "answer": str(answer).strip(),
            "answer_type": kind, "meta": _meta_json({**meta, **extra})}


LOADERS: dict[str, Callable[[str, Record, int, str], Row]] = {
    **{name: _math_row for name in GOLD_SOURCES},
    "normalized": _normalized_row,
    **CODE_LOADERS,
    **VISUAL_LOADERS,
}


def normalize(loader: str, records: list[tuple[str, Record]]) -> list[Row]:
    """Problems from `(location, record)` pairs, in file order; problem ids must be unique."""
    make = LOADERS[loader]
    rows: list[Row] = []
    seen: dict[str, str] = {}
    for index, (where, record) in enumerate(records):
        row = make(loader, record, index, where)
        first = seen.setdefault(row["problem_id"], where)
        if first != where:
            raise UserError(f"{where}: problem_id {row['problem_id']!r} repeats the one at {first}")
        rows.append(row)
    return rows


def read_records(path: str | Path, fmt: str) -> list[tuple[str, Record]]:
    """The records of a benchmark file, each with its location (`file:line` or `file: row N`)."""
    return list(iter_records(path, fmt))


def iter_records(path: str | Path, fmt: str) -> Iterator[tuple[str, Record]]:
    """Like `read_records`, but JSON Lines files are streamed, so a caller that filters the records (the
    manifest's `where:`) holds only those it keeps, not a whole multi-gigabyte file."""
    path = Path(path)
    if fmt == "jsonl":
        with open(path, "rb") as handle:
            yield from _jsonl_records(path, handle)
    elif fmt == "jsonl.gz":
        try:
            with gzip.open(path, "rb") as handle:
                yield from _jsonl_records(path, handle)
        except (OSError, EOFError, zlib.error) as exc:
            raise UserError(f"{path}: not a complete gzip file ({exc}); delete it and rerun") from None
    elif fmt == "json":
        yield from _json_records(path)
    elif fmt == "parquet":
        yield from _parquet_records(path)
    else:
        raise UserError(f"{path}: unknown format {fmt!r}")


def _jsonl_records(path: Path, lines: Iterable[bytes]) -> Iterator[tuple[str, Record]]:
    count = 0
    for lineno, raw in enumerate(lines, start=1):
        where = f"{path}:{lineno}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UserError(f"{where}: not UTF-8 text") from None
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno}); the file may be "
                            "truncated or not JSON Lines") from None
        if not isinstance(record, dict):
            raise UserError(f"{where}: expected a JSON object per line, got {type(record).__name__}")
        count += 1
        yield where, record
    if not count:
        raise UserError(f"{path}: no records")


def _json_records(path: Path) -> list[tuple[str, Record]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(doc, list) or not doc:
        raise UserError(f"{path}: expected a non-empty JSON array of objects")
    records = []
    for i, record in enumerate(doc):
        if not isinstance(record, dict):
            raise UserError(f"{path}: item {i}: expected a JSON object, got {type(record).__name__}")
        records.append((f"{path}: item {i}", record))
    return records


def _parquet_records(path: Path) -> list[tuple[str, Record]]:
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise UserError(f"{path}: not a complete Parquet file ({exc.__class__.__name__}: {exc})") from None
    if not rows:
        raise UserError(f"{path}: no records")
    return [(f"{path}: row {i}", row) for i, row in enumerate(rows)]
