"""Benchmark records -> problems-table rows -> `CodeTask`s.

Rows (`*_row`, the signature of `rlvr_limits.data.loaders.LOADERS`) keep everything a check needs in the
row's `meta` JSON, under `"code"`: the kind of benchmark and its raw tests. `task_from_meta` turns that back
into a `CodeTask`; for evalplus it first runs the reference solution in the sandbox to get the expected
outputs and per-input run times on this machine, as evalplus does.

- evalplus HumanEval+ / MBPP+ (`HumanEvalPlus.jsonl.gz`, `MbppPlus.jsonl.gz`): base + plus inputs, the
  task's `atol`, MBPP+'s input type restoration (`mbpp_deserialize_inputs`), the special oracles of
  `_special_oracle.py`, time limits max(min_time_limit_s, time_limit_factor x reference time) per input and
  a watchdog of min(60, sum of limits) + 1 s for each of the base and plus groups.
- LiveCodeBench `code_generation_lite` (`test*.jsonl`): public + private tests; private tests are JSON or
  base64 -> zlib -> pickle -> JSON, unpickled by an unpickler that admits nothing but a string. Functional
  (LeetCode) problems call `Solution().<func_name>` with one JSON value per input line; stdin problems
  compare stdout. 6 s per test, (6 + 1) x tests + 5 s in all, LiveCodeBench's import preamble.
- openai human-eval (`HumanEval.jsonl.gz`): the program must pass the task's own `check(candidate)`.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import pickle
import zlib
from datetime import datetime
from typing import Any

from rlvr_limits.errors import UserError
from rlvr_limits.verify.code.task import CodeTask

Record = dict[str, Any]
Row = dict[str, str]

EVALPLUS_MIN_TIME_LIMIT_S = 4.0
EVALPLUS_TIME_LIMIT_FACTOR = 4.0
EVALPLUS_GROUP_CAP_S = 60.0
LCB_TIME_LIMIT_S = 6.0
HUMANEVAL_TIME_LIMIT_S = 3.0
MAX_PRIVATE_TESTS_BYTES = 1 << 30
REFERENCE_OUTPUT_CAP = 64 << 20

#: LiveCodeBench's `import_string`: what its harness puts in front of every program.
LCB_PREAMBLE = "".join(f"from {m} import *\n" for m in (
    "string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random", "statistics",
    "itertools", "functools", "operator", "io", "sys", "json", "builtins", "typing")) + "".join(
    f"import {m}\n" for m in ("string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math",
                              "random", "statistics", "itertools", "functools", "operator", "io", "sys",
                              "json")) + "sys.setrecursionlimit(50000)\n"

# evalplus special oracles by (dataset, entry point).
_MBPP_ORACLES = {"are_equivalent": "always", "sum_div": "or_zero", "surface_Area": "surface_area",
                 "digit_distance_nums": "digit_distance",
                 **{name: "set_eq" for name in ("similar_elements", "find_char_long", "common_in_nested_lists",
                                                "extract_singly", "larg_nnum", "intersection_array",
                                                "find_dissimilar", "Diff")},
                 **{name: "not_none" for name in ("check_str", "text_match_three", "text_starta_endb")}}
_HUMANEVAL_ORACLES = {"find_zero": "find_zero"}


# -- evalplus ---------------------------------------------------------------------------------------------------

def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


# MBPP+ stores inputs as JSON; these tasks take tuples, sets or complex numbers (evalplus mbpp.py).
_MBPP_INPUTS: dict[frozenset[int], Any] = {
    frozenset({2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726, 740,
               744, 809}): lambda a: [tuple(x) for x in a],
    frozenset({63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780}):
        lambda a: [[tuple(x) for x in arg] for arg in a],
    frozenset({75, 413, 444, 753}): lambda a: [[tuple(x) for x in a[0]], a[1]],
    frozenset({106, 750}): lambda a: [a[0], tuple(a[1])],
    frozenset({115}): lambda a: [[set(x) if isinstance(x, list) and x else {} for x in a[0]]],
    frozenset({124}): lambda a: [float(a[0]), complex(a[1])],
    frozenset({250, 405, 446, 617, 720, 763, 808}): lambda a: [tuple(a[0]), a[1]],
    frozenset({259, 401, 445}): lambda a: [tuple(tuple(x) for x in arg) for arg in a],
    frozenset({278}): lambda a: [tuple(tuple(x) if isinstance(x, list) else x for x in a[0])],
    frozenset({307}): lambda a: [tuple(a[0]), a[1], a[2]],
    frozenset({722}): lambda a: [{k: tuple(v) for k, v in a[0].items()}, *a[1:]],
    frozenset({252}): lambda a: [complex(a[0])],
    frozenset({580, 615, 791}): _tuples,
}


def evalplus_inputs(dataset: str, task_id: str, raw: Any, where: str) -> list[tuple[Any, ...]]:
    """A task's stored inputs as argument tuples, with MBPP+'s types restored."""
    if raw == {}:  # Mbpp/793 stores its empty plus inputs as {}
        return []
    if not isinstance(raw, list) or not all(isinstance(args, list) for args in raw):
        raise UserError(f"{where}: inputs must be a list of argument lists")
    if dataset != "mbpp":
        return [tuple(args) for args in raw]
    number = int(task_id.rsplit("/", 1)[-1])
    convert = next((f for ids, f in _MBPP_INPUTS.items() if number in ids), None)
    try:
        return [tuple(convert(args) if convert else args) for args in raw]
    except (TypeError, ValueError, IndexError, AttributeError) as exc:
        raise UserError(f"{where}: cannot restore the input types of {task_id} ({exc})") from None


def evalplus_row(loader: str, record: Record, index: int, where: str) -> Row:
    """A HumanEval+ (`loader` humaneval_plus) or MBPP+ (mbpp_plus) record as a problems-table row."""
    dataset = "mbpp" if loader == "mbpp_plus" else "humaneval"
    for key in ("task_id", "prompt", "canonical_solution", "entry_point", "base_input", "plus_input"):
        if key not in record:
            raise UserError(f"{where}: missing field `{key}` (an evalplus record has task_id, prompt, "
                            "canonical_solution, entry_point, base_input, plus_input, atol)")
    task_id, entry_point = record["task_id"], record["entry_point"]
    if not isinstance(task_id, str) or not isinstance(entry_point, str) or not entry_point.isidentifier():
        raise UserError(f"{where}: `task_id` must be a string and `entry_point` an identifier")
    atol = record.get("atol") or 0
    if isinstance(atol, bool) or not isinstance(atol, int | float) or atol < 0:
        raise UserError(f"{where}: `atol` must be a number >= 0, got {atol!r}")
    evalplus_inputs(dataset, task_id, record["base_input"], where)
    evalplus_inputs(dataset, task_id, record["plus_input"], where)
    reference = record["prompt"] + record["canonical_solution"]
    meta = {"code": {"kind": "evalplus", "dataset": dataset, "task_id": task_id, "entry_point": entry_point,
                     "atol": atol, "reference": reference, "base_input": record["base_input"],
                     "plus_input": record["plus_input"]}}
    return {"problem_id": task_id, "question": record["prompt"].strip(), "answer": reference,
            "answer_type": "code", "meta": json.dumps(meta)}


def evalplus_task(code: dict[str, Any], reference_run: Any, min_time_limit_s: float = EVALPLUS_MIN_TIME_LIMIT_S,
                  time_limit_factor: float = EVALPLUS_TIME_LIMIT_FACTOR) -> CodeTask:
    """The CodeTask of an evalplus row; `reference_run(program, probe_task)` returns (outputs, times)."""
    dataset, task_id, entry = code["dataset"], code["task_id"], code["entry_point"]
    where = f"problems table, {task_id}"
    base = evalplus_inputs(dataset, task_id, code["base_input"], where)
    plus = evalplus_inputs(dataset, task_id, code["plus_input"], where)
    inputs = base + plus
    oracle = (_MBPP_ORACLES if dataset == "mbpp" else _HUMANEVAL_ORACLES).get(entry)
    probe = CodeTask.functional(entry, [(args, None) for args in inputs], EVALPLUS_GROUP_CAP_S,
                                total_time_s=EVALPLUS_GROUP_CAP_S * 2 + 2, task_id=task_id,
                                min_output_cap=REFERENCE_OUTPUT_CAP)
    outputs, times = reference_run(code["reference"], probe)
    if oracle == "not_none":
        outputs = [value is not None for value in outputs]
    limits = [max(min_time_limit_s, time_limit_factor * t) for t in times]
    total = sum(min(EVALPLUS_GROUP_CAP_S, sum(group)) + 1.0 for group in (limits[:len(base)], limits[len(base):])
                if group)
    return CodeTask.functional(entry, list(zip(inputs, outputs, strict=True)), min_time_limit_s,
                               time_limits=limits, total_time_s=total, atol=float(code["atol"]), oracle=oracle,
                               task_id=task_id)


# -- LiveCodeBench ----------------------------------------------------------------------------------------------

class _StringsOnly(pickle.Unpickler):
    """Refuses every global (class, function), so nothing can be constructed or called while loading."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only a string is allowed here")


