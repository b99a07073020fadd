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

from rlvr_limits.config import WorkflowConfig

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "workflow" / "report"
CAPTIONS = ["passk", "difference", "coverage", "histogram", "perplexity", "steps", "efficiency", "table"]


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
        if name in ("passk", "difference", "steps", "efficiency", "table"):
            assert f"k_max = {config['benchmarks'][bench]['k_max']}" in text


def test_steps_caption_lists_the_checkpoints() -> None:
    text = render("steps", steps_config(), "training")
    assert "``ckpt_a`` (step 50), ``ckpt_b`` (step 100)" in text


def test_efficiency_caption_names_models_verifier_and_delta_se() -> None:
    config = steps_config()
    text = render("efficiency", config, "training")
    bench = next(iter(config["benchmarks"]))
    assert "``toy_base`` and of\n``ckpt_a``, ``ckpt_b``, in that order" in text
    assert f"verifier: {config['benchmarks'][bench]['verifiers'][0]}." in text
    assert "ΔSE = base pass@k_max − model pass@1" in text and "Lower is better" in text


def test_front_page() -> None:
    config = demo_config()
    text = render("workflow", config)
    for model in config["models"]:
        assert f"**{model}**" in text
    assert "How to read the figures" in text


def paper_config() -> dict[str, Any]:
    """The paper config as the report sees it: validated, defaults filled in."""
    config = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    WorkflowConfig.load(config, ROOT)
    return config


def test_guess_filter_is_stated_in_the_captions_of_a_filtered_comparison() -> None:
    config = paper_config()
    for name in ("passk", "difference", "coverage", "histogram", "table"):
        assert "without chain of thought" in render(name, config, "simplerl_7b_unguessed")
        assert "without chain of thought" not in render(name, config, "simplerl_7b")
    env = Environment(trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    snakemake = SimpleNamespace(config=config, wildcards=SimpleNamespace(comparison="simplerl_7b_unguessed",
                                                                         bench="aime24"))
    text = env.from_string((REPORT / "guessed.rst").read_text()).render(snakemake=snakemake)
    publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 2})
    assert "``qwen25_7b_direct``" in text and "n = 1024" in text and "below\n0.05" in text


def test_entropy_caption_names_models_temperatures_and_benchmark() -> None:
    config = paper_config()
    env = Environment(trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    snakemake = SimpleNamespace(config=config, wildcards=SimpleNamespace(name="simplerl_7b_math500"))
    text = env.from_string((REPORT / "entropy.rst").read_text()).render(snakemake=snakemake)
    publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 2})
    assert "*simplerl_7b_math500*" in text
    assert ("``simplerl_zoo_7b`` (T = 0.6), ``simplerl_zoo_7b_t085`` (T = 0.85), ``simplerl_zoo_7b_t09`` (T = 0.9),"
            " ``simplerl_zoo_7b_t10`` (T = 1.0), ``simplerl_zoo_7b_t12`` (T = 1.2), ``simplerl_zoo_7b_t15`` (T = 1.5)"
            ) in text
    assert "reference model ``qwen25_7b`` at T = 0.6" in text
    assert f"**math500**: n = {config['benchmarks']['math500']['n_samples']} samples per problem" in text
    assert "matching temperature" in text
