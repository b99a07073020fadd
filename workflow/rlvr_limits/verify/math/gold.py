"""The gold answer of a raw benchmark record, taken from the field the study's evaluation code reads.

The study's code (the Qwen2.5-Math evaluation harness, `parse_ground_truth`) takes MATH500 and Minerva golds
from the last `\\boxed{}` of the solution (brace-matched, after the last occurrence of "boxed"), GSM8K golds
after `####`, OlympiadBench golds from `final_answer[0]` with `$` stripped from both ends, and AIME24/AMC23 golds
from `answer` (AMC23 stores floats such as 27.0). After extraction it removes line breaks and a leading `:` or
trailing `.`/`/`, as its `extract_answer` does. Its `strip_string` is a lossy grader normalization (it drops
unit words, "and", `x=` prefixes ...), not part of where the gold comes from, so the gold is kept in its
original notation here and the verifier normalizes it. Errors are ValueError/KeyError, which the problems
stage turns into a message naming the file and record.
"""

from __future__ import annotations

import re
from typing import Any

_LINE_BREAKS = re.compile(r"\n\s*")


def last_boxed(solution: str) -> str:
    """Content of the last box, read the way the study's `extract_answer` reads it."""
    if "boxed" not in solution:
        raise ValueError("the solution has no \\boxed{} answer")
    tail = solution.split("boxed")[-1]
    if not tail:
        raise ValueError("the solution ends with 'boxed'")
    if tail[0] != "{":
        return tail.split("$")[0].strip()
    depth, out = 1, []
    for c in tail[1:]:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return "".join(out)
        out.append(c)
    raise ValueError("the last \\boxed{ of the solution is never closed")


def _tidy(answer: str) -> str:
    answer = _LINE_BREAKS.sub("", answer)
    if answer.startswith(":"):
        answer = answer[1:]
    if answer.endswith(".") or answer.endswith("/"):
        answer = answer[:-1]
    return answer.strip()


def _text(record: dict[str, Any], key: str) -> str:
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"`{key}` must be a string or a number, got {type(value).__name__}")
    return str(value)


def gold_from_record(loader: str, record: dict[str, Any]) -> str:
    """The gold answer string of `record` for a math loader (math500, aime24, amc23, gsm8k, minerva_math,
    olympiadbench)."""
    if loader in ("math500", "minerva_math"):
        return _tidy(last_boxed(_text(record, "solution")))
    if loader == "gsm8k":
        text = _text(record, "answer")
        if "####" not in text:
            raise ValueError("`answer` has no '####' line")
        return text.split("####")[1].strip()
    if loader == "olympiadbench":
        finals = record["final_answer"]
        if not isinstance(finals, list) or not finals:
            raise ValueError("`final_answer` must be a non-empty list")
        if not isinstance(finals[0], str):
            raise TypeError("`final_answer[0]` must be a string")
        return finals[0].strip("$").strip()
    if loader in ("aime24", "amc23", "omni_math"):
        return _text(record, "answer").strip()
    raise ValueError(f"unknown math loader {loader!r} (known: math500, aime24, amc23, gsm8k, minerva_math, "
                     "olympiadbench)")
