"""Faceting shared by the charts: a column per benchmark, and a row per verifier when there are several."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from rlvr_limits.figures.style import PANEL_HEIGHT, PANEL_WIDTH


def facet(layers: Sequence[alt.Chart], data: pl.DataFrame, benchmarks: Sequence[str],
          width: int = PANEL_WIDTH, height: int = PANEL_HEIGHT) -> alt.FacetChart:
    """Lay `layers` over `data` in a grid of benchmark columns (and verifier rows if more than one)."""
    layered = alt.layer(*layers, data=data).properties(width=width, height=height)
    column = alt.Column("benchmark:N", title=None, sort=list(benchmarks),
                        header=alt.Header(labelFontWeight="bold"))
    if "verifier" in data.columns and data["verifier"].n_unique() > 1:
        # in the order the data lists them (the benchmark's verifiers), an imported source's own grades last
        order = sorted(data["verifier"].unique(maintain_order=True).to_list(), key=lambda v: v == "imported")
        return layered.facet(column=column, row=alt.Row("verifier:N", title="verifier", sort=order))
    return layered.facet(column=column)
