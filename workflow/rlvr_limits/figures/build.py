"""From the workflow's tables to tidy frames and finished charts, one builder per figure kind.

Each builder reads the files the figure rule names, checks them against their contracts, puts model labels
and benchmark names on the rows, and hands a tidy frame to the chart module. The subtitle states what the
reader needs to judge the figure: samples per problem, k_max, verifier and what the bands are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import altair as alt
import numpy as np
import polars as pl

from rlvr_limits.analysis.compare import DIFFERENCE_COLUMNS
from rlvr_limits.analysis.coverage import SPLITS
from rlvr_limits.analysis.efficiency import with_delta_se
from rlvr_limits.analysis.histogram import BIN_LABELS, histogram
from rlvr_limits.config import REFERENCE
from rlvr_limits.errors import UserError
from rlvr_limits.figures import coverage, difference, efficiency, entropy, passk_curves, perplexity, steps
from rlvr_limits.figures import histogram as histogram_chart
from rlvr_limits.figures.style import REFERENCE_STYLE, ModelStyle, finish, model_styles
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

    def subtitle(self, bands: str | None = None, drawn_as: str = "bands") -> list[str]:
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
            lines.append(f"{drawn_as}: {level}{bands}")
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
            frames.append(rows.with_columns(
                benchmark=pl.lit(bench), model=pl.lit(ctx.style(str(model), path).label),
                verifier=pl.lit(verifier)))
    data = pl.concat(frames)
    chart = difference.chart(data, ctx.present_styles(set(data["model"])), ctx.benchmarks)
    # the crossover statements, with their windows, are on the comparison's findings page: a subtitle line per
    # model and verifier made the figure wider than its plot
    return finish(chart, ctx.title, [*ctx.subtitle(difference.BANDS),
                                     "below 0: the base model is ahead; dashed: crossover k (findings page)"])


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
        scorer_style = ctx.style(scorer, path)
        generator_style = REFERENCE_STYLE if generator == REFERENCE else ctx.style(generator, path)
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


def _efficiency_verifier(ctx: Context, bench: str) -> str:
    """The spec's `verifier`, else the first one the benchmark lists: ΔSE compares one verdict per sample."""
    if ctx.verifier is not None:
        return ctx.verifier
    listed = ctx.spec["benchmarks"][bench].get("verifiers") if isinstance(ctx.spec["benchmarks"][bench],
                                                                          dict) else None
    if not isinstance(listed, list) or not listed or not isinstance(listed[0], str):
        raise UserError(f"figures --spec: benchmark {bench!r} lists no 'verifiers'; list them or set 'verifier'")
    return listed[0]


def _efficiency_k_max(ctx: Context, bench: str) -> int:
    info = ctx.spec["benchmarks"][bench]
    k_max = info.get("k_max") if isinstance(info, dict) else None
    if not isinstance(k_max, int) or isinstance(k_max, bool) or k_max < 1:
        raise UserError(f"figures --spec: benchmark {bench!r} needs a positive integer 'k_max' (got {k_max!r})")
    return k_max


def _pass_at(table: pl.DataFrame, k: int, verifier: str, path: str) -> dict[str, Any]:
    """The one row of `table` at `k`, its pass@k and interval checked to be fractions."""
    rows = table.filter(pl.col("k") == k)
    if rows.height != 1:
        found = f"{rows.height} rows" if rows.height else f"none (k values: {sorted(table['k'].to_list())})"
        raise UserError(f"{path}: expected one pass@{k} row for verifier {verifier!r}, found {found}")
    row = rows.row(0, named=True)
    values = [row["pass_at_k"], row["ci_low"], row["ci_high"]]
    if not all(v is not None and 0.0 <= v <= 1.0 for v in values):
        raise UserError(f"{path}: pass@{k} and its interval must be fractions in [0, 1] (got {values})")
    return row


