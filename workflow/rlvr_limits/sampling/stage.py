"""`python -m rlvr_limits sample`: draw one block of samples of one draw (sampling/store.py).

    python -m rlvr_limits sample --problems results/problems/B.parquet --model results/models/M.json \\
        --template resources/prompts/T.yaml --draw '<json>' --settings '<json>' --block p0-99_s0-255 \\
        --out results/samples/M/B/<draw>/p0-99_s0-255.parquet --journal results/journals/M/B/<draw>/p0-99_s0-255.jsonl

`--draw` is the draw's identity, everything that shapes a sample: model, dataset (names; with the problem id and
the sample index they seed each sample), engine ("hf" | "vllm" | "server"), max_tokens, temperature, top_p, top_k (-1 =
off), seed; optional dtype ("auto"), tensor_parallel (1), batch_invariant (vllm: VLLM_BATCH_INVARIANT, false),
threads (hf torch threads, 1: results can depend on it), template_sha256 (checked against --template), and
recorded as given: source (where the model comes from), behaviour (the store's SAMPLING_BEHAVIOUR).
`--settings` holds what changes speed or memory but no sample: max_model_len (prompts longer than it minus
max_tokens are refused), gpu_memory_utilization (vllm: share of GPU memory, or of host RAM with the CPU build,
0.9), batch_rows (hf rows decoded together, 1024), chunk (vllm: requests per generate call, after each of which
the journal advances, 4096), server (engine server: base_url, model, api_key_env, concurrency, timeout_s, retries;
server_engine.ServerSettings).

`--block` names problems first..last (positions in the problems table) x sample indices first..last. Every prompt
of the block is rendered, tokenized and checked against max_model_len before the model is loaded. Finished
samples go to the journal as they come; a rerun with the same draw skips them. The block table
(tables.SAMPLE_COLUMNS, in problem order then sample index) and its `.json` sidecar (the draw and its digest,
engine, versions, parameters as sent, seed scheme, hardware, wall time, finish reasons, whether the engine was
batch-invariant and whether a resumed block therefore mixes samples drawn under different batchings) are written
atomically, then the journal is deleted.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from rlvr_limits import __version__, tables
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_json, read_parquet, write_json, write_parquet
from rlvr_limits.progress import LOG, Progress
from rlvr_limits.sampling.engine import generation_eos_ids, load_engine
from rlvr_limits.sampling.journal import Journal
from rlvr_limits.sampling.requests import SEED_SCHEME, Request, Sampling, sample_seed
from rlvr_limits.sampling.store import Block, draw_id
from rlvr_limits.sampling.templates import (
    Template,
    encode,
    load_template,
    problem_fields,
    render,
    resolve_stop_ids,
)

Types = type | tuple[type, ...]
_DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass(frozen=True)
class Draw:
    """What shapes every sample of the draw (the journal's fingerprint and the store's digest cover it)."""

    model: str
    dataset: str
    engine: str
    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    seed: int
    dtype: str = "auto"
    tensor_parallel: int = 1
    batch_invariant: bool = False
    threads: int = 1
    template_sha256: str | None = None
    source: Any = None
    behaviour: Any = None


@dataclass(frozen=True)
class Settings:
    """What changes speed or memory but never a sample."""

    max_model_len: int
    gpu_memory_utilization: float = 0.9
    batch_rows: int = 1024
    chunk: int = 4096
    server: dict[str, Any] | None = None


_DRAW_TYPES: dict[str, Types] = {
    "model": str, "dataset": str, "engine": str, "max_tokens": int, "temperature": (int, float),
    "top_p": (int, float), "top_k": int, "seed": int, "dtype": str, "tensor_parallel": int, "batch_invariant": bool,
    "threads": int, "template_sha256": str, "source": object, "behaviour": object,
}
_SETTINGS_TYPES: dict[str, Types] = {
    "max_model_len": int, "gpu_memory_utilization": (int, float), "batch_rows": int, "chunk": int, "server": dict,
}


def _typed(option: str, key: str, value: Any, types: Types) -> Any:
    if (isinstance(value, bool) and types is not bool) or not isinstance(value, types):
        names = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise UserError(f"{option}: key '{key}' must be {names}, got {json.dumps(value)}")
    return value


def _parse_object(option: str, text: str, cls: type, types: dict[str, Types]) -> dict[str, Any]:
    """The JSON object of `option` as keyword arguments of `cls`: known keys, required ones present, typed."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{option}: invalid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(raw, dict):
        raise UserError(f"{option}: must be a JSON object")
    unknown = sorted(set(raw) - set(types))
    if unknown:
        raise UserError(f"{option}: unknown keys {unknown}; allowed: {sorted(types)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, field in fields.items():
        if key not in raw and field.default is dataclasses.MISSING:
            raise UserError(f"{option}: key '{key}' is missing")
    return {key: _typed(option, key, value, types[key]) if value is not None else value for key, value in raw.items()}


def _check(option: str, checks: list[tuple[str, bool, str]], values: dict[str, Any]) -> None:
    for key, ok, message in checks:
        if not ok:
            raise UserError(f"{option}: key '{key}' {message}, got {json.dumps(values[key])}")


def parse_draw(text: str) -> Draw:
    """Validate --draw; every mistake names its key."""
    values = {f.name: f.default for f in dataclasses.fields(Draw) if f.default is not dataclasses.MISSING}
    values.update(_parse_object("--draw", text, Draw, _DRAW_TYPES))
    _check("--draw", [
        ("engine", values["engine"] in ("hf", "vllm", "server"), 'must be "hf", "vllm" or "server"'),
        ("dtype", values["dtype"] in _DTYPES, f"must be one of {list(_DTYPES)}"),
        ("temperature", 0 <= values["temperature"] <= 2, "must be in [0, 2]"),
        ("top_p", 0 < values["top_p"] <= 1, "must be in (0, 1]"),
        ("top_k", values["top_k"] == -1 or values["top_k"] >= 1, "must be -1 (off) or >= 1"),
        ("seed", values["seed"] >= 0, "must be >= 0"),
        *((k, values[k] >= 1, "must be >= 1") for k in ("max_tokens", "tensor_parallel", "threads")),
    ], values)
    return Draw(**{**values, "temperature": float(values["temperature"]), "top_p": float(values["top_p"])})


def parse_settings(text: str) -> Settings:
    """Validate --settings; every mistake names its key."""
    values = {f.name: f.default for f in dataclasses.fields(Settings) if f.default is not dataclasses.MISSING}
    values.update(_parse_object("--settings", text, Settings, _SETTINGS_TYPES))
    _check("--settings", [
        ("gpu_memory_utilization", 0 < values["gpu_memory_utilization"] <= 1, "must be in (0, 1]"),
        *((k, values[k] >= 1, "must be >= 1") for k in ("max_model_len", "batch_rows", "chunk")),
    ], values)
    return Settings(**{**values, "gpu_memory_utilization": float(values["gpu_memory_utilization"])})


@dataclass(frozen=True)
class Prompt:
    """A problem's rendered prompt: token ids, text, images, and its length as the engine will count it."""

    problem_id: str
    ids: tuple[int, ...]
    text: str
    images: tuple[Any, ...]
    length: int


def load_problems(path: str | os.PathLike[str], template: Template) -> pl.DataFrame:
    """The problems table, checked for what sampling needs."""
    columns = list(tables.PROBLEM_COLUMNS) + (["image"] if template.images else [])
    problems = read_parquet(path, required=columns)
    if problems.height == 0:
        raise UserError(f"{path}: no problems")
    ids = problems["problem_id"]
    if ids.null_count() or ids.is_duplicated().any():
        dupes = ids.filter(ids.is_duplicated()).unique().to_list()[:5]
        raise UserError(f"{path}: problem_id must be unique and non-null (duplicates: {dupes})")
    missing = problems.filter(pl.col("question").is_null())["problem_id"].to_list()
    if missing:
        raise UserError(f"{path}: problems without a question: {missing[:5]}")
    return problems


def prepare_prompts(problems: pl.DataFrame, template: Template, tokenizer: Any, *, max_tokens: int,
                    max_model_len: int, model: str = "?", benchmark: str = "?", engine: str = "hf") -> list[Prompt]:
    """Render and tokenize each problem's prompt; refuse any with length + max_tokens > max_model_len.

    Images are loaded for the `engine` that will take them (qwen-vl-utils for vllm, PIL for hf), resized by the
    same rule, so the length counts the same visual tokens either way."""
    prompts = []
    for row in problems.iter_rows(named=True):
        pid = row["problem_id"]
        text = render(template, row["question"], problem_fields(row["meta"], pid), tokenizer=tokenizer,
                      problem_id=pid)
        ids = tuple(encode(template, text, tokenizer))
        if not ids:
            raise UserError(f"problem {pid}: the rendered prompt has no tokens")
        images: tuple[Any, ...] = ()
        length = len(ids)
        if template.images is not None:
            from rlvr_limits.sampling import vision, vllm_engine

            load_image = vllm_engine.load_image if engine == "vllm" else vision.load_image
            if row["image"] is None:
                raise UserError(f"problem {pid}: template {template.name} needs an image; the problem has "
                                "none")
            images = (load_image(row["image"], template.images),)
            placeholder = len(tokenizer.encode(template.images.placeholder, add_special_tokens=False))
            length += vision.visual_tokens(images[0]) - placeholder
        if length + max_tokens > max_model_len:
            raise UserError(f"problem {pid}: prompt of {length} tokens + max_tokens {max_tokens} = "
                            f"{length + max_tokens} exceeds max_model_len {max_model_len}; raise "
                            f"max_model_len of model {model} or lower max_tokens of benchmark {benchmark}")
        prompts.append(Prompt(pid, ids, text, images, length))
    return prompts


def _model_path(record_path: str) -> str:
    record = read_json(record_path)
    path = record.get("path") if isinstance(record, dict) else None
    if not isinstance(path, str) or not path:
        raise UserError(f"{record_path}: model record has no 'path' (the local directory to load)")
    if not Path(path).is_dir():
        raise UserError(f"{record_path}: model directory {path} does not exist; rerun the model rule")
    return path


def _load_tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot load the tokenizer ({exc})") from None


def _fingerprint(draw: Draw, record_path: str, template: Template, prompts: list[Prompt], block: Block,
                 sampling: Sampling) -> str:
    """Everything the block's samples depend on: a journal written under anything else is started over."""
    content = {
        "draw": dataclasses.asdict(draw),
        "model": read_json(record_path),
        "template": template.sha256,
        "prompts": [[p.problem_id, list(p.ids)] for p in prompts],
        "block": dataclasses.asdict(block),
        "sampling": dataclasses.asdict(sampling),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problems", required=True, help="results/problems/{dataset}.parquet")
    parser.add_argument("--model", required=True, help="results/models/{model}.json (its 'path' is loaded)")
    parser.add_argument("--template", required=True, help="resources/prompts/{template}.yaml")
    parser.add_argument("--draw", required=True, help="the draw's identity as a JSON object (see module doc)")
    parser.add_argument("--settings", required=True, help="engine settings as a JSON object (see module doc)")
    parser.add_argument("--block", required=True, help="problems x sample indices, e.g. p0-99_s0-255")
    parser.add_argument("--out", required=True, help="the block table to write (.parquet; sidecar .json)")
    parser.add_argument("--journal", required=True, help="the resume journal (.jsonl)")


def _block_problems(problems: pl.DataFrame, block: Block, path: str) -> pl.DataFrame:
    if block.problem_stop > problems.height:
        raise UserError(f"--block {block.name}: {path} has only {problems.height} problems "
                        f"(0..{problems.height - 1})")
    return problems.slice(block.problem_start, block.problem_stop - block.problem_start)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    draw = parse_draw(args.draw)
    settings = parse_settings(args.settings)
    block = Block.parse(args.block)
    template = load_template(args.template)
    if draw.template_sha256 is not None and draw.template_sha256 != template.sha256:
        raise UserError(f"{args.template}: its sha256 {template.sha256[:12]}... is not the draw's template "
                        f"({draw.template_sha256[:12]}...); the file changed after the workflow planned this block")
    problems = _block_problems(load_problems(args.problems, template), block, args.problems)
    path = _model_path(args.model)
    tokenizer = _load_tokenizer(path)
    prompts = prepare_prompts(problems, template, tokenizer, max_tokens=draw.max_tokens,
                              max_model_len=settings.max_model_len, model=draw.model, benchmark=draw.dataset,
                              engine=draw.engine)
    sampling = Sampling(max_tokens=draw.max_tokens, temperature=draw.temperature, top_p=draw.top_p,
                        top_k=draw.top_k, stop=template.stop, include_stop=template.include_stop,
                        stop_token_ids=tuple(dict.fromkeys(
                            resolve_stop_ids(template, tokenizer, f"the tokenizer of {path}")
                            + generation_eos_ids(path))))
    requests = [Request(p.problem_id, i, sample_seed(draw.seed, draw.model, draw.dataset, p.problem_id, i),
                        p.ids, sampling, prompt_text=p.text if p.images else None, images=p.images)
                for p in prompts for i in range(block.sample_start, block.sample_stop)]

    try:
        engine = load_engine(draw.engine, path, tokenizer=tokenizer, seed=draw.seed,
                             max_model_len=settings.max_model_len, tensor_parallel=draw.tensor_parallel,
                             dtype=draw.dtype, threads=draw.threads, batch_rows=settings.batch_rows,
                             images=template.images, gpu_memory_utilization=settings.gpu_memory_utilization,
                             batch_invariant=draw.batch_invariant, chunk=settings.chunk, server=settings.server)
    except OSError as exc:
        raise UserError(f"{path}: cannot load the model ({exc})") from None
    journal = Journal(args.journal, _fingerprint(draw, args.model, template, prompts, block, sampling))
    done = journal.open()
    resumed = len(done)
    pending = [r for r in requests if r.key not in done]
    label = f"sample {draw.model}/{draw.dataset}/{block.name}"
    LOG.info("%s: %d problems x %d samples, %d from the journal, %d to draw with %s",
             label, len(prompts), block.sample_stop - block.sample_start, resumed, len(pending), draw.engine)
    progress = Progress(label, total=len(requests), unit="samples", done=resumed)
    try:
        for completion in engine.generate(pending):
            record = completion.record()
            journal.append(record)
            done[completion.key] = record
            progress.update(1)
    finally:
        journal.close()

    rows = [done[r.key] for r in requests]
    described = engine.describe()
    mixed = resumed > 0 and len(pending) > 0 and not described["batch_invariant"]
    if mixed:
        LOG.warning("%s: resumed with an engine that is not batch-invariant: the %d journalled and %d new samples "
                    "were drawn under different batchings (set batch_invariant: true for the model to avoid "
                    "this); the sidecar says so", label, resumed, len(pending))
    write_parquet(pl.DataFrame(rows, schema=tables.SAMPLE_COLUMNS), args.out)
    identity = json.loads(args.draw)
    write_json({
        "model": draw.model,
        "dataset": draw.dataset,
        "block": {"name": block.name, **dataclasses.asdict(block)},
        "draw": {"id": draw_id(identity), "identity": identity},
        "rows": len(rows),
        "engine": described,
        "settings": dataclasses.asdict(settings),
        "sampling": engine.sent_parameters(requests[0]),
        "seed": draw.seed,
        "seed_scheme": SEED_SCHEME,
        "template": {"name": template.name, "path": template.path, "sha256": template.sha256},
        "model_record": read_json(args.model),
        "finish_reasons": dict(Counter(r["finish_reason"] for r in rows)),
        "samples_from_journal": resumed,
        "samples_drawn": len(pending),
        "batch_invariant": described["batch_invariant"],
        "mixed_batchings": mixed,
        "wall_s": round(time.monotonic() - started, 3),
        "hardware": {"machine": platform.machine(), "cpu": platform.processor(), "cpu_count": os.cpu_count(),
                     "python": sys.version.split()[0], "platform": platform.platform()},
        "rlvr_limits": __version__,
    }, Path(args.out).with_suffix(".json"))
    journal.remove()
    LOG.info("%s: wrote %s (%d rows)", label, args.out, len(rows))
    return 0
