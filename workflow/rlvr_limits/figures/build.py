"""From the workflow's tables to tidy frames and finished charts, one builder per figure kind.

Each builder reads the files the figure rule names, checks them against their contracts, puts model labels
and benchmark names on the rows, and hands a tidy frame to the chart module. The subtitle states what the
reader needs to judge the figure: samples per problem, k_max, verifier and what the bands are.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import polars as pl

from rlvr_limits.analysis.compare import DIFFERENCE_COLUMNS
from rlvr_limits.analysis.coverage import SPLITS
from rlvr_limits.analysis.crossover import Crossover, first_reach
from rlvr_limits.analysis.histogram import BIN_LABELS, histogram
from rlvr_limits.errors import UserError
from rlvr_limits.figures import coverage, difference, passk_curves, perplexity, steps
from rlvr_limits.figures import histogram as histogram_chart
from rlvr_limits.figures.style import ModelStyle, finish, model_styles
from rlvr_limits.io import read_json, read_parquet
from rlvr_limits.tables import COUNT_COLUMNS, PASSK_COLUMNS, PERPLEXITY_COLUMNS

Inputs = dict[tuple[str, ...], str]


class Context:
    """The spec's models and benchmarks, with lookups that fail with a clear message."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.styles = model_styles(spec["models"])
        self.by_name = {s.name: s for s in self.styles}
        self.benchmarks = list(spec["benchmarks"])
        self.verifier: str | None = spec.get("verifier")
        self.title = spec.get("title") or spec.get("comparison") or "rlvr-limits"

    def style(self, name: str, source: str) -> ModelStyle:
        if name not in self.by_name:
            raise UserError(f"{source}: model {name!r} is not among the figure's models "
                            f"{list(self.by_name)}")
        return self.by_name[name]

    def check_benchmark(self, bench: str, source: str) -> None:
        if bench not in self.spec["benchmarks"]:
            raise UserError(f"{source}: benchmark {bench!r} is not among the figure's benchmarks "
                            f"{self.benchmarks}")

    def keep_verifier(self, table: pl.DataFrame, source: str) -> pl.DataFrame:
        if self.verifier is None:
            return table
        kept = table.filter(pl.col("verifier") == self.verifier)
        if kept.is_empty():
            raise UserError(f"{source}: no rows for verifier {self.verifier!r} "
                            f"(has {table['verifier'].unique().to_list()})")
        return kept

    def present_styles(self, labels: set[str]) -> list[ModelStyle]:
        return [s for s in self.styles if s.label in labels]

    def subtitle(self, bands: str | None = None) -> list[str]:
        lines = []
        for bench, info in self.spec["benchmarks"].items():
            if isinstance(info, dict) and "n_samples" in info:
                lines.append(f"{bench}: n = {info['n_samples']} samples per problem, "
                             f"k_max = {info.get('k_max', info['n_samples'])}")
        if self.verifier:
            lines.append(f"verifier: {self.verifier}")
        if bands:
            ci = self.spec.get("ci")
            level = f"{round(100 * ci)}% " if isinstance(ci, int | float) else ""
            lines.append(f"bands: {level}{bands}")
        return lines


def _per_model(ctx: Context, inputs: Inputs, required: dict[str, Any]) -> pl.DataFrame:
    frames = []
    for (model, bench), path in inputs.items():
        ctx.check_benchmark(bench, path)
        table = ctx.keep_verifier(read_parquet(path, required=required), path)
        frames.append(table.with_columns(benchmark=pl.lit(bench), model=pl.lit(ctx.style(model, path).label)))
    return pl.concat(frames, how="diagonal_relaxed")


def passk_figure(spec: dict[str, Any], inputs: Inputs) -> alt.TopLevelMixin:
    ctx = Context(spec)
    data = _per_model(ctx, inputs, PASSK_COLUMNS)
    chart = passk_curves.chart(data, ctx.present_styles(set(data["model"])), ctx.benchmarks)
    return finish(chart, ctx.title, ctx.subtitle("bootstrap CI over problems"))


def difference_figure(spec: dict[str, Any], inputs: Inputs) -> alt.TopLevelMixin:
    ctx = Context(spec)
    frames = []
    for (bench,), path in inputs.items():
        ctx.check_benchmark(bench, path)
        table = ctx.keep_verifier(read_parquet(path, required=DIFFERENCE_COLUMNS), path)
        for (model, verifier), rows in table.sort("k").group_by("model", "verifier", maintain_order=True):
            curve = rows["diff"].to_numpy()
            reach = int(first_reach(-curve, np.zeros_like(curve)))  # base reaches other where diff <= 0
            frames.append(rows.with_columns(
                benchmark=pl.lit(bench), model=pl.lit(ctx.style(str(model), path).label),
                verifier=pl.lit(verifier), crossover=pl.Series([i == reach for i in range(rows.height)])))
    data = pl.concat(frames)
    chart = difference.chart(data, ctx.present_styles(set(data["model"])), ctx.benchmarks)
    return finish(chart, ctx.title, [*ctx.subtitle("paired bootstrap CI over problems"),
                                     "below 0: the base model is ahead; dashed: crossover k",
                                     *crossover_lines(ctx, inputs)])


