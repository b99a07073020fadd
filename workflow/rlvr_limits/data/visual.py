"""Visual-math benchmarks (MathVista, MathVision) as their Hugging Face parquet files hold them.

Both datasets store one problem per row with the image in a `decoded_image` column in the `datasets`
Image layout (a struct `{bytes, path}`) beside a relative `image` path. The loaders turn a row into a
problem whose `meta` keeps what verification needs:

- `mathvista` (AI4Math/MathVista): problem_id = `pid`, question = `question` (the raw question; the
  dataset's `query`, with its answer-format hint, is kept in `meta`), answer = `answer`, answer_type =
  the dataset's own (`integer`, `float`, `text`, `list`), `meta.precision` (decimal places of a float
  answer) and `meta.unit`. Multiple-choice = `question_type: multi_choice`.
- `mathvision` (MathLLMs/MathVision): problem_id = `id`, question = `question`, answer = `answer` (its
  answer_type inferred as for the math benchmarks), `meta.options`. Multiple-choice = non-empty `options`.

`free_form: true` in the manifest keeps only the problems that are not multiple-choice, as the study does
(MathVista-testmini 460 of 1000). `extract_images` writes each kept problem's image once to
`results/problems/{bench}/images/{problem_id}.{ext}`; the problems table names that file in its `image`
column, which is what the sampling stage reads.

Only the standard library is imported at load time (the manifest reads `LOADERS` while the DAG is built).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlvr_limits.errors import UserError

Record = dict[str, Any]
Row = dict[str, str]

#: The column of the `datasets` Image feature in both datasets: {"bytes": ..., "path": ...}.
IMAGE_FIELD = "decoded_image"
#: MathVista's answer types; the verifier compares each kind differently.
MATHVISTA_ANSWER_TYPES = ("integer", "float", "text", "list")
MATHVISTA_QUESTION_TYPES = ("free_form", "multi_choice")

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"), (b"GIF87a", "gif"), (b"GIF89a", "gif"),
          (b"BM", "bmp"))


def _text(record: Record, key: str, where: str) -> str:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float) or str(value).strip() == "":
        raise UserError(f"{where}: field `{key}` must be a non-empty string, got {value!r}")
    return str(value).strip()


def _problem_id(record: Record, key: str, where: str) -> str:
    problem_id = _text(record, key, where)
    if not _SAFE_ID.match(problem_id):
        raise UserError(f"{where}: field `{key}` {problem_id!r} cannot name an image file (letters, digits, "
                        "'_', '.', '-' only)")
    return problem_id


def _meta(record: Record, dropped: tuple[str, ...]) -> str:
    kept = {k: v for k, v in record.items() if k not in dropped}
    return json.dumps(kept, ensure_ascii=False, default=str)


def _mathvista_row(loader: str, record: Record, index: int, where: str) -> Row:
    kind = record.get("answer_type")
    if kind not in MATHVISTA_ANSWER_TYPES:
        raise UserError(f"{where}: field `answer_type` must be one of {list(MATHVISTA_ANSWER_TYPES)}, "
                        f"got {kind!r}")
    precision = record.get("precision")
    if kind == "float" and (isinstance(precision, bool) or not isinstance(precision, int | float)
                            or precision < 0 or precision != int(precision)):
        raise UserError(f"{where}: a float answer needs `precision` (decimal places, a whole number >= 0), "
                        f"got {precision!r}")
    row = {"problem_id": _problem_id(record, "pid", where), "question": _text(record, "question", where),
           "answer": _text(record, "answer", where), "answer_type": str(kind)}
    meta = json.loads(_meta(record, ("pid", "question", "answer", "answer_type", IMAGE_FIELD)))
    meta["precision"] = int(precision) if kind == "float" else None
    return {**row, "meta": json.dumps(meta, ensure_ascii=False, default=str)}


def _mathvision_row(loader: str, record: Record, index: int, where: str) -> Row:
    from rlvr_limits.data.loaders import answer_type

    answer = _text(record, "answer", where)
    return {"problem_id": _problem_id(record, "id", where), "question": _text(record, "question", where),
            "answer": answer, "answer_type": answer_type(answer),
            "meta": _meta(record, ("id", "question", "answer", IMAGE_FIELD))}


def _mathvista_multiple_choice(record: Record, where: str) -> bool:
    kind = record.get("question_type")
    if kind not in MATHVISTA_QUESTION_TYPES:
        raise UserError(f"{where}: field `question_type` must be one of {list(MATHVISTA_QUESTION_TYPES)}, "
                        f"got {kind!r}")
    return kind == "multi_choice"


def _mathvision_multiple_choice(record: Record, where: str) -> bool:
    options = record.get("options")
    if options is not None and not isinstance(options, list | tuple):
        raise UserError(f"{where}: field `options` must be a list (empty for a free-form problem), got "
                        f"{options!r}")
    return bool(options)


LOADERS: dict[str, Callable[[str, Record, int, str], Row]] = {
    "mathvista": _mathvista_row,
    "mathvision": _mathvision_row,
}

#: Whether a record is a multiple-choice problem, for each loader that can tell.
MULTIPLE_CHOICE: dict[str, Callable[[Record, str], bool]] = {
    "mathvista": _mathvista_multiple_choice,
    "mathvision": _mathvision_multiple_choice,
}


def keep_free_form(loader: str, records: list[tuple[str, Record]]) -> list[tuple[str, Record]]:
    """The records that are not multiple-choice problems, in order."""
    test = MULTIPLE_CHOICE[loader]
    return [(where, record) for where, record in records if not test(record, where)]


def image_bytes(record: Record, where: str) -> tuple[bytes, str]:
    """A record's encoded image and the file extension its format calls for."""
    image = record.get(IMAGE_FIELD)
    data = image.get("bytes") if isinstance(image, dict) else None
    if not isinstance(data, bytes) or not data:
        raise UserError(f"{where}: field `{IMAGE_FIELD}` must hold the image as {{bytes, path}} with "
                        f"non-empty bytes, got {_describe(image)}")
    for magic, ext in _MAGIC:
        if data.startswith(magic):
            return data, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return data, "webp"
    raise UserError(f"{where}: field `{IMAGE_FIELD}` holds {len(data)} bytes that are not a PNG, JPEG, GIF, "
                    "BMP or WebP image")


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {type(v).__name__}" for k, v in value.items()) + "}"
    return type(value).__name__


def images_dir(problems_out: str | Path) -> Path:
    """`results/problems/B.parquet` -> `results/problems/B/images`."""
    return Path(problems_out).with_suffix("") / "images"


def extract_images(rows: list[Row], records: list[tuple[str, Record]], folder: Path) -> list[dict[str, str]]:
    """Write each row's image (from the record it came from) to `folder/{problem_id}.{ext}` and return the
    rows with an `image` column naming that file. A file that already holds the same bytes is left as it is,
    so a rerun writes nothing; a different one is replaced atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for row, (where, record) in zip(rows, records, strict=True):
        data, ext = image_bytes(record, where)
        path = folder / f"{row['problem_id']}.{ext}"
        if not (path.is_file() and _same(path, data)):
            _write_atomically(path, data)
        out.append({**row, "image": str(path)})
    return out


def _same(path: Path, data: bytes) -> bool:
    return path.stat().st_size == len(data) and path.read_bytes() == data


def _write_atomically(path: Path, data: bytes) -> None:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(name, path)
    finally:
        Path(name).unlink(missing_ok=True)
