"""`toy-vl-data`: the vision-language miniature's picture problems, drawn offline.

They are written in the layout of MathVista's testmini parquet (the image as the `datasets` struct {bytes, path}
in `decoded_image`), so the `mathvista` loader reads them as it reads the real file: shapes to count, a bar to
measure (a float answer with a precision and a unit), a colour to name (a text answer), and two multiple-choice
questions that the free-form filter drops.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

from rlvr_limits.progress import LOG


def _png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _picture(shapes: list[tuple[str, tuple[int, int, int, int], str]]) -> bytes:
    """A 336×224 white picture with each (kind, box, colour) drawn on it."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (336, 224), "white")
    pen = ImageDraw.Draw(image)
    for kind, box, colour in shapes:
        if kind == "circle":
            pen.ellipse(box, fill=colour, outline="black")
        else:
            pen.rectangle(box, fill=colour, outline="black")
    return _png(image)


def problems() -> list[dict[str, object]]:
    """The picture problems as MathVista testmini rows (six free-form, two multiple-choice)."""
    def circles(n: int, colour: str) -> list[tuple[str, tuple[int, int, int, int], str]]:
        return [("circle", (20 + 60 * i, 80, 70 + 60 * i, 130), colour) for i in range(n)]

    rows = [
        ("1", "How many circles are in the picture?", circles(3, "red"), "3", "integer", None, None, None),
        ("2", "How many circles are in the picture?", circles(5, "blue"), "5", "integer", None, None, None),
        ("3", "How many squares are in the picture?",
         [("square", (30 + 70 * i, 60, 80 + 70 * i, 110), "green") for i in range(4)], "4", "integer", None, None,
         None),
        ("4", "The bar is drawn at 56 pixels to the cm. How long is it, in cm?",
         [("square", (28, 100, 28 + 140, 124), "orange")], "2.5", "float", 1.0, "cm", None),
        ("5", "What colour is the square?", [("square", (120, 70, 200, 150), "red")], "red", "text", None, None,
         None),
        ("6", "How many shapes are in the picture?",
         [*circles(2, "purple"), ("square", (200, 60, 260, 120), "gray")], "3", "integer", None, None, None),
        ("7", "Which shape is larger?", [*circles(1, "red"), ("square", (150, 40, 300, 190), "blue")], "square",
         "text", None, None, ["circle", "square"]),
        ("8", "Are there more circles than squares?", circles(2, "red"), "Yes", "text", None, None, ["Yes", "No"]),
    ]
    return [{"pid": pid, "question": question, "image": f"images/{pid}.png",
             "decoded_image": {"bytes": _picture(shapes), "path": f"{pid}.png"},
             "choices": choices, "unit": unit, "precision": precision, "answer": answer,
             "question_type": "free_form" if choices is None else "multi_choice", "answer_type": answer_type,
             "metadata": {"source": "rlvr-limits miniature", "category": "toy"}}
            for pid, question, shapes, answer, answer_type, precision, unit, choices in rows]


def save_problems(out: str | Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = problems()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), str(out))
    return len(rows)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="the parquet file to write (MathVista testmini layout)")


def run(args: argparse.Namespace) -> int:
    LOG.info("wrote %d picture problems to %s", save_problems(args.out), args.out)
    return 0
