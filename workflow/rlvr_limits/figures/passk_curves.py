"""pass@k curves (paper Fig. 2, 7, 9–11): one panel per benchmark, one line per model, CI bands."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from rlvr_limits.figures.panels import facet
from rlvr_limits.figures.style import LINE_LEGEND, ModelStyle, color_scale, k_axis

#: Tidy input: one row per benchmark × verifier × model × k.
COLUMNS = ("benchmark", "verifier", "model", "k", "pass_at_k", "ci_low", "ci_high")


def chart(data: pl.DataFrame, styles: Sequence[ModelStyle], benchmarks: Sequence[str]) -> alt.FacetChart:
    """Curves with shaded intervals; `model` holds the models' labels."""
    color = alt.Color("model:N", scale=color_scale(styles), title="model",
                      sort=[s.label for s in styles], legend=LINE_LEGEND)
    base = alt.Chart().encode(x=k_axis(data["k"].unique().to_list()), color=color)
    y = alt.Y("pass_at_k:Q", title="pass@k (coverage)", scale=alt.Scale(zero=False))
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("ci_low:Q", title="pass@k (coverage)"),
                                               y2="ci_high:Q")
    line = base.mark_line(strokeWidth=2.2).encode(y=y)
    points = base.mark_point(filled=True, size=36).encode(
        y=y, tooltip=["model:N", "verifier:N", "k:Q", alt.Tooltip("pass_at_k:Q", format=".3f"),
                      alt.Tooltip("ci_low:Q", format=".3f"), alt.Tooltip("ci_high:Q", format=".3f")])
    return facet([band, line, points], data.select(COLUMNS), benchmarks)
