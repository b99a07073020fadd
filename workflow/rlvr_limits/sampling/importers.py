"""Readers of the sample files other harnesses write, each turning its tool's records into `Imported` samples.

Every reader was written against the tool's own code and is tested on a real file of it:

- `qwen-math`: the Qwen2.5-Math / SimpleRL evaluation toolkit (the study's own code), one JSON line per problem:
  `idx`, `question`, the responses in `code` (a list), the toolkit's extracted answers in `pred` and its grades in
  `score` (lists of the same length), and `finish_reason` where the study's fork adds it.
- `lm-eval`: lm-evaluation-harness `samples_<task>_<date>.jsonl` (`--log_samples`), one line per document and
  filter: `doc_id`, `doc` (the dataset row), and `resps`, whose first entry lists the generations of the
  document's request (one per repeat). A document logged again under another filter holds the same responses and
  is read once. lm-eval's metrics are per document, not per response, so it brings no grades.
- `nemo-skills`: NeMo-Skills generation output, one file per seed (`output-rs<seed>.jsonl`, sample index = the
  seed's rank), one line per problem: the input fields (`problem` or `question`, `id` when the dataset has one),
  `generation`, `num_generated_tokens`, and after its evaluation `predicted_answer` with `symbolic_correct` (math)
  or `is_correct` (code).
- `evalplus`: evalplus samples, one line per sample: `task_id` and `solution` (a whole program) or `completion`
  (the code after the problem's prompt); a problem's samples in file order.
- `plain`: this workflow's documented exchange format (JSON Lines or Parquet), one row per sample:
  `problem_id` or `question`, `response`, optional `sample_idx`, `finish_reason`, `n_tokens`, `correct` (a
  grade of the source's own) and `extracted`. `python -m rlvr_limits export` writes it from a run's samples.

A reader yields samples in the order of its files (NeMo-Skills' files sorted by seed); a sample without an index
of its own takes the next index of its problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvr_limits.data.loaders import QUESTION_KEYS, Record, iter_records
from rlvr_limits.errors import UserError


@dataclass(frozen=True)
class Imported:
    """One response of a source file, with where it came from (`file:line`) for messages."""

    where: str
    source_id: str | None
    question: str | None
    text: str
    sample_idx: int | None = None
    finish_reason: str | None = None
    n_tokens: int | None = None
    correct: bool | None = None
    extracted: str | None = None
    continues_prompt: bool = False  # the text is code that follows the problem's prompt (evalplus `completion`)


def _field(record: Record, key: str, where: str, types: type | tuple[type, ...], what: str) -> Any:
    if key not in record:
        raise UserError(f"{where}: missing field `{key}` ({what})")
    value = record[key]
    if (isinstance(value, bool) and types is not bool) or not isinstance(value, types):
        raise UserError(f"{where}: field `{key}` must be {what}, got {type(value).__name__}")
    return value


def _optional(record: Record, key: str, where: str, types: type | tuple[type, ...], what: str) -> Any:
    return None if record.get(key) is None else _field(record, key, where, types, what)


def _question(record: Record) -> str | None:
    key = next((k for k in QUESTION_KEYS if isinstance(record.get(k), str)), None)
    return record[key] if key else None


def _id(value: Any) -> str | None:
    return None if value is None or isinstance(value, bool) else str(value)


def _jsonl(paths: Sequence[Path]) -> Iterator[tuple[str, Record]]:
    for path in paths:
        yield from iter_records(path, "jsonl")


def read_qwen_math(paths: Sequence[Path]) -> Iterator[Imported]:
    for where, record in _jsonl(paths):
        responses = _field(record, "code", where, list, "the list of responses")
        lists = {key: _optional(record, key, where, list, f"a list as long as `code` ({len(responses)})")
                 for key in ("pred", "score", "finish_reason")}
        for key, values in lists.items():
            if values is not None and len(values) != len(responses):
                raise UserError(f"{where}: field `{key}` has {len(values)} entries for {len(responses)} "
                                "responses in `code`")
        for i, text in enumerate(responses):
            if not isinstance(text, str):
                raise UserError(f"{where}: response {i} of `code` is not a string")
            score = lists["score"][i] if lists["score"] is not None else None
            if score is not None and not isinstance(score, bool):
                raise UserError(f"{where}: `score[{i}]` must be true or false, got {score!r}")
            yield Imported(where, _id(record.get("idx")), _question(record), text, i,
                           _str_or_none(lists["finish_reason"], i), None, score,
                           _str_or_none(lists["pred"], i))


def _str_or_none(values: list[Any] | None, i: int) -> str | None:
    return None if values is None or values[i] is None else str(values[i])


def read_lm_eval(paths: Sequence[Path]) -> Iterator[Imported]:
    seen: dict[tuple[str, Any], tuple[str, list[str]]] = {}
    for where, record in _jsonl(paths):
        doc_id = _field(record, "doc_id", where, int, "the document's index")
        doc = _optional(record, "doc", where, dict, "the dataset row") or {}
        resps = _field(record, "resps", where, list, "a list with the generations of each request")
        if len(resps) != 1 or not isinstance(resps[0], list) or not all(isinstance(r, str) for r in resps[0]):
            raise UserError(f"{where}: `resps` must hold one list of generated texts (a generation task); got "
                            f"{len(resps)} requests")
        key = (str(Path(where.rsplit(":", 1)[0]).name), doc_id)
        if key in seen:  # the same document under another filter
            first, responses = seen[key]
            if responses != resps[0]:
                raise UserError(f"{where}: document {doc_id} was logged at {first} with other responses")
            continue
        seen[key] = (where, resps[0])
        for i, text in enumerate(resps[0]):
            yield Imported(where, str(doc_id), _question(doc), text, i)


_SEED = re.compile(r"rs(\d+)")


def _seed_order(paths: Sequence[Path]) -> list[Path]:
    def seed(path: Path) -> int:
        match = _SEED.search(path.name)
        if match is None:
            raise UserError(f"{path}: a NeMo-Skills output file is named output-rs<seed>.jsonl")
        return int(match.group(1))

    return sorted(paths, key=seed)


def read_nemo_skills(paths: Sequence[Path]) -> Iterator[Imported]:
    for index, path in enumerate(_seed_order(paths)):
        for where, record in iter_records(path, "jsonl"):
            text = _field(record, "generation", where, str, "the generated text")
            correct = next((record[k] for k in ("symbolic_correct", "is_correct") if k in record), None)
            if correct is not None and not isinstance(correct, bool):
                raise UserError(f"{where}: the grade `symbolic_correct` / `is_correct` must be true or false")
            tokens = _optional(record, "num_generated_tokens", where, int, "an integer")
            yield Imported(where, _id(record.get("id")), _question(record), text, index, None, tokens, correct,
                           _id(record.get("predicted_answer")))


def read_evalplus(paths: Sequence[Path]) -> Iterator[Imported]:
    for where, record in _jsonl(paths):
        task_id = _field(record, "task_id", where, str, "the task, e.g. HumanEval/0")
        if isinstance(record.get("solution"), str):
            yield Imported(where, task_id, None, record["solution"])
        elif isinstance(record.get("completion"), str):
            yield Imported(where, task_id, None, record["completion"], continues_prompt=True)
        else:
            raise UserError(f"{where}: missing field `solution` (a program) or `completion` (code after the prompt)")


def read_plain(paths: Sequence[Path]) -> Iterator[Imported]:
    for path in paths:
        for where, record in iter_records(path, "parquet" if path.suffix == ".parquet" else "jsonl"):
            problem_id = record.get("problem_id")
            question = record.get("question")
            if problem_id is None and not isinstance(question, str):
                raise UserError(f"{where}: missing field `problem_id` or `question` (which problem it answers)")
            yield Imported(where, _id(problem_id), question if isinstance(question, str) else None,
                           _field(record, "response", where, str, "the response text"),
                           _optional(record, "sample_idx", where, int, "an integer"),
                           _optional(record, "finish_reason", where, str, "a string"),
                           _optional(record, "n_tokens", where, int, "an integer"),
                           _optional(record, "correct", where, bool, "true or false"),
                           _optional(record, "extracted", where, str, "a string"))


FORMATS: dict[str, Callable[[Sequence[Path]], Iterator[Imported]]] = {
    "qwen-math": read_qwen_math,
    "lm-eval": read_lm_eval,
    "nemo-skills": read_nemo_skills,
    "evalplus": read_evalplus,
    "plain": read_plain,
}


#: Formats whose files can carry the tool's own grade of each sample (lm-eval grades documents, evalplus nothing).
GRADED_FORMATS = frozenset({"qwen-math", "nemo-skills", "plain"})


def read_source(fmt: str, paths: Sequence[Path]) -> Iterator[Imported]:
    if fmt not in FORMATS:
        raise UserError(f"unknown sample format {fmt!r} (known: {', '.join(FORMATS)})")
    return FORMATS[fmt](paths)
