"""`python -m rlvr_limits figures`: draw one figure of a comparison and write it in four formats.

    python -m rlvr_limits figures --kind passk --spec '<json>' --inputs MODEL:BENCH=PATH ... \
        --out results/figures/<comparison>/passk.svg

`--spec` (built from the config by the figure rules):
    {"title": str, "models": [{"name", "role", "label"?, "step"?}, ...]  (base first),
     "benchmarks": {bench: {"n_samples", "k_max", "verifiers"}}, "verifier"?: one verifier to show,
     "ci"?: the interval level, for the subtitle}
    The entropy figure's models are the reference model, then the swept models, each with its sampling
    "temperature"; its one benchmark is where the entropies were measured.
`--inputs` per kind:
    passk, steps, efficiency    MODEL:BENCH=results/passk/MODEL/BENCH.parquet
    histogram                   MODEL:BENCH=results/passk/MODEL/BENCH.counts.parquet
    difference                  BENCH=results/compare/COMPARISON/BENCH.parquet
    coverage                    BENCH=results/compare/COMPARISON/BENCH.json
    perplexity                  SCORER:GENERATOR:BENCH=results/perplexity/SCORER/GENERATOR/BENCH.parquet
    entropy                     NAME=results/entropy/NAME.json
The efficiency figure takes pass@1 and pass@k_max (the benchmark's `k_max`) of `verifier`, or else of each
benchmark's first verifier, and ΔSE = base pass@k_max − model pass@1 against the first (base) model.
"""

from __future__ import annotations

import argparse
from typing import Any

from rlvr_limits.analysis.spec import parse_spec
from rlvr_limits.errors import UserError
from rlvr_limits.figures import build
from rlvr_limits.figures.save import save_chart
from rlvr_limits.progress import LOG

KINDS = ("passk", "difference", "coverage", "histogram", "perplexity", "steps", "efficiency", "entropy")
STAGE = "figures"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", required=True, choices=KINDS, help="which figure to draw")
    parser.add_argument("--spec", required=True, help="JSON: title, models with roles, benchmarks, verifier")
    parser.add_argument("--inputs", required=True, nargs="+", metavar="KEY=PATH",
                        help="the tables to draw, keyed as listed in the module's help")
    parser.add_argument("--out", required=True, help="results/figures/<name>.svg (.png, .vl.json and "
                                                     ".html are written beside it)")


def parse_inputs(items: list[str], parts: int) -> dict[tuple[str, ...], str]:
    """`A:B=path` -> {("A", "B"): path}, checking the number of key parts."""
    inputs: dict[tuple[str, ...], str] = {}
    for item in items:
        key, sep, path = item.partition("=")
        names = tuple(key.split(":"))
        if not sep or not path or len(names) != parts or not all(names):
            shape = ":".join(["NAME"] * parts)
            raise UserError(f"{STAGE} --inputs {item!r}: expected {shape}=PATH")
        if names in inputs:
            raise UserError(f"{STAGE} --inputs: {key!r} given twice")
        inputs[names] = path
    return inputs


def parse_figure_spec(text: str) -> dict[str, Any]:
    """The spec with its models and benchmarks checked."""
    spec = parse_spec(text, STAGE)
    models = spec.get("models")
    if not isinstance(models, list) or not models or not all(
            isinstance(m, dict) and isinstance(m.get("name"), str) for m in models):
        raise UserError(f"{STAGE} --spec: key 'models' must be a non-empty list of {{name, role}} objects")
    if not isinstance(spec.get("benchmarks"), dict) or not spec["benchmarks"]:
        raise UserError(f"{STAGE} --spec: key 'benchmarks' must map each benchmark to "
                        "{n_samples, k_max, verifiers}")
    if not isinstance(spec.get("title", ""), str):
        raise UserError(f"{STAGE} --spec: key 'title' must be a string")
    return spec


KEY_PARTS = {"passk": 2, "steps": 2, "efficiency": 2, "histogram": 2, "difference": 1, "coverage": 1,
             "perplexity": 3, "entropy": 1}


def run(args: argparse.Namespace) -> int:
    spec = parse_figure_spec(args.spec)
    inputs = parse_inputs(args.inputs, KEY_PARTS[args.kind])
    chart = build.BUILDERS[args.kind](spec, inputs)
    paths = save_chart(chart, args.out)
    LOG.info("figures: %s figure from %d input(s) -> %s", args.kind, len(inputs),
             ", ".join(str(p) for p in paths.values()))
    return 0
