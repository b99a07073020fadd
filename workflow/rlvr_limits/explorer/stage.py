"""`python -m rlvr_limits explore`: one comparison on one benchmark, problem by problem, as an offline page.

    python -m rlvr_limits explore --spec '<json>' --problems results/problems/B.parquet \\
        --coverage results/compare/C/B.coverage.parquet --verdicts M=results/verdicts/M/B.parquet ... \\
        --samples M=results/samples/M/B/<draw>/p0-99_s0-255.parquet ... --out results/explorer/C/B.html

`--spec`: comparison, title, benchmark, base, models, labels (model -> legend label), k_max, n_samples, limit,
verifiers (the benchmark's; the first decides categories and which responses are shown), sample_dirs (model ->
where its samples are). `--verdicts` once per model, `--samples` once per sample block (`MODEL=PATH`).
"""

from __future__ import annotations

import argparse
import json
import time

from rlvr_limits.errors import UserError
from rlvr_limits.explorer.data import page_data
from rlvr_limits.explorer.page import render
from rlvr_limits.io import read_parquet, write_text
from rlvr_limits.progress import LOG
from rlvr_limits.tables import PROBLEM_COLUMNS, VERDICT_COLUMNS

_KEYS = ("comparison", "title", "benchmark", "base", "models", "labels", "k_max", "n_samples", "limit", "verifiers",
         "sample_dirs")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", required=True, help="JSON (see the module docstring)")
    parser.add_argument("--problems", required=True, help="results/problems/{bench}.parquet")
    parser.add_argument("--coverage", required=True, help="results/compare/{comparison}/{bench}.coverage.parquet")
    parser.add_argument("--verdicts", required=True, nargs="+", metavar="MODEL=PATH", help="each model's verdicts")
    parser.add_argument("--samples", required=True, nargs="+", metavar="MODEL=PATH", help="each sample block")
    parser.add_argument("--out", required=True, help="results/explorer/{comparison}/{bench}.html")


def _pairs(items: list[str], option: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        model, sep, path = item.partition("=")
        if not sep or not model or not path:
            raise UserError(f"explore {option} {item!r}: expected MODEL=PATH")
        out.setdefault(model, []).append(path)
    return out


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        spec = json.loads(args.spec)
    except json.JSONDecodeError as exc:
        raise UserError(f"explore --spec: invalid JSON ({exc.msg})") from None
    missing = [k for k in _KEYS if not isinstance(spec, dict) or k not in spec]
    if missing:
        raise UserError(f"explore --spec: missing keys {missing}")
    models = [spec["base"], *spec["models"]]
    verdict_paths, block_paths = _pairs(args.verdicts, "--verdicts"), _pairs(args.samples, "--samples")
    for option, given in (("--verdicts", verdict_paths), ("--samples", block_paths)):
        if sorted(given) != sorted(models):
            raise UserError(f"explore {option}: need the models {models}, got {sorted(given)}")
    problems = read_parquet(args.problems, required=PROBLEM_COLUMNS)
    if spec["limit"] is not None:
        problems = problems.head(spec["limit"])
    coverage = read_parquet(args.coverage, required=("model", "verifier", "index", "problem_id", "n_base", "c_base",
                                                      "n_other", "c_other", "split"))
    verdicts = {m: read_parquet(verdict_paths[m][0], required=VERDICT_COLUMNS) for m in models}
    data = page_data({**spec, "verifier": spec["verifiers"][0]}, problems, coverage, verdicts, block_paths)
    page = render(data)
    write_text(page, args.out)
    LOG.info("explorer %s/%s: %d problems, %d responses shown, %.1f kB in %.1f s", spec["comparison"],
             spec["benchmark"], len(data["problems"]),
             sum(len(p["models"][m]["responses"]) for p in data["problems"] for m in models),
             len(page.encode()) / 1024, time.monotonic() - started)
    return 0
