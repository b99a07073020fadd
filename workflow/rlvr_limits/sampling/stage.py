"""`python -m rlvr_limits sample`: draw one shard of samples of one (model, benchmark).

    python -m rlvr_limits sample --problems results/problems/B.parquet --model results/models/M.json \\
        --template resources/prompts/T.yaml --spec '<json>' --shard 003 \\
        --out results/samples/M/B/003.parquet --journal results/journals/M/B/003.jsonl

`--spec` is a JSON object: model, benchmark (names), engine ("hf" | "vllm"), max_model_len, n_samples,
max_tokens, temperature, top_p, top_k (-1 = off), seed, shard {problems, samples}; optional tensor_parallel
(1), dtype ("auto"), limit (null: all problems, else the first N), batch_rows (hf rows decoded together,
1024), threads (hf torch threads, 1; results can depend on it), gpu_memory_utilization (vllm: share of GPU
memory, or of host RAM with the CPU build, 0.9), batch_invariant (vllm: VLLM_BATCH_INVARIANT, false), chunk
(vllm: requests per generate call, after each of which the journal advances, 4096).

Every prompt of the shard is rendered, tokenized and checked against max_model_len before the model is loaded.
Finished samples go to the journal as they come; a rerun with the same arguments skips them. The shard table
(tables.SAMPLE_COLUMNS, in problem order then sample index) and its `.json` sidecar (engine, versions,
parameters as sent, seed scheme, hardware, wall time, finish reasons, whether the engine was batch-invariant and
whether a resumed shard therefore mixes samples drawn under different batchings) are written atomically, then the
journal is deleted.
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
from rlvr_limits.sampling.shards import find_shard, plan_shards
from rlvr_limits.sampling.templates import (
    Template,
    encode,
    load_template,
    problem_fields,
    render,
    resolve_stop_ids,
)

_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "model": str, "benchmark": str, "engine": str, "max_model_len": int, "n_samples": int, "max_tokens": int,
    "temperature": (int, float), "top_p": (int, float), "top_k": int, "seed": int, "shard": dict,
}
_OPTIONAL: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "tensor_parallel": (int, 1), "dtype": (str, "auto"), "limit": (int, None), "batch_rows": (int, 1024),
    "threads": (int, 1), "gpu_memory_utilization": ((int, float), 0.9), "batch_invariant": (bool, False),
    "chunk": (int, 4096),
}
_DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass(frozen=True)
class Spec:
    model: str
    benchmark: str
    engine: str
    max_model_len: int
    n_samples: int
    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    seed: int
    shard_problems: int
    shard_samples: int
    tensor_parallel: int = 1
    dtype: str = "auto"
    limit: int | None = None
    batch_rows: int = 1024
    threads: int = 1
    gpu_memory_utilization: float = 0.9
    batch_invariant: bool = False
    chunk: int = 4096


#: Spec keys that change only speed or memory, never a sample of a batch-invariant engine: a journal written
#: under other values is resumed (a resumed shard of an engine that is not batch-invariant is flagged anyway).
_SPEED_ONLY = ("batch_rows", "gpu_memory_utilization", "chunk")


def _bad(key: str, message: str) -> UserError:
    return UserError(f"--spec: key '{key}' {message}")


def _typed(key: str, value: Any, types: type | tuple[type, ...]) -> Any:
    if (isinstance(value, bool) and types is not bool) or not isinstance(value, types):
        names = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise _bad(key, f"must be {names}, got {json.dumps(value)}")
    return value


def parse_spec(text: str) -> Spec:
    """Validate the --spec JSON; every mistake names its key."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"--spec: invalid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(raw, dict):
        raise UserError("--spec: must be a JSON object")
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise UserError(f"--spec: unknown keys {unknown}; allowed: {sorted({*_REQUIRED, *_OPTIONAL})}")
    values: dict[str, Any] = {}
    for key, types in _REQUIRED.items():
        if key not in raw:
            raise _bad(key, "is missing")
        values[key] = _typed(key, raw[key], types)
    for key, (types, default) in _OPTIONAL.items():
        value = raw.get(key, default)
        values[key] = value if value is None else _typed(key, value, types)
    shard = values.pop("shard")
    if set(shard) != {"problems", "samples"}:
        raise _bad("shard", "must be an object with exactly the keys problems and samples")
    values["shard_problems"] = _typed("shard.problems", shard["problems"], int)
    values["shard_samples"] = _typed("shard.samples", shard["samples"], int)
    checks = [
        ("engine", values["engine"] in ("hf", "vllm"), 'must be "hf" or "vllm"'),
        ("dtype", values["dtype"] in _DTYPES, f"must be one of {list(_DTYPES)}"),
        ("temperature", 0 <= values["temperature"] <= 2, "must be in [0, 2]"),
        ("top_p", 0 < values["top_p"] <= 1, "must be in (0, 1]"),
        ("top_k", values["top_k"] == -1 or values["top_k"] >= 1, "must be -1 (off) or >= 1"),
        ("seed", values["seed"] >= 0, "must be >= 0"),
        ("limit", values["limit"] is None or values["limit"] >= 1, "must be null or >= 1"),
        ("gpu_memory_utilization", 0 < values["gpu_memory_utilization"] <= 1, "must be in (0, 1]"),
    ]
    checks += [(k, values[k] >= 1, "must be >= 1") for k in (
        "max_model_len", "n_samples", "max_tokens", "shard_problems", "shard_samples", "tensor_parallel",
        "batch_rows", "threads", "chunk")]
    for key, ok, message in checks:
        if not ok:
            raise _bad(key.replace("shard_", "shard."), f"{message}, got {json.dumps(values[key])}")
    for key in ("temperature", "top_p", "gpu_memory_utilization"):
        values[key] = float(values[key])
    return Spec(**values)


