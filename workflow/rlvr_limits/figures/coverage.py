"""Coverage split (paper Table 2 as bars): problems solved by both, base only, other only, neither."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from rlvr_limits.analysis.coverage import SPLITS
from rlvr_limits.figures.panels import facet
from rlvr_limits.figures.style import SPLIT_COLORS

#: Tidy input: one row per benchmark × verifier × model × split.
COLUMNS = ("benchmark", "verifier", "model", "split", "order", "count", "fraction")

#: the share of a bar a segment needs for its count to be printed in it (about 24 px of a 300 px panel: 3 digits)
MIN_LABELLED_FRACTION = 0.08

SPLIT_TITLES = {"both": "both", "base_only": "base only", "other_only": "model only", "neither": "neither"}


def chart(data: pl.DataFrame, models: Sequence[str], benchmarks: Sequence[str]) -> alt.FacetChart:
    """One stacked bar per compared model (base vs that model); `models` are their labels, in order."""
    titles = [SPLIT_TITLES[s] for s in SPLITS]
    color = alt.Color("split:N", title="solved by", sort=titles,
                      scale=alt.Scale(domain=titles, range=[SPLIT_COLORS[s] for s in SPLITS]))
    bars = alt.Chart().mark_bar().encode(
        y=alt.Y("model:N", title="base vs", sort=list(models)),
        x=alt.X("count:Q", title="problems", stack="zero"),
        color=color, order=alt.Order("order:Q"),
        tooltip=["model:N", "split:N", "count:Q", alt.Tooltip("fraction:Q", format=".1%")])
    # a count is printed inside its segment only where it fits; the narrow ones are read from the tooltip and
    # the findings page (printed, "19" and "1" of adjacent segments ran into "191")
    labels = alt.Chart().mark_text(fontSize=11, dx=-4, align="right").encode(
        y=alt.Y("model:N", sort=list(models)), x=alt.X("count:Q", stack="zero"),
        order=alt.Order("order:Q"), detail="split:N", text="count:Q",
        color=alt.condition(alt.datum.split == SPLIT_TITLES["neither"], alt.value("#333"), alt.value("white")),
    ).transform_filter(alt.datum.fraction >= MIN_LABELLED_FRACTION)
    table = data.with_columns(pl.col("split").replace_strict(SPLIT_TITLES)).select(COLUMNS)
    return facet([bars, labels], table, benchmarks, height=max(40, 34 * len(models)))
