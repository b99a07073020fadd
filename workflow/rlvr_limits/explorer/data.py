"""What a comparison's explorer page shows, chosen so that its size stays bounded at any scale.

Every problem of the benchmark's region gets one row: per model its correct count c of n, pass@1 and pass@k_max,
and for each compared model the coverage category against the base (both / base only / model only / neither),
taken from the compare stage's coverage table so that a filter lists exactly the problems the coverage split
counts. Of the responses, each model shows at most `SHOWN_CORRECT` correct and `SHOWN_WRONG` others per problem
(those with the lowest sample indices, under the benchmark's first verifier), each cut to `TEXT_HEAD` characters
from its start and `TEXT_TAIL` from its end; the page says what it left out and where the full set is.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from rlvr_limits.errors import UserError

SHOWN_CORRECT = 2
SHOWN_WRONG = 2
TEXT_HEAD = 1500
TEXT_TAIL = 500
QUESTION_CHARS = 4000
IMAGE_SIDE = 512  # pixels of the longer side of an embedded image


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator 1 - C(n-c, k) / C(n, k) (k <= n)."""
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def cut(text: str) -> tuple[str, int]:
    """The text as shown: its head and tail when it is long, and how many characters were left out."""
    if len(text) <= TEXT_HEAD + TEXT_TAIL:
        return text, 0
    left_out = len(text) - TEXT_HEAD - TEXT_TAIL
    return f"{text[:TEXT_HEAD]}\n[... {left_out:,} characters left out ...]\n{text[-TEXT_TAIL:]}", left_out


def chosen_samples(verdicts: pl.DataFrame, verifier: str) -> pl.DataFrame:
    """(problem_id, sample_idx) of the responses shown: the first correct ones and the first others."""
    primary = verdicts.filter(pl.col("verifier") == verifier).sort("problem_id", "sample_idx")
    return pl.concat([
        primary.filter(pl.col("correct")).group_by("problem_id", maintain_order=True).head(SHOWN_CORRECT),
        primary.filter(~pl.col("correct")).group_by("problem_id", maintain_order=True).head(SHOWN_WRONG),
    ]).select("problem_id", "sample_idx")


def read_texts(blocks: Sequence[str], chosen: pl.DataFrame) -> pl.DataFrame:
    """The chosen samples' rows of the block tables, read with a filter (never every text in memory)."""
    keys = chosen.select(key=pl.col("problem_id") + "\x1f" + pl.col("sample_idx").cast(pl.String))["key"]
    frames = [pl.scan_parquet(block).with_columns(key=pl.col("problem_id") + "\x1f"
                                                  + pl.col("sample_idx").cast(pl.String))
              .filter(pl.col("key").is_in(keys.implode()))
              .select("problem_id", "sample_idx", "text", "finish_reason", "n_tokens").collect()
              for block in blocks]
    return pl.concat(frames) if frames else pl.DataFrame()


def image_uri(path: str | None) -> str | None:
    """A problem's image as a data URI, scaled down to IMAGE_SIDE pixels (JPEG), or None."""
    if not path or not Path(path).is_file():
        return None
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        image.thumbnail((IMAGE_SIDE, IMAGE_SIDE))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def model_responses(verdicts: pl.DataFrame, blocks: Sequence[str], verifier: str) -> dict[str, list[dict]]:
    """problem_id -> the shown responses of one model, each with every verifier's verdict."""
    chosen = chosen_samples(verdicts, verifier)
    texts = read_texts(blocks, chosen)
    if texts.height != chosen.height:
        raise UserError(f"the sample blocks hold {texts.height} of the {chosen.height} responses the verdicts "
                        "name; verify again after sampling")
    by_sample: dict[tuple[str, int], list[dict]] = {}
    for row in verdicts.join(chosen, on=["problem_id", "sample_idx"]).sort("verifier").iter_rows(named=True):
        by_sample.setdefault((row["problem_id"], row["sample_idx"]), []).append(
            {"verifier": row["verifier"], "verdict": row["verdict"], "extracted": row["extracted"],
             "detail": row["detail"]})
    shown: dict[str, list[dict]] = {}
    for row in texts.sort("problem_id", "sample_idx").iter_rows(named=True):
        text, left_out = cut(row["text"] or "")
        shown.setdefault(row["problem_id"], []).append({
            "index": row["sample_idx"], "text": text, "left_out": left_out,
            "finish_reason": row["finish_reason"], "tokens": row["n_tokens"],
            "verdicts": by_sample[(row["problem_id"], row["sample_idx"])]})
    return shown


def page_data(spec: dict[str, Any], problems: pl.DataFrame, coverage: pl.DataFrame,
              verdicts: dict[str, pl.DataFrame], blocks: dict[str, list[str]]) -> dict[str, Any]:
    """Everything the page embeds (see the module docstring)."""
    base, models, k_max = spec["base"], spec["models"], spec["k_max"]
    verifier = spec["verifier"]
    cov = coverage.filter(pl.col("verifier") == verifier)
    if cov.is_empty():
        raise UserError(f"the coverage table has no rows for verifier {verifier!r}")
    counts: dict[str, dict[str, tuple[int, int]]] = {base: {}}
    category: dict[str, dict[str, str]] = {}
    for row in cov.iter_rows(named=True):
        counts[base][row["problem_id"]] = (row["n_base"], row["c_base"])
        counts.setdefault(row["model"], {})[row["problem_id"]] = (row["n_other"], row["c_other"])
        category.setdefault(row["model"], {})[row["problem_id"]] = row["split"]
    order = cov.filter(pl.col("model") == models[0]).sort("index")["problem_id"].to_list()
    info = {row["problem_id"]: row for row in problems.iter_rows(named=True)}
    shown = {m: model_responses(verdicts[m], blocks[m], verifier) for m in [base, *models]}
    rows = []
    for pid in order:
        problem = info.get(pid)
        if problem is None:
            raise UserError(f"problem {pid} of the coverage table is not in the problems table")
        question = problem["question"]
        entry = {"id": pid, "question": question[:QUESTION_CHARS], "question_cut": len(question) > QUESTION_CHARS,
                 "answer": problem["answer"], "image": image_uri(problem.get("image")),
                 "models": {}, "category": {m: category[m][pid] for m in models}}
        for m in [base, *models]:
            n, c = counts[m][pid]
            entry["models"][m] = {"n": n, "c": c, "pass1": c / n, "passk": pass_at_k(n, c, min(k_max, n)),
                                  "responses": shown[m].get(pid, [])}
        rows.append(entry)
    return {**spec, "problems": rows,
            "shown": {"correct": SHOWN_CORRECT, "wrong": SHOWN_WRONG, "head": TEXT_HEAD, "tail": TEXT_TAIL}}