def _unpack(text: str, where: str) -> str:
    """base64 -> zlib -> pickle, where the pickle may hold nothing but a string."""
    try:
        packed = base64.b64decode(text.encode("ascii"), validate=True)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, MAX_PRIVATE_TESTS_BYTES)
        if inflater.unconsumed_tail:
            raise ValueError(f"more than {MAX_PRIVATE_TESTS_BYTES} bytes unpacked")
        payload = _StringsOnly(io.BytesIO(raw)).load()
    except (binascii.Error, UnicodeEncodeError, zlib.error, pickle.UnpicklingError, EOFError, ValueError,
            TypeError, IndexError, KeyError) as exc:
        raise UserError(f"{where}: `private_test_cases` is neither JSON nor base64/zlib/pickle data "
                        f"({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, str):
        raise UserError(f"{where}: the pickled private tests hold a {type(payload).__name__}, not a string")
    return payload


def decode_private_tests(text: str, where: str) -> list[Record]:
    """`private_test_cases`: JSON, or base64 -> zlib -> pickle (of a JSON string) -> JSON."""
    try:
        tests = json.loads(text)
    except json.JSONDecodeError:
        payload = _unpack(text, where)
        try:
            tests = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise UserError(f"{where}: the unpickled private tests are not JSON ({exc.msg})") from None
    return _tests(tests, where, "private_test_cases")


def _tests(tests: Any, where: str, field: str) -> list[Record]:
    if not isinstance(tests, list):
        raise UserError(f"{where}: `{field}` must be a list of tests")
    for n, test in enumerate(tests):
        if not isinstance(test, dict) or not isinstance(test.get("input"), str) \
                or not isinstance(test.get("output"), str) or test.get("testtype") not in ("stdin", "functional"):
            raise UserError(f"{where}: `{field}` test {n} must be {{input: str, output: str, "
                            "testtype: stdin|functional}")
    return [{"input": t["input"], "output": t["output"], "testtype": t["testtype"]} for t in tests]


def lcb_row(loader: str, record: Record, index: int, where: str) -> Row:
    """A `code_generation_lite` record as a problems-table row (public then private tests).

    The question is the problem statement exactly as the dataset has it, and `starter_code` is a top-level
    field of `meta`: the prompt template alone writes the instructions around them (its `when: starter_code`
    variant for LeetCode problems), so no prompt carries LiveCodeBench's format block twice."""
    for key in ("question_id", "question_content", "public_test_cases", "private_test_cases"):
        if not isinstance(record.get(key), str):
            raise UserError(f"{where}: field `{key}` must be a string")
    try:
        public = json.loads(record["public_test_cases"])
        metadata = json.loads(record.get("metadata") or "{}")
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: `public_test_cases`/`metadata` is not JSON ({exc.msg})") from None
    tests = _tests(public, where, "public_test_cases") + decode_private_tests(record["private_test_cases"], where)
    if not tests:
        raise UserError(f"{where}: the problem has no tests")
    func_name = metadata.get("func_name") if isinstance(metadata, dict) else None
    starter = record.get("starter_code") or ""
    meta = {key: record.get(key) for key in ("question_title", "platform", "contest_id", "contest_date",
                                             "difficulty")}
    meta["starter_code"] = starter
    meta["code"] = {"kind": "lcb", "task_id": record["question_id"], "func_name": func_name, "tests": tests}
    return {"problem_id": record["question_id"], "question": record["question_content"],
            "answer": "", "answer_type": "code", "meta": json.dumps(meta)}


def lcb_in_window(record: Record, start: str, end: str) -> bool:
    """Whether the problem's `contest_date` lies in [start, end) (ISO dates, e.g. 2024-08-01, 2025-02-01)."""
    date = datetime.fromisoformat(str(record.get("contest_date", ""))[:19])
    return datetime.fromisoformat(start) <= date < datetime.fromisoformat(end)


def lcb_task(code: dict[str, Any]) -> CodeTask:
    """The CodeTask of a LiveCodeBench row."""
    tests, task_id = code["tests"], code["task_id"]
    total = (LCB_TIME_LIMIT_S + 1) * len(tests) + 5
    if code.get("func_name"):
        pairs = []
        for n, test in enumerate(tests):
            try:
                args = tuple(json.loads(line) for line in test["input"].split("\n"))
                expected = json.loads(test["output"])
            except json.JSONDecodeError as exc:
                raise UserError(f"problems table, {task_id}: functional test {n} is not JSON ({exc.msg})") \
                    from None
            pairs.append((args, expected))
        return CodeTask.functional(code["func_name"], pairs, LCB_TIME_LIMIT_S, total_time_s=total,
                                   preamble=LCB_PREAMBLE, task_id=task_id)
    return CodeTask.stdio([(t["input"], t["output"]) for t in tests], LCB_TIME_LIMIT_S, total_time_s=total,
                          preamble=LCB_PREAMBLE, task_id=task_id)


# -- openai human-eval ------------------------------------------------------------------------------------------

HUMANEVAL_CHECK = "_humaneval_check"


def humaneval_task(record: Record, time_limit_s: float = HUMANEVAL_TIME_LIMIT_S) -> CodeTask:
    """A human-eval record (task_id, prompt, test, entry_point): the program must pass `check(entry_point)`."""
    for key in ("task_id", "test", "entry_point"):
        if not isinstance(record.get(key), str):
            raise UserError(f"human-eval record {record.get('task_id', '?')}: field `{key}` must be a string")
    suffix = f"\n\n{record['test']}\n\ndef {HUMANEVAL_CHECK}():\n    check({record['entry_point']})\n"
    return CodeTask.functional(HUMANEVAL_CHECK, [((), None)], time_limit_s, suffix=suffix,
                               task_id=record["task_id"])


# -- problems table -> task ----------------------------------------------------------------------------------

def code_spec(meta: str | None, problem_id: str) -> dict[str, Any]:
    """The `code` object of a problems-table row's meta JSON."""
    try:
        code = json.loads(meta or "").get("code")
    except (json.JSONDecodeError, AttributeError):
        code = None
    if not isinstance(code, dict) or code.get("kind") not in ("evalplus", "lcb", "humaneval"):
        raise UserError(f"problems table, problem {problem_id}: `meta` has no code tests (expected a JSON "
                        "object with `code.kind` evalplus, lcb or humaneval; build the table with a code "
                        "loader: humaneval_plus, mbpp_plus, livecodebench, humaneval)")
    return code


def humaneval_row(loader: str, record: Record, index: int, where: str) -> Row:
    """An openai human-eval record as a problems-table row."""
    for key in ("task_id", "prompt", "canonical_solution", "test", "entry_point"):
        if not isinstance(record.get(key), str):
            raise UserError(f"{where}: field `{key}` must be a string")
    code = {"kind": "humaneval", **{k: record[k] for k in ("task_id", "test", "entry_point")}}
    return {"problem_id": record["task_id"], "question": record["prompt"].strip(),
            "answer": record["prompt"] + record["canonical_solution"], "answer_type": "code",
            "meta": json.dumps({"code": code})}


#: Loader names for `rlvr_limits.data.loaders.LOADERS`.
LOADERS = {"humaneval_plus": evalplus_row, "mbpp_plus": evalplus_row, "livecodebench": lcb_row,
           "humaneval": humaneval_row}
