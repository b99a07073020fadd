"""`python -m rlvr_limits compare`: one comparison of the config on one benchmark.

Reads the counts tables of the base and the other models and writes, next to `--out`:
- `<out>`: paired difference other − base per model × verifier × k, with both curves and their bootstrap CIs,
  the difference's interval, p-value (and Holm's over the k grid), simultaneous band and method;
- `<stem>.coverage.parquet`: per model × verifier × problem, solved by base/other, split label, accuracies;
- `<stem>.json`: per model × verifier, pass@1 and pass@k_max with CIs, the headline differences at k=1 and
  k_max (interval, p-value, method, whether it excludes zero), the crossover, the coverage split with solved
  index lists, ΔSE at `delta_se_k` and the 12-bin accuracy histograms (the `tables` stage turns these into the
  report's CSV).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import polars as pl

from rlvr_limits.analysis.compare import COVERAGE_COLUMNS, DIFFERENCE_COLUMNS, compare_models
from rlvr_limits.analysis.passk import check_counts, k_grid
from rlvr_limits.analysis.spec import get_ci, get_int, get_str, get_str_list, parse_spec
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_parquet, write_json, write_parquet
from rlvr_limits.progress import LOG
from rlvr_limits.tables import COUNT_COLUMNS, conform

STAGE = "compare"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", required=True,
                        help='JSON: {"comparison", "kind", "base", "models", "benchmark", "k_max", '
                             '"bootstrap", "ci", "seed", "delta_se_k"; optional "verifiers", those compared '
                             '(default: every verifier of the counts)}')
    parser.add_argument("--counts", required=True, nargs="+", metavar="MODEL=PATH",
                        help="counts table of every model: MODEL=results/passk/MODEL/BENCH.counts.parquet")
    parser.add_argument("--out", required=True, help="results/compare/{comparison}/{bench}.parquet")


def sibling(out: str | Path, suffix: str) -> Path:
    """`results/compare/c/b.parquet` -> `results/compare/c/b<suffix>`."""
    out = Path(out)
    if out.suffix != ".parquet":
        raise UserError(f"{STAGE} --out {out}: must end in .parquet")
    return out.with_suffix(suffix)


def parse_counts_args(items: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise UserError(f"{STAGE} --counts {item!r}: expected MODEL=PATH")
        if name in pairs:
            raise UserError(f"{STAGE} --counts: model {name!r} given twice")
        pairs[name] = path
    return pairs


def run(args: argparse.Namespace) -> int:
    spec = parse_spec(args.spec, STAGE)
    comparison = get_str(spec, "comparison", STAGE)
    kind = get_str(spec, "kind", STAGE)
    base = get_str(spec, "base", STAGE)
    models = get_str_list(spec, "models", STAGE)
    benchmark = get_str(spec, "benchmark", STAGE)
    k_max = get_int(spec, "k_max", STAGE, minimum=1)
    n_resamples = get_int(spec, "bootstrap", STAGE, minimum=1)
    ci = get_ci(spec, STAGE)
    seed = get_int(spec, "seed", STAGE)
    delta_se_k = get_int(spec, "delta_se_k", STAGE, minimum=1)
    if base in models:
        raise UserError(f"{STAGE} --spec: base {base!r} is also listed in models")
    if len(set(models)) != len(models):
        raise UserError(f"{STAGE} --spec: models {models} lists a model twice")

    paths = parse_counts_args(args.counts)
    wanted = [base, *models]
    missing = [m for m in wanted if m not in paths]
    extra = [m for m in paths if m not in wanted]
    if missing or extra:
        raise UserError(f"{STAGE} --counts: need exactly the models {wanted}; missing {missing}, "
                        f"unexpected {extra}")

    t0 = time.monotonic()
    verifiers = get_str_list(spec, "verifiers", STAGE) if "verifiers" in spec else None
    counts = {}
    for name in wanted:
        table = conform(read_parquet(paths[name], required=COUNT_COLUMNS), COUNT_COLUMNS)
        if verifiers is not None:  # the benchmark's verifiers; an imported model's own grades are not compared
            table = table.filter(pl.col("verifier").is_in(verifiers))
        check_counts(table, paths[name], k_max=k_max)
        counts[name] = table
    ks = k_grid(k_max)
    results = compare_models(counts, base, models, ks, n_resamples, ci, seed, delta_se_k)

    keys = {"comparison": comparison, "benchmark": benchmark, "base": base}
    differences = conform(pl.concat([r.differences.with_columns(**{k: pl.lit(v) for k, v in keys.items()})
                                     for r in results]), DIFFERENCE_COLUMNS)
    coverage = conform(pl.concat([r.coverage.with_columns(model=pl.lit(r.model), verifier=pl.lit(r.verifier),
                                                          **{k: pl.lit(v) for k, v in keys.items()})
                                  for r in results]), COVERAGE_COLUMNS)
    summary = {**keys, "kind": kind, "models": models, "k_max": k_max, "ks": ks,
               "bootstrap": n_resamples, "ci": ci, "seed": seed, "delta_se_k": delta_se_k,
               "results": [r.summary for r in results]}
    if "guess_filter" in spec:  # the counts were already filtered; say so wherever the summary is shown
        summary["guess_filter"] = spec["guess_filter"]
    write_parquet(differences, args.out)
    write_parquet(coverage, sibling(args.out, ".coverage.parquet"))
    write_json(summary, sibling(args.out, ".json"))
    for r in results:
        s = r.summary
        LOG.info("%s/%s [%s] %s: pass@1 %.3f vs %.3f, pass@%d %.3f vs %.3f; %s", comparison, benchmark,
                 r.verifier, r.model, s["pass_at_1"]["base"]["value"], s["pass_at_1"]["other"]["value"],
                 k_max, s["pass_at_k_max"]["base"]["value"], s["pass_at_k_max"]["other"]["value"],
                 s["crossover"]["statement"])
    LOG.info("compare: %d pair(s) x %d k values, %d resamples in %.2f s", len(results), len(ks), n_resamples,
             time.monotonic() - t0)
    return 0
