"""Mean per-token entropy of a model across sampling temperatures, against a reference (paper Fig. 16–17).

RL sharpens a model's distribution, so at the base model's temperature it explores less. The paper raises the
RL model's temperature until its output entropy matches the base model's; this figure shows where that
happens: the swept model's entropy curve, the reference entropy as a dashed rule in the reference model's
colour, and the matching temperature as a vertical rule (absent when the sweep does not reach the reference).
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import polars as pl

from rlvr_limits.figures.style import PANEL_HEIGHT, PANEL_WIDTH

#: Tidy input: one row per swept temperature, `model` holding the label of the model sampled at it.
COLUMNS = ("model", "temperature", "entropy")

WIDTH = PANEL_WIDTH + 100
HEIGHT = PANEL_HEIGHT + 40
MATCH_COLOR = "#333333"


@dataclass(frozen=True)
class EntropyCurve:
    """What the figure draws: the swept points, the reference entropy and the matching temperature."""

    points: pl.DataFrame  # COLUMNS, sorted by temperature
    color: str  # the swept models' role colour
    reference_label: str
    reference_temperature: float
    reference_entropy: float
    reference_color: str
    matching_temperature: float | None
    statement: str


def chart(curve: EntropyCurve) -> alt.LayerChart:
    """Line and points of the sweep, the dashed reference rule with its label, the matching-temperature rule."""
    temps = curve.points["temperature"].to_list()
    x = alt.X("temperature:Q", title="sampling temperature",
              scale=alt.Scale(zero=False, nice=False, padding=12), axis=alt.Axis(values=temps, format="~g"))
    y = alt.Y("entropy:Q", title="mean per-token entropy (nats)", scale=alt.Scale(zero=False, padding=16))
    sweep = alt.Chart(curve.points.select(COLUMNS)).encode(x=x, y=y)
    line = sweep.mark_line(color=curve.color, strokeWidth=2.2)
    points = sweep.mark_point(filled=True, size=50, color=curve.color, opacity=1).encode(
        tooltip=["model:N", alt.Tooltip("temperature:Q", format="~g"), alt.Tooltip("entropy:Q", format=".3f")])
    reference = alt.Chart(pl.DataFrame({"entropy": [curve.reference_entropy],
                                        "label": [reference_text(curve)]}))
    rule = reference.mark_rule(color=curve.reference_color, strokeDash=[6, 3], strokeWidth=1.8).encode(
        y="entropy:Q", tooltip=["label:N"])
    rule_label = reference.mark_text(align="left", baseline="bottom", dx=4, dy=-4, fontSize=12,
                                     color=curve.reference_color).encode(x=alt.value(0), y="entropy:Q",
                                                                         text="label:N")
    layers = [rule, line, points, rule_label]
    if curve.matching_temperature is not None:
        layers += match_layers(curve.matching_temperature, temps)
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT)


def reference_text(curve: EntropyCurve) -> str:
    return f"{curve.reference_label} at T = {curve.reference_temperature:g}: {curve.reference_entropy:.3f}"


def match_layers(temperature: float, temps: list[float]) -> list[alt.Chart]:
    """The vertical rule and its "T = 0.950" label, set on the side of the rule with more room."""
    mark = alt.Chart(pl.DataFrame({"temperature": [temperature], "label": [f"T = {temperature:.3f}"]}))
    rule = mark.mark_rule(color=MATCH_COLOR, strokeWidth=1.4).encode(x="temperature:Q", tooltip=["label:N"])
    right_half = temperature > (min(temps) + max(temps)) / 2
    text = mark.mark_text(align="right" if right_half else "left", baseline="top", dx=-5 if right_half else 5,
                          fontSize=12, fontWeight="bold", color=MATCH_COLOR).encode(
        x="temperature:Q", y=alt.value(4), text="label:N")
    return [rule, text]
