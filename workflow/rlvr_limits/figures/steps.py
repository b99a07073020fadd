"""pass@1 and pass@k_max across training checkpoints (paper Fig. 1 right, Table 3)."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from rlvr_limits.figures.panels import facet
from rlvr_limits.figures.style import LINE_LEGEND

#: Tidy input: one row per benchmark × verifier × checkpoint × metric.
COLUMNS = ("benchmark", "verifier", "model", "step", "metric", "value", "ci_low", "ci_high")

METRIC_COLORS = ("#D55E00", "#5E3C99")  # pass@1 rises with training; pass@k_max is what the paper watches


def chart(data: pl.DataFrame, metrics: Sequence[str], benchmarks: Sequence[str],
          step_title: str) -> alt.FacetChart:
    """One line per metric against the training step; the base model sits at step 0."""
    color = alt.Color("metric:N", title=None, sort=list(metrics), legend=LINE_LEGEND,
                      scale=alt.Scale(domain=list(metrics), range=list(METRIC_COLORS)))
    base = alt.Chart().encode(x=alt.X("step:Q", title=step_title), color=color)
    y = alt.Y("value:Q", title="pass@k", scale=alt.Scale(zero=False))
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("ci_low:Q", title="pass@k"), y2="ci_high:Q")
    line = base.mark_line(strokeWidth=2.2).encode(y=y)
    points = base.mark_point(filled=True, size=40).encode(
        y=y, tooltip=["model:N", "step:Q", "metric:N", alt.Tooltip("value:Q", format=".3f"),
                      alt.Tooltip("ci_low:Q", format=".3f"), alt.Tooltip("ci_high:Q", format=".3f")])
    return facet([band, line, points], data.select(COLUMNS), benchmarks)
