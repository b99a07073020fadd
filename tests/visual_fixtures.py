"""Parquet files in the layout of the MathVista and MathVision hub datasets, with real PNG images.

Columns and types follow the datasets' cards (AI4Math/MathVista `data/testmini-*.parquet`, MathLLMs/MathVision
`data/testmini-*.parquet`): the image sits in `decoded_image` as the `datasets` Image struct {bytes, path}.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    """A real PNG image of one colour."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


#: Five MathVista-style problems: three free-form (integer, float with precision 1, text) and two
#: multiple-choice.
MATHVISTA_ROWS = [
    {"pid": "1", "question": "How many cubes are there?", "choices": None, "unit": None, "precision": None,
     "answer": "7", "question_type": "free_form", "answer_type": "integer"},
    {"pid": "2", "question": "Which shape is red?", "choices": ["circle", "square"], "unit": None,
     "precision": None, "answer": "circle", "question_type": "multi_choice", "answer_type": "text"},
    {"pid": "3", "question": "What is the length of AB?", "choices": None, "unit": "cm", "precision": 1.0,
     "answer": "2.5", "question_type": "free_form", "answer_type": "float"},
    {"pid": "4", "question": "Is the line above the curve?", "choices": ["Yes", "No"], "unit": None,
     "precision": None, "answer": "Yes", "question_type": "multi_choice", "answer_type": "text"},
    {"pid": "5", "question": "What is the colour of the largest object?", "choices": None, "unit": None,
     "precision": None, "answer": "blue", "question_type": "free_form", "answer_type": "text"},
]

#: Four MathVision-style problems: two without options (free-form), two multiple-choice.
MATHVISION_ROWS = [
    {"id": "10", "question": "How many dots are hidden?", "options": [], "answer": "4", "solution": None,
     "level": 1, "subject": "counting"},
    {"id": "11", "question": "Which picture is the mirror image?", "options": ["A", "B", "C", "D", "E"],
     "answer": "C", "solution": None, "level": 2, "subject": "transformation geometry"},
    {"id": "12", "question": "What is the shaded area?", "options": [], "answer": "\\frac{1}{2}",
     "solution": "Half the square.", "level": 3, "subject": "metric geometry - area"},
    {"id": "13", "question": "Which number is largest?", "options": ["1", "2", "3", "4", "5"], "answer": "E",
     "solution": None, "level": 1, "subject": "arithmetic"},
]


def _images(n: int) -> list[dict[str, object]]:
    return [{"bytes": png(8 + 4 * i, 6 + 2 * i, (40 * i % 256, 100, 200)), "path": f"{i + 1}.png"}
            for i in range(n)]


def mathvista_parquet(path: Path, rows: list[dict] | None = None) -> Path:
    """MathVista testmini's columns: pid, question, image, decoded_image, choices, unit, precision, answer,
    question_type, answer_type, metadata, query."""
    rows = MATHVISTA_ROWS if rows is None else rows
    images = _images(len(rows))
    table = pa.table({
        "pid": [r["pid"] for r in rows],
        "question": [r["question"] for r in rows],
        "image": [f"images/{r['pid']}.jpg" for r in rows],
        "decoded_image": pa.array(images, type=IMAGE),
        "choices": pa.array([r["choices"] for r in rows], type=pa.list_(pa.string())),
        "unit": [r["unit"] for r in rows],
        "precision": pa.array([r["precision"] for r in rows], type=pa.float64()),
        "answer": [r["answer"] for r in rows],
        "question_type": [r["question_type"] for r in rows],
        "answer_type": [r["answer_type"] for r in rows],
        "metadata": [{"category": "math-targeted-vqa", "context": "synthetic scene", "grade": "elementary school",
                      "img_height": 6, "img_width": 8, "language": "english", "skills": ["arithmetic reasoning"],
                      "source": "CLEVR-Math", "split": "testmini", "task": "math word problem"} for _ in rows],
        "query": [f"Hint: answer the question.\nQuestion: {r['question']}" for r in rows],
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def mathvision_parquet(path: Path, rows: list[dict] | None = None) -> Path:
    """MathVision testmini's columns: id, question, options, image, decoded_image, answer, solution, level,
    subject."""
    rows = MATHVISION_ROWS if rows is None else rows
    table = pa.table({
        "id": [r["id"] for r in rows],
        "question": [r["question"] for r in rows],
        "options": pa.array([r["options"] for r in rows], type=pa.list_(pa.string())),
        "image": [f"images/{r['id']}.jpg" for r in rows],
        "decoded_image": pa.array(_images(len(rows)), type=IMAGE),
        "answer": [r["answer"] for r in rows],
        "solution": pa.array([r["solution"] for r in rows], type=pa.string()),
        "level": pa.array([r["level"] for r in rows], type=pa.int64()),
        "subject": [r["subject"] for r in rows],
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path
