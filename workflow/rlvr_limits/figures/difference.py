"""Paired difference other − base against k, with its simultaneous band and the crossover marked."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from rlvr_limits.figures.panels import facet
from rlvr_limits.figures.style import LINE_LEGEND, ModelStyle, color_scale, k_axis

#: Tidy input: one row per benchmark × verifier × model × k; `crossover` is true on the crossover k.
COLUMNS = ("benchmark", "verifier", "model", "k", "diff", "diff_band_low", "diff_band_high", "diff_p_value",
           "diff_p_holm", "crossover")

#: What the bands are: each model × verifier × benchmark is one family over its whole k grid.
BANDS = "intervals simultaneous over the k grid of each model and verifier (Bonferroni)"


def chart(data: pl.DataFrame, styles: Sequence[ModelStyle], benchmarks: Sequence[str]) -> alt.FacetChart:
    """Below zero the base model is ahead; the dashed rule marks the crossover (base ahead from there on, with
    the difference at k_max established)."""
    others = [s for s in styles if s.role != "base"]
    color = alt.Color("model:N", scale=color_scale(others), title="model − base",
                      sort=[s.label for s in others], legend=LINE_LEGEND)
    base = alt.Chart().encode(x=k_axis(data["k"].unique().to_list()), color=color)
    title = "Δ pass@k (model − base)"
    y = alt.Y("diff:Q", title=title)
    zero = (alt.Chart().mark_rule(color="#333333", strokeWidth=1).encode(y=alt.datum(0))
            .transform_aggregate(rows="count()"))  # one rule per panel, not one per data row
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("diff_band_low:Q", title=title), y2="diff_band_high:Q")
    line = base.mark_line(strokeWidth=2.2).encode(y=y)
    points = base.mark_point(filled=True, size=36).encode(
        y=y, tooltip=["model:N", "verifier:N", "k:Q", alt.Tooltip("diff:Q", format="+.3f"),
                      alt.Tooltip("diff_band_low:Q", format="+.3f"),
                      alt.Tooltip("diff_band_high:Q", format="+.3f"),
                      alt.Tooltip("diff_p_value:Q", title="p", format=".2g"),
                      alt.Tooltip("diff_p_holm:Q", title="p (Holm over k)", format=".2g")])
    cross = (base.mark_rule(strokeDash=[5, 3], strokeWidth=1.6)
             .encode(tooltip=["model:N", alt.Tooltip("k:Q", title="crossover k")])
             .transform_filter(alt.datum.crossover))
    return facet([zero, band, line, points, cross], data.select(COLUMNS), benchmarks)
