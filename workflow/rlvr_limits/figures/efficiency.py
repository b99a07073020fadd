"""pass@1 and pass@k_max of each compared model, and its sampling-efficiency gap ΔSE (paper Fig. 8, Table 2).

A pale bar (pass@1) and a solid bar (pass@k_max) per model, base model first. The dashed rule is the base
model's pass@k_max: the gap between it and a model's pale bar is that model's ΔSE, written above the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import polars as pl

from rlvr_limits.figures.panels import facet
from rlvr_limits.figures.style import PANEL_WIDTH, ModelStyle, color_scale

#: Tidy input: one row per benchmark × model × metric ("pass@1" or "pass@k_max"). `label_y` is where the
#: model's ΔSE text sits (above its bars, its error bars and the base rule); `annotation` is null for the base.
COLUMNS = ("benchmark", "verifier", "model", "metric", "value", "ci_low", "ci_high", "base_kmax", "delta_se",
           "annotation", "label_y")
METRICS = ("pass@1", "pass@k_max")

#: Room above the highest ΔSE text for its two lines, as a share of the y axis.
HEADROOM = 0.22
GROUP_WIDTH = 52  # pixels per model, enough for "ΔSE" over "0.358" at LABEL_SIZE
LABEL_SIZE = 11


def y_ticks(top: float) -> list[float]:
    """Axis values to the first step above the data (never above 1, never off the axis), so the headroom
    for the labels carries no tick of its own."""
    step = next(s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25) if top / s <= 6)
    values = [round(i * step, 2) for i in range(math.ceil(min(top, 1.0) / step - 1e-9) + 1)]
    return [v for v in values if v <= min(1.0, top * (1 + HEADROOM))]


def chart(data: pl.DataFrame, styles: Sequence[ModelStyle], benchmarks: Sequence[str]) -> alt.FacetChart:
    """Bars with bootstrap error bars, the base's pass@k_max as a dashed rule, ΔSE over each other model."""
    order = [s.label for s in styles]
    top = max(float(data["label_y"].max()), 0.05)  # an all-zero panel still gets an axis
    y_scale = alt.Scale(domain=[0, top * (1 + HEADROOM)], nice=False)
    y = alt.Y("value:Q", title="pass@k", scale=y_scale, axis=alt.Axis(values=y_ticks(top)))
    x = alt.X("model:N", title=None, sort=order, axis=alt.Axis(labelAngle=-30, labelLimit=140))
    offset = alt.XOffset("metric:N", sort=list(METRICS))
    bars = alt.Chart().mark_bar().encode(
        x=x, xOffset=offset, y=y,
        color=alt.Color("model:N", scale=color_scale(styles), sort=order, legend=None),
        opacity=alt.Opacity("metric:N", title="bars", sort=list(METRICS),
                            scale=alt.Scale(domain=list(METRICS), range=[0.45, 1.0])),
        tooltip=["model:N", "verifier:N", "metric:N", alt.Tooltip("value:Q", format=".3f"),
                 alt.Tooltip("ci_low:Q", format=".3f"), alt.Tooltip("ci_high:Q", format=".3f")])
    errors = alt.Chart().mark_rule(color="#333333", strokeWidth=1.4).encode(
        x=x, xOffset=offset, y=alt.Y("ci_low:Q", scale=y_scale, title="pass@k"), y2="ci_high:Q")
    base_rule = (alt.Chart().mark_rule(color=styles[0].color, strokeDash=[6, 3], strokeWidth=1.6)
                 .encode(y=alt.Y("value:Q", scale=y_scale),
                         tooltip=[alt.Tooltip("value:Q", title=f"{styles[0].label} pass@k_max", format=".3f")])
                 .transform_filter((alt.datum.model == styles[0].label) & (alt.datum.metric == "pass@k_max")))
    # "ΔSE 0.358" breaks into two lines; Vega sets the first line on the baseline, so lift it by one line
    labels = (alt.Chart().mark_text(baseline="bottom", dy=-(LABEL_SIZE + 5), fontSize=LABEL_SIZE, lineBreak=" ",
                                    color="#222222")
              .encode(x=x, y=alt.Y("label_y:Q", scale=y_scale), text="annotation:N",
                      tooltip=["model:N", alt.Tooltip("delta_se:Q", title="ΔSE", format=".3f")])
              .transform_filter(alt.expr.isValid(alt.datum.annotation) & (alt.datum.metric == "pass@1")))
    width = max(PANEL_WIDTH, GROUP_WIDTH * len(styles))
    return facet([bars, errors, base_rule, labels], data.select(COLUMNS), benchmarks, width=width)