@dataclass(frozen=True)
class Prompt:
    """A problem's rendered prompt: token ids, text, images, and its length as the engine will count it."""

    problem_id: str
    ids: tuple[int, ...]
    text: str
    images: tuple[Any, ...]
    length: int


def load_problems(path: str | os.PathLike[str], limit: int | None, template: Template) -> pl.DataFrame:
    """The problems table (first `limit` rows), checked for what sampling needs."""
    columns = list(tables.PROBLEM_COLUMNS) + (["image"] if template.images else [])
    problems = read_parquet(path, required=columns)
    if limit is not None:
        problems = problems.head(limit)
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


def _fingerprint(spec: Spec, record_path: str, template: Template, prompts: list[Prompt], shard: Any,
                 sampling: Sampling) -> str:
    """Everything the shard's samples depend on (not the keys that change only speed or memory)."""
    content = {
        "spec": {k: v for k, v in dataclasses.asdict(spec).items() if k not in _SPEED_ONLY},
        "model": read_json(record_path),
        "template": template.sha256,
        "prompts": [[p.problem_id, list(p.ids)] for p in prompts],
        "shard": dataclasses.asdict(shard),
        "sampling": dataclasses.asdict(sampling),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problems", required=True, help="results/problems/{bench}.parquet")
    parser.add_argument("--model", required=True, help="results/models/{model}.json (its 'path' is loaded)")
    parser.add_argument("--template", required=True, help="resources/prompts/{template}.yaml")
    parser.add_argument("--spec", required=True, help="sampling settings as a JSON object (see module doc)")
    parser.add_argument("--shard", required=True, help="shard id, e.g. 003")
    parser.add_argument("--out", required=True, help="the shard table to write (.parquet; sidecar .json)")
    parser.add_argument("--journal", required=True, help="the resume journal (.jsonl)")


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    spec = parse_spec(args.spec)
    template = load_template(args.template)
    problems = load_problems(args.problems, spec.limit, template)
    shard = find_shard(plan_shards(problems.height, spec.n_samples, spec.shard_problems, spec.shard_samples),
                       args.shard)
    path = _model_path(args.model)
    tokenizer = _load_tokenizer(path)
    prompts = prepare_prompts(problems.slice(shard.problem_start, shard.problem_stop - shard.problem_start),
                              template, tokenizer, max_tokens=spec.max_tokens,
                              max_model_len=spec.max_model_len, model=spec.model, benchmark=spec.benchmark,
                              engine=spec.engine)
    sampling = Sampling(max_tokens=spec.max_tokens, temperature=spec.temperature, top_p=spec.top_p,
                        top_k=spec.top_k, stop=template.stop, include_stop=template.include_stop,
                        stop_token_ids=tuple(dict.fromkeys(
                            resolve_stop_ids(template, tokenizer, f"the tokenizer of {path}")
                            + generation_eos_ids(path))))
    requests = [Request(p.problem_id, i, sample_seed(spec.seed, spec.model, spec.benchmark, p.problem_id, i),
                        p.ids, sampling, prompt_text=p.text if p.images else None, images=p.images)
                for p in prompts for i in range(shard.sample_start, shard.sample_stop)]

    try:
        engine = load_engine(spec.engine, path, tokenizer=tokenizer, seed=spec.seed,
                             max_model_len=spec.max_model_len, tensor_parallel=spec.tensor_parallel,
                             dtype=spec.dtype, threads=spec.threads, batch_rows=spec.batch_rows,
                             images=template.images, gpu_memory_utilization=spec.gpu_memory_utilization,
                             batch_invariant=spec.batch_invariant, chunk=spec.chunk)
    except OSError as exc:
        raise UserError(f"{path}: cannot load the model ({exc})") from None
    journal = Journal(args.journal, _fingerprint(spec, args.model, template, prompts, shard, sampling))
    done = journal.open()
    resumed = len(done)
    pending = [r for r in requests if r.key not in done]
    label = f"sample {spec.model}/{spec.benchmark}/{shard.id}"
    LOG.info("%s: %d problems x %d samples, %d from the journal, %d to draw with %s",
             label, len(prompts), shard.sample_stop - shard.sample_start, resumed, len(pending), spec.engine)
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
    write_json({
        "model": spec.model,
        "benchmark": spec.benchmark,
        "shard": dataclasses.asdict(shard),
        "rows": len(rows),
        "engine": described,
        "sampling": engine.sent_parameters(requests[0]),
        "seed": spec.seed,
        "seed_scheme": SEED_SCHEME,
        "template": {"name": template.name, "path": template.path, "sha256": template.sha256},
        "model_record": read_json(args.model),
        "spec": dataclasses.asdict(spec),
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