def crossover_lines(ctx: Context, inputs: Inputs) -> list[str]:
    """The crossover statements (with intervals) of the compare summary written beside each table.

    The compare stage writes `<stem>.json` together with `<stem>.parquet`, so the summary exists whenever
    the table does.
    """
    lines = []
    for (bench,), path in inputs.items():
        summary_path = Path(path).with_suffix(".json")
        if not summary_path.is_file():
            continue
        summary = read_json(summary_path)
        try:
            for result in summary["results"]:
                if ctx.verifier is not None and result["verifier"] != ctx.verifier:
                    continue
                c = result["crossover"]
                cross = Crossover(c["k"], c["k_low"], c["k_high"], c["k_max"], summary["ci"],
                                  c["share_resamples_crossing"])
                statement = cross.statement(ctx.style(summary["base"], str(summary_path)).label,
                                            ctx.style(result["model"], str(summary_path)).label)
                lines.append(f"{bench} [{result['verifier']}]: {statement}")
        except (KeyError, TypeError) as exc:
            raise UserError(f"{summary_path}: not a summary written by the compare stage ({exc})") from None
    return lines


def coverage_figure(spec: dict[str, Any], inputs: Inputs) -> alt.TopLevelMixin:
    ctx = Context(spec)
    rows = []
    for (bench,), path in inputs.items():
        ctx.check_benchmark(bench, path)
        summary = read_json(path)
        results = summary.get("results") if isinstance(summary, dict) else None
        if not isinstance(results, list):
            raise UserError(f"{path}: not a summary written by the compare stage (no 'results' list)")
        for result in results:
            if ctx.verifier is not None and result["verifier"] != ctx.verifier:
                continue
            split = result["coverage"]
            for order, name in enumerate(SPLITS):
                rows.append({"benchmark": bench, "verifier": result["verifier"],
                             "model": ctx.style(result["model"], path).label, "split": name, "order": order,
                             "count": split["counts"][name], "fraction": split["fractions"][name]})
    if not rows:
        raise UserError(f"coverage figure: no results for verifier {ctx.verifier!r} in "
                        f"{list(inputs.values())}")
    data = pl.DataFrame(rows)
    models = [s.label for s in ctx.styles if s.role != "base" and s.label in set(data["model"])]
    base = ctx.styles[0].label
    chart = coverage.chart(data, models, ctx.benchmarks)
    note = f"problems solved at least once in n samples, by {base} and by each model"
    return finish(chart, ctx.title, [*ctx.subtitle(), note])


def histogram_figure(spec: dict[str, Any], inputs: Inputs) -> alt.TopLevelMixin:
    ctx = Context(spec)
    counts = _per_model(ctx, inputs, COUNT_COLUMNS)
    rows = []
    for (bench, verifier, model), part in counts.group_by("benchmark", "verifier", "model",
                                                          maintain_order=True):
        hist = histogram(part["n"].to_numpy(), part["c"].to_numpy())
        rows += [{"benchmark": bench, "verifier": verifier, "model": model, "bin": label, "count": count,
                  "fraction": count / part.height} for label, count in zip(BIN_LABELS, hist, strict=True)]
    data = pl.DataFrame(rows)
    chart = histogram_chart.chart(data, ctx.present_styles(set(data["model"])), ctx.benchmarks)
    return finish(chart, ctx.title, [*ctx.subtitle(), "problems per bin of per-problem accuracy c/n"])


def perplexity_figure(spec: dict[str, Any], inputs: Inputs) -> alt.TopLevelMixin:
    ctx = Context(spec)
    frames, pairs, colors = [], [], []
    for (scorer, generator, bench), path in inputs.items():
        ctx.check_benchmark(bench, path)
        scorer_style, generator_style = ctx.style(scorer, path), ctx.style(generator, path)
        pair = f"PPL {scorer_style.label} (Y {generator_style.label})"
        if pair not in pairs:
            pairs.append(pair)
            colors.append(generator_style.color)
        table = read_parquet(path, required=PERPLEXITY_COLUMNS)
        frames.append(table.select(pl.lit(bench).alias("benchmark"), pl.lit(pair).alias("pair"),
                                   pl.lit(generator_style.label).alias("generator"), "perplexity"))
    data = pl.concat(frames)
    chart = perplexity.chart(data, pairs, colors, ctx.benchmarks)
    return finish(chart, ctx.title, [*ctx.subtitle(),
                                     "PPL A (Y B): perplexity of model B's responses under model A"])


def steps_figure(spec: dict[str, Any], inputs: Inputs) -> alt.TopLevelMixin:
    ctx = Context(spec)
    data = _per_model(ctx, inputs, PASSK_COLUMNS)
    has_steps = all(s.step is not None for s in ctx.styles if s.role != "base")
    position = {s.label: (s.step if has_steps else i) if s.role != "base" else 0
                for i, s in enumerate(ctx.styles)}
    rows = []
    groups = data.group_by("benchmark", "verifier", "model", maintain_order=True)
    for (bench, verifier, model), part in groups:
        part = part.sort("k")
        k_max = int(part["k"][-1])
        for metric, row in (("pass@1", part.row(0, named=True)), (f"pass@{k_max}", part.row(-1, named=True))):
            rows.append({"benchmark": bench, "verifier": verifier, "model": model, "step": position[model],
                         "metric": metric, "value": row["pass_at_k"], "ci_low": row["ci_low"],
                         "ci_high": row["ci_high"]})
    table = pl.DataFrame(rows).sort("step")
    metrics = sorted(set(table["metric"]), key=lambda m: int(m.split("@")[1]))
    chart = steps.chart(table, metrics, ctx.benchmarks,
                        "training step" if has_steps else "checkpoint (in the comparison's order)")
    return finish(chart, ctx.title, [*ctx.subtitle("bootstrap CI over problems"),
                                     "the base model is drawn at step 0"])


BUILDERS: dict[str, Callable[[dict[str, Any], Inputs], alt.TopLevelMixin]] = {
    "passk": passk_figure,
    "difference": difference_figure,
    "coverage": coverage_figure,
    "histogram": histogram_figure,
    "perplexity": perplexity_figure,
    "steps": steps_figure,
}