def efficiency_table(spec: dict[str, Any], inputs: Inputs) -> pl.DataFrame:
    """The tidy frame of the efficiency figure: pass@1 and pass@k_max per benchmark and model (base first,
    then the spec's order), with ΔSE = base pass@k_max − model pass@1 and its text for every other model."""
    ctx = Context(spec)
    rows, summary = [], []
    for (model, bench), path in inputs.items():
        ctx.check_benchmark(bench, path)
        label = ctx.style(model, path).label
        verifier = _efficiency_verifier(ctx, bench)
        table = read_parquet(path, required=PASSK_COLUMNS)
        kept = table.filter(pl.col("verifier") == verifier)
        if kept.is_empty():
            raise UserError(f"{path}: no rows for verifier {verifier!r} (has {table['verifier'].unique().to_list()})")
        at_1 = _pass_at(kept, 1, verifier, path)
        at_k_max = _pass_at(kept, _efficiency_k_max(ctx, bench), verifier, path)
        summary.append({"model": model, "benchmark": bench, "pass_at_1": at_1["pass_at_k"],
                        "pass_at_kmax": at_k_max["pass_at_k"]})
        rows += [{"name": model, "benchmark": bench, "verifier": verifier, "model": label, "metric": metric,
                  "value": row["pass_at_k"], "ci_low": row["ci_low"], "ci_high": row["ci_high"]}
                 for metric, row in zip(efficiency.METRICS, (at_1, at_k_max), strict=True)]
    base = ctx.styles[0].name
    gaps = with_delta_se(pl.DataFrame(summary), base).select(
        name="model", benchmark="benchmark", delta_se="delta_se",
        base_kmax=pl.col("pass_at_kmax").filter(pl.col("model") == base).first().over("benchmark"))
    order = {s.name: i for i, s in enumerate(ctx.styles)}
    return (pl.DataFrame(rows).join(gaps, on=["name", "benchmark"], how="left")
            .with_columns(
                annotation=pl.col("delta_se").map_elements(lambda gap: f"ΔSE {gap:.3f}", return_dtype=pl.String),
                label_y=pl.max_horizontal(pl.col("ci_high").max().over("benchmark", "name"),
                                          pl.col("value").max().over("benchmark", "name"), "base_kmax"),
                bench_order=pl.col("benchmark").replace_strict({b: i for i, b in enumerate(ctx.benchmarks)}),
                model_order=pl.col("name").replace_strict(order))
            .sort("bench_order", "model_order", "metric")
            .select(efficiency.COLUMNS))


def efficiency_figure(spec: dict[str, Any], inputs: Inputs) -> alt.TopLevelMixin:
    ctx = Context(spec)
    data = efficiency_table(spec, inputs)
    base = ctx.styles[0].label
    verifiers = dict(data.select("benchmark", "verifier").unique(maintain_order=True).iter_rows())
    lines = ctx.subtitle("bootstrap CI over problems", drawn_as="error bars")
    if ctx.verifier is None:
        shown = set(verifiers.values())
        lines.append(f"verifier: {shown.pop()}" if len(shown) == 1 else
                     "verifiers: " + ", ".join(f"{b}: {v}" for b, v in verifiers.items()))
    chart = efficiency.chart(data, ctx.present_styles(set(data["model"])), ctx.benchmarks)
    return finish(chart, ctx.title, [*lines, f"pale bar: pass@1, solid bar: pass@k_max; dashed: {base} pass@k_max",
                                     f"ΔSE = {base} pass@k_max − model pass@1 (lower is better)"])


