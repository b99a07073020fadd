"""Report captions render for the demo config and a checkpoint comparison as valid RST stating n, k_max and
the models."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from docutils.core import publish_parts
from jinja2 import Environment, StrictUndefined

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "workflow" / "report"
CAPTIONS = ["passk", "difference", "coverage", "histogram", "perplexity", "steps", "table"]


def demo_config() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def steps_config() -> dict[str, Any]:
    config = copy.deepcopy(demo_config())
    config["models"]["ckpt_a"] = {**config["models"]["toy_rl"], "step": 50}
    config["models"]["ckpt_b"] = {**config["models"]["toy_rl"], "step": 100}
    config["comparisons"]["training"] = {"kind": "steps", "base": "toy_base", "models": ["ckpt_a", "ckpt_b"],
                                         "benchmarks": list(config["benchmarks"])}
    return config


def render(name: str, config: dict[str, Any], comparison: str | None = None) -> str:
    """Render like `snakemake --report` does (trim_blocks, lstrip_blocks), but failing on undefined names."""
    env = Environment(trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    snakemake = SimpleNamespace(config=config, wildcards=SimpleNamespace(comparison=comparison))
    text = env.from_string((REPORT / f"{name}.rst").read_text()).render(snakemake=snakemake)
    publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 2})
    return text


@pytest.mark.parametrize("name", CAPTIONS)
def test_captions_state_n_k_max_and_models(name: str) -> None:
    config = demo_config()
    bench = next(iter(config["benchmarks"]))
    for comparison, comp in config["comparisons"].items():
        text = render(name, config, comparison)
        assert comparison in text and comp["base"] in text
        assert f"n = {config['benchmarks'][bench]['n_samples']}" in text
        if name in ("passk", "difference", "steps", "table"):
            assert f"k_max = {config['benchmarks'][bench]['k_max']}" in text


def test_steps_caption_lists_the_checkpoints() -> None:
    text = render("steps", steps_config(), "training")
    assert "``ckpt_a`` (step 50), ``ckpt_b`` (step 100)" in text


def test_front_page() -> None:
    config = demo_config()
    text = render("workflow", config)
    for model in config["models"]:
        assert f"**{model}**" in text
    assert "How to read the figures" in text
