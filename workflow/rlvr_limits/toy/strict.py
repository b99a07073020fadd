"""The `toy_strict` verifier: a right answer counts only if every step of its chain of thought is valid.

The miniature's counterpart of the paper's manual checks of chains of thought. A response is a chain of
steps `expr=expr=...=value;` followed by `\\boxed{answer}`. It is correct when
- the boxed answer is the gold integer;
- in every step, each `=` is a true equality (`152+36=182+6=188` is valid, `23+58=71` is not);
- each step's first expression adds numbers that are available: operands of the question or results of earlier
  steps, each used once;
- at the end exactly one number is left, all operands having been used, and it is the boxed answer.
So a lucky answer, where two slips cancel or a number is miscopied, is `wrong` here though the answer-level
verifier calls it correct.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import polars as pl

from rlvr_limits.errors import UserError
from rlvr_limits.tables import PROBLEM_COLUMNS, SAMPLE_COLUMNS
from rlvr_limits.toy.task import BOXED, parse_question


@dataclass(frozen=True)
class Verdict:
    verdict: str
    correct: bool
    extracted: str | None


def extract(text: str) -> str | None:
    """The content of the last `\\boxed{...}`, or None when there is none or it is not closed."""
    start = text.rfind(BOXED)
    if start < 0:
        return None
    end = text.find("}", start)
    return text[start + len(BOXED):end] if end >= 0 else None


def _terms(expr: str) -> list[int] | None:
    parts = expr.split("+")
    if not all(p.isdigit() for p in parts):
        return None
    return [int(p) for p in parts]


def chain_is_valid(operands: tuple[int, ...], chain: str, answer: int) -> bool:
    """Whether the steps in `chain` (`step;step;...;`) derive `answer` from `operands` without a slip."""
    pool = Counter(operands)
    if not chain.endswith(";"):
        return False
    for step in chain[:-1].split(";"):
        exprs = [_terms(e) for e in step.split("=")]
        if len(exprs) < 2 or any(e is None for e in exprs) or len(exprs[-1]) != 1:
            return False
        if len({sum(e) for e in exprs}) != 1:
            return False
        used = Counter(exprs[0])
        if len(exprs[0]) < 2 or used - pool:
            return False
        pool -= used
        pool[exprs[-1][0]] += 1
    return +pool == Counter([answer])


def check(question: str, gold: str, text: str) -> Verdict:
    """The strict verdict of one response to `question`, whose gold answer is `gold`."""
    operands = parse_question(question)
    if operands is None:
        raise ValueError(f"not a toy arithmetic question: {question!r}")
    boxed = extract(text)
    if boxed is None:
        return Verdict("no_answer", False, None)
    if not boxed.isdigit() or int(boxed) != int(gold):
        return Verdict("wrong", False, boxed)
    chain = text[:text.rfind(BOXED)]
    ok = chain_is_valid(operands, chain, int(gold))
    return Verdict("correct" if ok else "wrong", ok, boxed)


def verify_table(problems: pl.DataFrame, samples: pl.DataFrame, benchmark: str,
                 settings: dict[str, Any]) -> pl.DataFrame:
    """Strict verdicts of every sample row (the `toy_strict` backend of the verify stage).

    `settings` is part of the backend interface; the strict check has no settings.
    """
    for name, frame, columns in (("problems", problems, PROBLEM_COLUMNS), ("samples", samples, SAMPLE_COLUMNS)):
        missing = [c for c in ("problem_id", *(("question", "answer") if name == "problems" else ("text",)))
                   if c not in frame.columns]
        if missing:
            raise UserError(f"toy_strict ({benchmark}): the {name} table lacks columns {missing} "
                            f"(expected {list(columns)})")
    gold: dict[str, tuple[str, str]] = {}
    for pid, question, answer in problems.select("problem_id", "question", "answer").iter_rows():
        if parse_question(question) is None or not str(answer).strip().isdigit():
            raise UserError(f"toy_strict ({benchmark}): problem {pid} is not a toy arithmetic problem "
                            f"(question {question!r}, answer {answer!r}); the toy_strict verifier applies "
                            "only to the toy_arith benchmark")
        gold[pid] = (question, str(answer).strip())
    rows = []
    for pid, idx, text in samples.select("problem_id", "sample_idx", "text").iter_rows():
        if pid not in gold:
            raise UserError(f"toy_strict ({benchmark}): sample {idx} refers to problem {pid!r}, "
                            "which is not in the benchmark's problems table")
        v = check(*gold[pid], text)
        rows.append((pid, idx, v.verdict, v.correct, v.extracted))
    return pl.DataFrame(rows, schema={"problem_id": pl.String, "sample_idx": pl.Int32, "verdict": pl.String,
                                      "correct": pl.Boolean, "extracted": pl.String}, orient="row")
