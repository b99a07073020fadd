"""Per-problem accuracy histograms with the paper's 12 bins (Fig. 5, 13), models side by side."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from rlvr_limits.analysis.histogram import BIN_LABELS
from rlvr_limits.figures.panels import facet
from rlvr_limits.figures.style import ModelStyle, color_scale

#: Tidy input: one row per benchmark × verifier × model × bin.
COLUMNS = ("benchmark", "verifier", "model", "bin", "count", "fraction")


def chart(data: pl.DataFrame, styles: Sequence[ModelStyle], benchmarks: Sequence[str]) -> alt.FacetChart:
    """Grouped bars: x = accuracy bin, one bar per model, height = number of problems."""
    labels = [s.label for s in styles]
    bars = alt.Chart().mark_bar().encode(
        x=alt.X("bin:N", sort=list(BIN_LABELS), title="per-problem accuracy (correct / samples)",
                axis=alt.Axis(labelAngle=-45)),
        xOffset=alt.XOffset("model:N", sort=labels),
        y=alt.Y("count:Q", title="problems"),
        color=alt.Color("model:N", scale=color_scale(styles), title="model", sort=labels),
        tooltip=["model:N", "bin:N", "count:Q", alt.Tooltip("fraction:Q", format=".1%")])
    return facet([bars], data.select(COLUMNS), benchmarks, width=380)
