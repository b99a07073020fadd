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
from rlvr_limits.progress import LOG
from rlvr_limits.sampling.store import read_samples
from rlvr_limits.sampling.templates import load_template
from rlvr_limits.tables import GRADE_COLUMNS, PROBLEM_COLUMNS, VERDICT_COLUMNS, VERDICTS, conform
from rlvr_limits.verify import imported, registry


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problems", required=True, help="results/problems/{bench}.parquet")
    parser.add_argument("--samples", required=True, nargs="+", help="the sample blocks of the (model, benchmark)")
    parser.add_argument("--spec", required=True,
                        help='JSON: {"benchmark", "verifiers": [...], "settings": {...}, "n_samples", "limit"}: '
                             "the first `limit` problems (null: all) x sample indices 0..n_samples-1 are verified")
    parser.add_argument("--out", required=True, help="results/verdicts/{model}/{bench}.parquet")
    parser.add_argument("--template", help="the model's prompt template (resources/prompts/NAME.yaml)")
    parser.add_argument("--grades", help="an imported model's grades of its source (<block>.grades.parquet): when "
                                         "it has rows, verifier `imported` gives them beside ours")


def with_detail(table: pl.DataFrame) -> pl.DataFrame:
    """The backend's verdicts with a `detail` column (empty when the backend gives none)."""
    return table if "detail" in table.columns else table.with_columns(detail=pl.lit(None, pl.String))


def run(args: argparse.Namespace) -> int:
    spec = json.loads(args.spec)
    table = io.read_parquet(args.problems, required=PROBLEM_COLUMNS)
    problems = table if spec.get("limit") is None else table.head(spec["limit"])
    samples = read_samples(args.samples, table["problem_id"].to_list(), problems.height, spec["n_samples"])
    prefill = load_template(args.template).prefill if args.template else ""
    tables, sidecar = [], {"benchmark": spec["benchmark"], "samples": samples.height, "blocks": args.samples,
                           "verifiers": {}}
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
        # Backends may add their own columns (the math verifier's per-sample seconds) or leave out `detail`; the
        # verdicts table keeps the shared contract, so every verifier's rows stack.
        tables.append(conform(with_detail(table).with_columns(verifier=pl.lit(name)), VERDICT_COLUMNS))
        counts = Counter(table["verdict"].to_list())
        seconds = time.monotonic() - started
        sidecar["verifiers"][name] = {**registry.describe(name), "verdicts": dict(counts),
                                      "seconds": round(seconds, 3)}
        LOG.info("%s: %s in %.1f s", name, dict(counts), seconds)
    if args.grades:
        grades = io.read_parquet(args.grades, required=GRADE_COLUMNS)
        if grades.height:
            table = imported.verify_table(samples, grades, args.grades)
            tables.append(conform(with_detail(table).with_columns(verifier=pl.lit("imported")), VERDICT_COLUMNS))
            counts = Counter(table["verdict"].to_list())
            sidecar["verifiers"]["imported"] = {"version": str(imported.VERSION), "verdicts": dict(counts),
                                                "source": args.grades}
            LOG.info("imported (the source's own grades): %s", dict(counts))
        else:
            LOG.info("%s: the source graded not every sample; no `imported` verdicts", args.grades)
    verdicts = pl.concat(tables, how="vertical")
    io.write_parquet(verdicts, args.out)
    io.write_json(sidecar, Path(args.out).with_suffix(".json"))
    return 0
