"""`python -m rlvr_limits passk`: per-problem counts and the pass@k curve with bootstrap CIs of one
(model, benchmark).

Inputs: the verdict table (one row per sample × verifier). Outputs: the curve (one row per verifier × k,
tables.PASSK_COLUMNS) and the counts (one row per verifier × problem, tables.COUNT_COLUMNS) that the
comparisons and histograms are computed from.

With `--drop-guessed COUNTS` (the counts of a run that answered directly, without chain of thought) the
problems guessed with low but non-zero probability (below spec key `guess_threshold`, default 0.05) are
removed from both outputs first: the paper's filtered AIME24 (App. D.2).
"""

from __future__ import annotations

import argparse
import time

from rlvr_limits.analysis.guess import drop_guessed
from rlvr_limits.analysis.passk import check_counts, counts_from_verdicts, k_grid, passk_table
from rlvr_limits.analysis.spec import get_ci, get_float, get_int, parse_spec
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_parquet, write_parquet
from rlvr_limits.progress import LOG
from rlvr_limits.tables import COUNT_COLUMNS, VERDICT_COLUMNS, conform

STAGE = "passk"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verdicts", required=True, help="results/verdicts/{model}/{bench}.parquet")
    parser.add_argument("--spec", required=True,
                        help='JSON: {"n_samples", "k_max", "bootstrap", "ci", "seed"}')
    parser.add_argument("--out", required=True, help="curve: results/passk/{model}/{bench}.parquet")
    parser.add_argument("--counts", required=True, help="results/passk/{model}/{bench}.counts.parquet")
    parser.add_argument("--drop-guessed", metavar="COUNTS",
                        help="counts of a direct-answer run (no chain of thought); drop what it guesses")


def run(args: argparse.Namespace) -> int:
    spec = parse_spec(args.spec, STAGE)
    n_samples = get_int(spec, "n_samples", STAGE, minimum=1)
    k_max = get_int(spec, "k_max", STAGE, minimum=1)
    n_resamples = get_int(spec, "bootstrap", STAGE, minimum=1)
    ci = get_ci(spec, STAGE)
    seed = get_int(spec, "seed", STAGE)
    if k_max > n_samples:
        raise UserError(f"{STAGE} --spec: k_max={k_max} exceeds n_samples={n_samples}; pass@k needs n >= k")

    t0 = time.monotonic()
    verdicts = read_parquet(args.verdicts, required=VERDICT_COLUMNS)
    counts = counts_from_verdicts(verdicts, source=args.verdicts)
    check_counts(counts, args.verdicts, n_samples=n_samples, k_max=k_max)
    if args.drop_guessed:
        direct = conform(read_parquet(args.drop_guessed, required=COUNT_COLUMNS), COUNT_COLUMNS)
        before = counts.height
        counts = drop_guessed(counts, direct, get_float(spec, "guess_threshold", STAGE, 0.05),
                              source=args.drop_guessed)
        LOG.info("passk: dropped %d guessed (verifier, problem) rows of %d", before - counts.height, before)
        check_counts(counts, args.verdicts)
    ks = k_grid(k_max)
    curve = passk_table(counts, ks, n_resamples, ci, seed)
    write_parquet(counts, args.counts)
    write_parquet(curve, args.out)
    for verifier in curve["verifier"].unique(maintain_order=True):
        rows = curve.filter(curve["verifier"] == verifier)
        LOG.info("%s [%s]: pass@1 %.3f, pass@%d %.3f over %d problems", args.verdicts, verifier,
                 rows["pass_at_k"][0], k_max, rows["pass_at_k"][-1], rows["n_problems"][0])
    LOG.info("passk: %d verifier(s) x %d k values, %d resamples in %.2f s",
             curve["verifier"].n_unique(), len(ks), n_resamples, time.monotonic() - t0)
    return 0