def _number(value: Any) -> float | None:
    """`value` as a finite float, or None when it is not a number (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        return None
    return float(value)


def _entropy_result(path: str) -> tuple[float, list[tuple[float, float]], float | None, str]:
    """Reference entropy, (temperature, entropy) points, matching temperature and statement of an entropy JSON."""
    result = read_json(path)
    keys = ("reference_entropy", "sweep", "matching_temperature", "statement")
    missing = [k for k in keys if not isinstance(result, dict) or k not in result]
    if missing:
        raise UserError(f"{path}: missing key(s) {missing}; not a result of the entropy stage")
    target = _number(result["reference_entropy"])
    if target is None:
        raise UserError(f"{path}: 'reference_entropy' must be a finite number (got {result['reference_entropy']!r})")
    sweep = result["sweep"]
    if not isinstance(sweep, list) or not sweep:
        raise UserError(f"{path}: 'sweep' must be a non-empty list of {{temperature, entropy}} objects")
    points = []
    for i, point in enumerate(sweep):
        values = [_number(point.get(k)) if isinstance(point, dict) else None for k in ("temperature", "entropy")]
        if None in values:
            raise UserError(f"{path}: sweep[{i}] must hold a numeric 'temperature' and 'entropy' (got {point!r})")
        points.append((values[0], values[1]))
    match = _number(result["matching_temperature"])
    if match is None and result["matching_temperature"] is not None:
        raise UserError(f"{path}: 'matching_temperature' must be a number or null "
                        f"(got {result['matching_temperature']!r})")
    if not isinstance(result["statement"], str):
        raise UserError(f"{path}: 'statement' must be a string")
    return target, sorted(points), match, result["statement"]


def _spec_temperature(style: ModelStyle, model: dict[str, Any]) -> float:
    temperature = _number(model.get("temperature"))
    if temperature is None or temperature < 0:
        raise UserError(f"figures --spec: model {style.name!r} needs its sampling 'temperature' (a number >= 0)")
    return temperature


def entropy_curve(spec: dict[str, Any], inputs: Inputs) -> entropy.EntropyCurve:
    """The entropy figure's data: the JSON's points labelled with the swept model sampled at each temperature
    (the spec's models after the first, the reference)."""
    ctx = Context(spec)
    if len(inputs) != 1:
        raise UserError(f"figures --inputs: the entropy figure draws one entropy-matching result, got {len(inputs)}")
    if len(ctx.styles) < 2:
        raise UserError("figures --spec: key 'models' must list the reference model, then the swept models")
    (path,) = inputs.values()
    target, points, match, statement = _entropy_result(path)
    reference, *swept = ctx.styles
    by_temperature = {_spec_temperature(s, m): s for s, m in zip(swept, spec["models"][1:], strict=True)}
    measured = [t for t, _ in points]
    if sorted(by_temperature) != measured:
        raise UserError(f"{path}: swept temperatures {measured} differ from those of the figure's models "
                        f"{sorted(by_temperature)}; rerun the entropy_matching rule")
    data = pl.DataFrame([{"model": by_temperature[t].label, "temperature": t, "entropy": h} for t, h in points],
                        schema={"model": pl.String, "temperature": pl.Float64, "entropy": pl.Float64})
    return entropy.EntropyCurve(
        points=data, color=swept[0].color, reference_label=reference.label,
        reference_temperature=_spec_temperature(reference, spec["models"][0]), reference_entropy=target,
        reference_color=reference.color, matching_temperature=match, statement=statement)


def entropy_figure(spec: dict[str, Any], inputs: Inputs) -> alt.TopLevelMixin:
    ctx = Context(spec)
    curve = entropy_curve(spec, inputs)
    lines = [f"{bench}: n = {info['n_samples']} samples per problem and temperature"
             for bench, info in spec["benchmarks"].items() if isinstance(info, dict) and "n_samples" in info]
    lines.append(f"line: {ctx.styles[1].label} at each swept temperature; dashed: {curve.reference_label} "
                 f"at T = {curve.reference_temperature:g}")
    if curve.matching_temperature is None:
        lines += ["the sweep does not bracket the reference entropy (no matching temperature):", curve.statement]
    else:
        lines.append(f"{curve.statement} (linear interpolation between swept temperatures)")
    return finish(entropy.chart(curve), ctx.title, lines)


BUILDERS: dict[str, Callable[[dict[str, Any], Inputs], alt.TopLevelMixin]] = {
    "passk": passk_figure,
    "difference": difference_figure,
    "coverage": coverage_figure,
    "histogram": histogram_figure,
    "perplexity": perplexity_figure,
    "steps": steps_figure,
    "efficiency": efficiency_figure,
    "entropy": entropy_figure,
}
