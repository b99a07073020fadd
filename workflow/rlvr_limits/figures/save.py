"""Write one chart as `.svg`, `.png`, `.vl.json` and a self-contained `.html`.

The SVG goes into the Snakemake report, the PNG into slides and papers, the Vega-Lite JSON is the archival
spec (re-render it with any Vega tool), and the HTML carries the Vega JavaScript inline so it renders with no
network. The chart is rendered once to SVG and the PNG is rasterised from that SVG, so the two always agree.
Each file is written to a temporary name and renamed, so a failed render leaves no half-written figure.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import altair as alt
import vl_convert as vlc

from rlvr_limits.errors import UserError

FORMATS = (".svg", ".png", ".vl.json", ".html")


def figure_paths(svg: str | Path) -> dict[str, Path]:
    """The four output paths that sit beside `svg` (which must end in .svg)."""
    svg = Path(svg)
    if svg.suffix != ".svg":
        raise UserError(f"figure output {svg}: must end in .svg (the other formats are written beside it)")
    stem = svg.with_suffix("")
    return {fmt: stem.parent / (stem.name + fmt) for fmt in FORMATS}


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def save_chart(chart: alt.TopLevelMixin, svg: str | Path, png_scale: float = 2.0) -> dict[str, Path]:
    """Render `chart` to the four formats beside `svg`; returns the written paths."""
    paths = figure_paths(svg)
    spec = chart.to_dict()
    svg_text = vlc.vegalite_to_svg(spec)
    rendered = {
        ".svg": svg_text.encode(),
        ".png": vlc.svg_to_png(svg_text, scale=png_scale),
        ".vl.json": chart.to_json(indent=2).encode(),
        ".html": chart.to_html(inline=True).encode(),
    }
    for fmt, data in rendered.items():
        _write_atomic(paths[fmt], data)
    return paths
