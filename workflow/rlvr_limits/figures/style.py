"""The house style of every figure: one colour family per model role, a log2 k axis, readable type.

A reader should recognise the base model in every figure by its colour without reading the legend, so
colours follow the model's role (base, rl, distill, instruct, other) rather than its position in a list.
Several models of one role (checkpoints, algorithms) get successive shades of that role's hue, in the
order the comparison lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt

#: Shades per role, strongest first (Okabe–Ito hues, safe for colour-blind readers).
ROLE_PALETTES: dict[str, tuple[str, ...]] = {
    "base": ("#0072B2", "#56B4E9", "#004C7A"),
    "rl": ("#D55E00", "#E69F00", "#A33F00", "#F4A582", "#7A2E00", "#FDB863"),
    "distill": ("#009E73", "#66C2A5", "#00664A"),
    "instruct": ("#CC79A7", "#8E4A77", "#E7B3D1"),
    "other": ("#555555", "#999999", "#222222"),
}

#: Colours of the four-way coverage split (both, base only, other only, neither).
SPLIT_COLORS = {"both": "#8C8C8C", "base_only": ROLE_PALETTES["base"][0],
                "other_only": ROLE_PALETTES["rl"][0], "neither": "#E0E0E0"}

PANEL_WIDTH = 300
PANEL_HEIGHT = 220
FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"


@dataclass(frozen=True)
class ModelStyle:
    """How one model appears in figures."""

    name: str
    role: str
    label: str
    color: str
    step: int | None = None


#: A benchmark's reference responses (the paper's Y_GT) in the perplexity figure: not a model, drawn in black.
REFERENCE_STYLE = ModelStyle(name="reference", role="reference", label="reference solutions", color="#222222")


def model_styles(models: Sequence[dict[str, Any]]) -> list[ModelStyle]:
    """Colour each model by role; the n-th model of a role gets the role's n-th shade."""
    used: dict[str, int] = {}
    styles = []
    for model in models:
        role = model.get("role") or "other"
        palette = ROLE_PALETTES.get(role, ROLE_PALETTES["other"])
        shade = used.get(role, 0)
        used[role] = shade + 1
        styles.append(ModelStyle(name=model["name"], role=role, label=model.get("label") or model["name"],
                                 color=palette[shade % len(palette)], step=model.get("step")))
    return styles


def color_scale(styles: Sequence[ModelStyle]) -> alt.Scale:
    """A nominal scale on model labels, in the comparison's order, with the role colours."""
    return alt.Scale(domain=[s.label for s in styles], range=[s.color for s in styles])


#: Legends of line charts show a solid line, not the pale CI band that is drawn first.
LINE_LEGEND = alt.Legend(symbolType="stroke", symbolStrokeWidth=3, symbolOpacity=1)


def k_axis(ks: Sequence[int], title: str = "k (samples drawn, log₂ scale)") -> alt.X:
    """The paper's x axis: k on a log2 scale with a tick at every grid value."""
    ks = sorted(set(ks))
    return alt.X("k:Q", title=title,
                 scale=alt.Scale(type="log", base=2, domain=[ks[0], ks[-1]], nice=False),
                 axis=alt.Axis(values=ks, format="d", grid=True))


def finish(chart: alt.TopLevelMixin, title: str, subtitle: Sequence[str] = ()) -> alt.TopLevelMixin:
    """Title, fonts and sizes shared by every figure."""
    return (chart.properties(title=alt.TitleParams(title, subtitle=list(subtitle), anchor="start"))
            .configure(font=FONT)
            .configure_view(stroke="#BBBBBB")
            .configure_axis(labelFontSize=12, titleFontSize=13, gridColor="#EEEEEE")
            .configure_header(labelFontSize=13, titleFontSize=13)
            .configure_legend(labelFontSize=12, titleFontSize=13, orient="right", labelLimit=260)
            .configure_title(fontSize=16, subtitleFontSize=12, subtitleColor="#444444"))
