"""`python -m rlvr_limits perplexity`: PPL of one model's (the generator's) responses under another (the
scorer), conditioned on the prompt (paper §4.1, Fig. 6).

The prompt is rendered through the scorer's template exactly as for sampling, the chosen responses are
tokenized with the scorer's tokenizer, and the engine's `score` returns each response token's log-probability.
A response longer than the scorer's context is scored on its first tokens and flagged `truncated`: prompt and
response together take at most max_model_len - 1 tokens, because vLLM's scoring prefill generates one token and
refuses a sequence that fills the context (both engines cut at the same place, so their numbers agree).

With `--references` instead of `--samples`, the responses are the benchmark's own reference solutions, read
from the problems' meta field that spec key `reference` names (the paper's Y_GT).
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import polars as pl

from rlvr_limits.analysis.perplexity import choose_responses, mean_logprob, reference_responses
from rlvr_limits.analysis.spec import get_int, get_str, parse_spec
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_json, read_parquet, write_parquet
from rlvr_limits.progress import LOG, Progress
from rlvr_limits.sampling.store import read_samples
from rlvr_limits.tables import PERPLEXITY_COLUMNS, PROBLEM_COLUMNS, conform

STAGE = "perplexity"
BATCH = 64  # responses per scoring call, so progress is reported while long runs work


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scorer", required=True, help="model record of the scorer: results/models/A.json")
    parser.add_argument("--template", required=True, help="the scorer's prompt template (resources/prompts)")
    parser.add_argument("--spec", required=True,
                        help='JSON: {"scorer", "generator", "benchmark", "responses_per_problem", "seed", '
                             '"engine", "dtype", "max_model_len", with --samples "n_samples"; optional '
                             '"limit" (the responses come from the first `limit` problems, sample indices '
                             '0..n_samples-1), "tensor_parallel", "gpu_memory_utilization", "batch_invariant", '
                             '"server" (engine server)}')
    parser.add_argument("--problems", required=True, help="results/problems/B.parquet")
    responses = parser.add_mutually_exclusive_group(required=True)
    responses.add_argument("--samples", nargs="+", help="the generator's sample blocks on B")
    responses.add_argument("--references", action="store_true",
                           help="score the benchmark's reference responses (spec key 'reference' names the field)")
    parser.add_argument("--out", required=True, help="results/perplexity/A/G/B.parquet")


def open_engine(record_path: str, spec: dict[str, Any]) -> Any:
    """Load the scorer with the engine the config names, from the local path its model record gives (a vllm
    scorer claims its GPUs as a sampling job does)."""
    from rlvr_limits.sampling.engine import load_engine

    record = read_json(record_path)
    path = record.get("path") if isinstance(record, dict) else None
    if not isinstance(path, str) or not path:
        raise UserError(f"{record_path}: model record has no 'path'; rerun the model rule")
    engine = get_str(spec, "engine", STAGE)
    if engine not in ("hf", "vllm", "server"):
        raise UserError(f"{STAGE} --spec: key 'engine' must be hf, vllm or server, got {engine!r}")
    try:
        return load_engine(engine, path, seed=get_int(spec, "seed", STAGE), dtype=spec.get("dtype", "auto"),
                           tensor_parallel=spec.get("tensor_parallel", 1),
                           max_model_len=get_int(spec, "max_model_len", STAGE, minimum=2),
                           gpu_memory_utilization=spec.get("gpu_memory_utilization", 0.9),
                           batch_invariant=spec.get("batch_invariant", False), server=spec.get("server"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot load the scorer model ({exc})") from None


def prompts_for(problems: pl.DataFrame, chosen: pl.DataFrame, template_path: str,
                tokenizer: Any) -> dict[str, list[int]]:
    """Token ids of the rendered prompt of every problem that has a chosen response."""
    from rlvr_limits.sampling.templates import encode, load_template, problem_fields, render

    template = load_template(template_path)
    wanted = set(chosen["problem_id"])
    prompts = {}
    for row in problems.filter(pl.col("problem_id").is_in(list(wanted))).iter_rows(named=True):
        text = render(template, row["question"], problem_fields(row["meta"], row["problem_id"]),
                      tokenizer=tokenizer, problem_id=row["problem_id"])
        prompts[row["problem_id"]] = encode(template, text, tokenizer)
    missing = wanted - set(prompts)
    if missing:
        raise UserError(f"--samples: problems {sorted(missing)[:5]} are not in the --problems table; the "
                        "samples belong to another benchmark")
    return prompts


def run(args: argparse.Namespace) -> int:
    spec = parse_spec(args.spec, STAGE)
    scorer = get_str(spec, "scorer", STAGE)
    generator = get_str(spec, "generator", STAGE)
    benchmark = get_str(spec, "benchmark", STAGE)
    per_problem = get_int(spec, "responses_per_problem", STAGE, minimum=1)
    seed = get_int(spec, "seed", STAGE)
    max_len = get_int(spec, "max_model_len", STAGE, minimum=2)

    t0 = time.monotonic()
    table = read_parquet(args.problems, required=PROBLEM_COLUMNS)
    problems = table if spec.get("limit") is None else table.head(get_int(spec, "limit", STAGE, minimum=1))
    if args.references:
        responses = reference_responses(problems, get_str(spec, "reference", STAGE), args.problems)
    else:
        responses = read_samples(args.samples, table["problem_id"].to_list(), problems.height,
                                 get_int(spec, "n_samples", STAGE, minimum=1))
    chosen = choose_responses(responses, per_problem, seed)
    if chosen.is_empty():
        raise UserError(f"--samples: {generator} has no non-empty response on {benchmark} to score")
    engine = open_engine(args.scorer, spec)
    tokenizer = engine.tokenizer
    prompts = prompts_for(problems, chosen, args.template, tokenizer)

    pairs, truncated = [], []
    for row in chosen.iter_rows(named=True):
        prompt = prompts[row["problem_id"]]
        room = max_len - 1 - len(prompt)  # one position stays free for the token a scoring prefill generates
        if room < 1:
            raise UserError(f"problem {row['problem_id']!r}: the prompt has {len(prompt)} tokens, no room "
                            f"for a response within max_model_len={max_len} of {scorer}")
        response = list(tokenizer.encode(row["text"], add_special_tokens=False))
        truncated.append(len(response) > room)
        pairs.append((prompt, response[:room]))

    progress = Progress(f"perplexity {scorer} on {generator}/{benchmark}", len(pairs), "responses")
    logprobs: list[list[float]] = []
    for start in range(0, len(pairs), BATCH):
        logprobs += engine.score_batch(pairs[start:start + BATCH])
        progress.update(min(BATCH, len(pairs) - start))

    means = [mean_logprob(values) if values else math.nan for values in logprobs]
    table = chosen.select("problem_id", "sample_idx").with_columns(
        scorer=pl.lit(scorer), generator=pl.lit(generator), benchmark=pl.lit(benchmark),
        n_tokens=pl.Series([len(v) for v in logprobs], dtype=pl.Int64),
        mean_logprob=pl.Series(means, dtype=pl.Float64),
        perplexity=pl.Series([math.exp(-m) for m in means], dtype=pl.Float64),
        truncated=pl.Series(truncated, dtype=pl.Boolean))
    table = conform(table.filter(pl.col("n_tokens") > 0), PERPLEXITY_COLUMNS)
    write_parquet(table, args.out)
    LOG.info("perplexity %s(Y %s) on %s: median %.3f over %d responses of %d problems (%d truncated), "
             "%.1f s", scorer, generator, benchmark, table["perplexity"].median(), table.height,
             table["problem_id"].n_unique(), int(table["truncated"].sum()), time.monotonic() - t0)
    return 0
