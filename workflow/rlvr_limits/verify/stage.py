"""The `verify` stage: all samples of one (model, benchmark), checked by each of the benchmark's verifiers.

With `--template`, the model's prompt template, the answer-level verifiers judge the template's assistant
prefill followed by the generated text: a direct-answer template that prefills "The final answer is $\\boxed{"
leaves only "204}$" in the samples, and the answer is in the two together.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import polars as pl

from rlvr_limits import io
from rlvr_limits.errors import UserError
from rlvr_limits.progress import LOG
from rlvr_limits.sampling.templates import load_template
from rlvr_limits.tables import PROBLEM_COLUMNS, SAMPLE_COLUMNS, VERDICT_COLUMNS, VERDICTS, conform
from rlvr_limits.verify import registry


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problems", required=True, help="results/problems/{bench}.parquet")
    parser.add_argument("--samples", required=True, nargs="+", help="every shard of the (model, benchmark)")
    parser.add_argument("--spec", required=True,
                        help='JSON: {"benchmark", "verifiers": [...], "settings": {...}, "n_samples"}')
    parser.add_argument("--out", required=True, help="results/verdicts/{model}/{bench}.parquet")
    parser.add_argument("--template", help="the model's prompt template (resources/prompts/NAME.yaml)")


def load_samples(paths: list[str], problems: pl.DataFrame, n_samples: int) -> pl.DataFrame:
    """All shards, checked to hold each (problem, sample index) exactly once and n_samples per problem."""
    samples = pl.concat([io.read_parquet(p, required=SAMPLE_COLUMNS) for p in paths], how="vertical_relaxed")
    dupes = samples.group_by("problem_id", "sample_idx").len().filter(pl.col("len") > 1)
    if dupes.height:
        first = dupes.row(0, named=True)
        raise UserError(f"{', '.join(paths)}: sample {first['sample_idx']} of problem {first['problem_id']} "
                        "appears in more than one shard")
    unknown = set(samples["problem_id"].unique()) - set(problems["problem_id"])
    if unknown:
        raise UserError(f"samples name problems missing from the problems table: {sorted(unknown)[:5]}")
    per_problem = samples.group_by("problem_id").len()
    short = per_problem.filter(pl.col("len") != n_samples)
    if short.height or per_problem.height != problems.height:
        raise UserError(f"shards {', '.join(paths)}: expected {n_samples} samples for each of "
                        f"{problems.height} problems, found {per_problem.height} problems "
                        f"(first mismatch: {short.head(1).to_dicts()})")
    return samples.sort("problem_id", "sample_idx")


def run(args: argparse.Namespace) -> int:
    spec = json.loads(args.spec)
    problems = io.read_parquet(args.problems, required=PROBLEM_COLUMNS)
    samples = load_samples(args.samples, problems, spec["n_samples"])
    prefill = load_template(args.template).prefill if args.template else ""
    tables, sidecar = [], {"benchmark": spec["benchmark"], "samples": samples.height, "verifiers": {}}
    for name in spec["verifiers"]:
        started = time.monotonic()
        judged = samples
        if prefill and name in registry.READS_PREFILL:
            judged = samples.with_columns(text=pl.lit(prefill) + pl.col("text"))
        table = registry.backend(name)(problems, judged, spec["benchmark"], spec.get("settings", {}))
        if table.height != samples.height:
            raise RuntimeError(f"verifier {name} returned {table.height} verdicts for {samples.height} samples")
        bad = set(table["verdict"].unique()) - set(VERDICTS)
        if bad:
            raise RuntimeError(f"verifier {name} returned unknown verdicts {sorted(bad)}")
        # Backends may add their own columns (the math verifier's per-sample seconds); the verdicts table keeps
        # the shared contract, so every verifier's rows stack.
        tables.append(conform(table.with_columns(verifier=pl.lit(name)), VERDICT_COLUMNS))
        counts = Counter(table["verdict"].to_list())
        seconds = time.monotonic() - started
        sidecar["verifiers"][name] = {**registry.describe(name), "verdicts": dict(counts),
                                      "seconds": round(seconds, 3)}
        LOG.info("%s: %s in %.1f s", name, dict(counts), seconds)
    verdicts = pl.concat(tables, how="vertical")
    io.write_parquet(verdicts, args.out)
    io.write_json(sidecar, Path(args.out).with_suffix(".json"))
    return 0
