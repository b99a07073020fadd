"""Paired difference other − base against k, with its CI band and the crossover marked."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from rlvr_limits.figures.panels import facet
from rlvr_limits.figures.style import LINE_LEGEND, ModelStyle, color_scale, k_axis

#: Tidy input: one row per benchmark × verifier × model × k; `crossover` is true on the crossover k.
COLUMNS = ("benchmark", "verifier", "model", "k", "diff", "diff_ci_low", "diff_ci_high", "crossover")


def chart(data: pl.DataFrame, styles: Sequence[ModelStyle], benchmarks: Sequence[str]) -> alt.FacetChart:
    """Below zero the base model is ahead; the dashed rule marks where it first reaches the other model."""
    others = [s for s in styles if s.role != "base"]
    color = alt.Color("model:N", scale=color_scale(others), title="model − base",
                      sort=[s.label for s in others], legend=LINE_LEGEND)
    base = alt.Chart().encode(x=k_axis(data["k"].unique().to_list()), color=color)
    title = "Δ pass@k (model − base)"
    y = alt.Y("diff:Q", title=title)
    zero = (alt.Chart().mark_rule(color="#333333", strokeWidth=1).encode(y=alt.datum(0))
            .transform_aggregate(rows="count()"))  # one rule per panel, not one per data row
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("diff_ci_low:Q", title=title), y2="diff_ci_high:Q")
    line = base.mark_line(strokeWidth=2.2).encode(y=y)
    points = base.mark_point(filled=True, size=36).encode(
        y=y, tooltip=["model:N", "verifier:N", "k:Q", alt.Tooltip("diff:Q", format="+.3f"),
                      alt.Tooltip("diff_ci_low:Q", format="+.3f"),
                      alt.Tooltip("diff_ci_high:Q", format="+.3f")])
    cross = (base.mark_rule(strokeDash=[5, 3], strokeWidth=1.6)
             .encode(tooltip=["model:N", alt.Tooltip("k:Q", title="crossover k")])
             .transform_filter(alt.datum.crossover))
    return facet([zero, band, line, points, cross], data.select(COLUMNS), benchmarks)
