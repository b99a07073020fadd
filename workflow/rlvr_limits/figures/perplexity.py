"""Perplexity distributions PPL_scorer(Y_generator) (paper Fig. 6), one box per scorer/generator pair."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from rlvr_limits.figures.panels import facet

#: Tidy input: one row per scored response.
COLUMNS = ("benchmark", "pair", "generator", "perplexity")


def chart(data: pl.DataFrame, pairs: Sequence[str], colors: Sequence[str],
          benchmarks: Sequence[str]) -> alt.FacetChart:
    """`pairs` are the box labels in order; `colors` the colour of each (the generator's)."""
    color = alt.Color("pair:N", scale=alt.Scale(domain=list(pairs), range=list(colors)), title=None,
                      sort=list(pairs), legend=None)
    two_lines = "split(replace(datum.label, ' (Y ', '|(Y '), '|')"  # "PPL A" over "(Y B)"
    x = alt.X("pair:N", sort=list(pairs), title=None,
              axis=alt.Axis(labelAngle=0, labelLimit=200, labelExpr=two_lines))
    # log scale: reference solutions can sit an order of magnitude above sampled responses
    y = alt.Y("perplexity:Q", title="perplexity of the response (log scale)", scale=alt.Scale(type="log"))
    boxes = alt.Chart().mark_boxplot(extent=1.5, size=28, opacity=0.85).encode(x=x, y=y, color=color)
    dots = alt.Chart().mark_point(filled=True, size=12, opacity=0.3, color="#333333").encode(
        x=x, y=y, xOffset=alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-3, 3])),
        tooltip=["pair:N", "generator:N", alt.Tooltip("perplexity:Q", format=".3f")]
    ).transform_calculate(jitter="random() * 2 - 1")
    return facet([dots, boxes], data.select(COLUMNS), benchmarks, width=max(240, 150 * len(pairs)))
