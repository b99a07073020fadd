"""`python -m rlvr_limits check`: before any sampling job, every model x benchmark renders, stops and fits.

The workflow runs this on the submit host right after the model rule, so a prompt that cannot render, a stop
token the tokenizer lacks or a prompt too long for max_model_len stops the run before a GPU job starts, not
inside one. Only tokenizer files are read (no weights are loaded). For every (model, benchmark) pair that
will be sampled it loads the template, renders every problem's prompt through the model's tokenizer exactly
as the sampling stage does, resolves the stop token ids and checks the longest prompt plus max_tokens against
max_model_len. All problems found are listed in one message; with none, `--out` records per pair the prompt
count, the longest prompt, the stop ids and the first rendered prompt.

`--spec` is `{"pairs": [{"model", "benchmark", "record": results/models/M.json, "template": path,
"problems": results/problems/B.parquet, "limit": int|null, "max_tokens": int, "max_model_len": int}]}`.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

from rlvr_limits import tables
from rlvr_limits.analysis.spec import parse_spec
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_json, read_parquet, write_json
from rlvr_limits.progress import LOG
from rlvr_limits.sampling.templates import Template, encode, load_template, problem_fields, render, resolve_stop_ids

PAIR_KEYS = ("model", "benchmark", "record", "template", "problems", "limit", "max_tokens", "max_model_len")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", required=True, help="the (model, benchmark) pairs to check, as JSON")
    parser.add_argument("--out", required=True, help="the check record to write (results/check.json)")


def run(args: argparse.Namespace) -> int:
    pairs = parse_pairs(args.spec)
    results, problems = check_pairs(pairs)
    if problems:
        raise UserError(f"the check found {len(problems)} problem(s) before any sampling job started; fix "
                        "them and rerun:\n  - " + "\n  - ".join(problems))
    write_json({"pairs": results}, args.out)
    LOG.info("%s: %d model x benchmark pairs render, stop and fit", args.out, len(results))
    return 0


def parse_pairs(text: str) -> list[dict[str, Any]]:
    spec = parse_spec(text, "check")
    pairs = spec.get("pairs")
    if not isinstance(pairs, list) or not all(isinstance(p, dict) and set(p) == set(PAIR_KEYS) for p in pairs):
        raise UserError(f"check --spec: 'pairs' must be a list of objects with exactly the keys {list(PAIR_KEYS)}")
    return pairs


def _tokenizer(record_path: str) -> Any:
    """The tokenizer of a model record's directory (tokenizer files only)."""
    from transformers import AutoTokenizer

    record = read_json(record_path)
    path = record.get("path") if isinstance(record, dict) else None
    if not isinstance(path, str) or not Path(path).is_dir():
        raise UserError(f"{record_path}: the model record has no existing 'path'; rerun the model rule")
    try:
        return AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot load the tokenizer ({exc})") from None


def check_pair(pair: dict[str, Any], template: Template, tokenizer: Any) -> dict[str, Any]:
    """Render and tokenize every prompt of one pair; a UserError names the first thing that is wrong."""
    where = f"the tokenizer of model {pair['model']}"
    stop_ids = resolve_stop_ids(template, tokenizer, where)
    frame = read_parquet(pair["problems"], required=tables.PROBLEM_COLUMNS)
    if pair["limit"] is not None:
        frame = frame.head(pair["limit"])
    if frame.height == 0:
        raise UserError(f"{pair['problems']}: no problems")
    longest, longest_id, first = 0, "", ""
    for row in frame.iter_rows(named=True):
        pid = row["problem_id"]
        text = render(template, row["question"], problem_fields(row["meta"], pid), tokenizer=tokenizer,
                      problem_id=pid)
        length = len(encode(template, text, tokenizer))
        if length == 0:
            raise UserError(f"problem {pid}: the rendered prompt has no tokens")
        first = first or text
        if length > longest:
            longest, longest_id = length, pid
    if longest + pair["max_tokens"] > pair["max_model_len"]:
        raise UserError(f"problem {longest_id}: prompt of {longest} tokens + max_tokens {pair['max_tokens']} "
                        f"exceeds max_model_len {pair['max_model_len']}")
    return {"model": pair["model"], "benchmark": pair["benchmark"], "template": template.name,
            "prompts": frame.height, "longest_prompt_tokens": longest, "longest_problem": longest_id,
            "max_tokens": pair["max_tokens"], "max_model_len": pair["max_model_len"],
            "stop_token_ids": list(stop_ids), "first_prompt": first,
            "first_prompt_sha256": hashlib.sha256(first.encode("utf-8")).hexdigest()}


def check_pairs(pairs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """(record per pair that passed, every problem found as one line naming model and benchmark)."""
    tokenizers: dict[str, Any] = {}
    templates: dict[str, Template] = {}
    results, problems = [], []
    for pair in pairs:
        label = f"model {pair['model']} x benchmark {pair['benchmark']}"
        try:
            if pair["record"] not in tokenizers:
                tokenizers[pair["record"]] = _tokenizer(pair["record"])
            if pair["template"] not in templates:
                templates[pair["template"]] = load_template(pair["template"])
            results.append(check_pair(pair, templates[pair["template"]], tokenizers[pair["record"]]))
        except UserError as exc:
            problems.append(f"{label}: {exc}")
    return results, problems
