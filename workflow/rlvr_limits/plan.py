"""`python -m rlvr_limits plan` (`snakemake plan`): what a configuration will run and cost, before it runs.

Prints the jobs per rule (counted from the configuration the way the rules expand it; sampling jobs are the
blocks still to draw), the samples and tokens to generate per draw (model x benchmark: the samples the sample
store does not hold yet x the expected response length of the model's template family, capped at max_tokens)
beside the samples already drawn, and the GPU-hours of sampling still to spend per model from a calibration table
(`resources/calibration.yaml`: generation throughput by model size and card, response lengths by family,
each default with its source). It reads only the configuration, the benchmark manifest, that table and the names
of the sample blocks on disk: no downloads, no model files, a second on a laptop. Replace the defaults with your
own measurements: a block's tokens are in the `.json` beside it under results/samples/ and its wall time in
results/benchmarks/sample/.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rlvr_limits.config import WorkflowConfig
from rlvr_limits.errors import UserError
from rlvr_limits.progress import LOG

#: Figure rule of each figure kind (workflow/rules/figures.smk).
FIGURE_RULES = {"passk": "passk_curves", "difference": "passk_difference", "coverage": "coverage_split",
                "histogram": "accuracy_histogram", "perplexity": "perplexity_distribution",
                "steps": "training_steps", "efficiency": "sampling_efficiency"}
_SIZE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)B(?![a-z])", re.I)


@dataclass(frozen=True)
class Calibration:
    card: str
    throughput: dict[float, tuple[float, str]]  # model size (B) -> (tokens/s of one sampling job, source)
    response_tokens: dict[str, tuple[int, str]]  # template -> (mean response tokens, source)


def load_calibration(path: str | Path, card: str | None = None) -> Calibration:
    """Read the calibration table; `card` overrides its default card."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read the calibration table ({exc})") from None
    if not isinstance(raw, dict) or not {"card", "throughput", "response_tokens"} <= set(raw):
        raise UserError(f"{path}: needs the keys card, throughput and response_tokens")
    card = card or raw["card"]
    cards = raw["throughput"]
    if not isinstance(cards, dict) or card not in cards:
        raise UserError(f"{path}: no throughput for card {card!r} (known: {', '.join(map(str, cards or {}))})")

    def entries(table: Any, key: str, field: str) -> dict[Any, tuple[Any, str]]:
        if not isinstance(table, dict) or not table:
            raise UserError(f"{path}: {key} must be a non-empty mapping")
        out = {}
        for name, entry in table.items():
            if not (isinstance(entry, dict) and isinstance(entry.get(field), int | float) and entry[field] > 0
                    and isinstance(entry.get("source"), str) and entry["source"].strip()):
                raise UserError(f"{path}: {key}.{name} must be {{{field}: a number > 0, source: text}}")
            out[name] = (entry[field], entry["source"])
        return out

    throughput = {float(size): value for size, value in entries(cards[card], f"throughput.{card}",
                                                                 "tokens_per_s").items()}
    return Calibration(card, throughput, entries(raw["response_tokens"], "response_tokens", "tokens"))


def model_size(model: dict[str, Any]) -> float | None:
    """Parameters in billions: the model's `size_b`, else the size its hub id names (Qwen2.5-7B -> 7)."""
    if "size_b" in model:
        return float(model["size_b"])
    found = _SIZE.findall(model.get("hf_id", "").rsplit("/", 1)[-1])
    return float(found[-1]) if found else None


def job_counts(w: WorkflowConfig) -> dict[str, int]:
    """Jobs per rule as the rules expand the configuration (toy rules excepted): sampling jobs are the blocks the
    sample store does not hold yet, the other rules are counted for a run from scratch."""
    pairs = w.sampled_pairs()
    drawn = w.drawn_pairs()
    jobs: Counter[str] = Counter()
    jobs["problems"] = len({b for _, b in pairs} | {w.dataset(b) for _, b in pairs})
    jobs["model"] = len({m for m, _ in drawn})
    jobs["check"] = 1 if drawn else 0
    jobs["sample"] = sum(len(w.sample_plan(model, benches[0]).new) for model, benches in w.draws().values())
    jobs["import_samples"] = len({w.sample_blocks(m, b)[0] for m, b in pairs if w.imported(m)})
    jobs["agreement"] = sum(1 for m, _ in pairs if w.graded_import(m))
    jobs["verify"] = jobs["passk"] = len(pairs)
    perplexity = w.perplexity_jobs()
    jobs["perplexity"] = len(perplexity)
    compared: set[tuple[str, str]] = set()
    for name, comp in w.comparisons.items():
        benches = comp["benchmarks"]
        compared |= {(name, b) for b in benches}
        if "guess_filter" in comp:
            jobs["passk_unguessed"] += len(benches) * (1 + len(comp["models"]))
            jobs["guessed_problems"] += len(benches)
        kinds = ["passk", "difference", "coverage", "histogram"]
        kinds += ["steps"] if comp["kind"] == "steps" else []
        kinds += ["efficiency"] if comp["kind"] in ("steps", "algorithms") else []
        kinds += ["perplexity"] if any(j.generator in comp["models"] for j in perplexity) else []
        for kind in kinds:
            jobs[FIGURE_RULES[kind]] += 1
        jobs["summary_table"] += 1
    jobs["compare"] = jobs["explorer"] = len(compared)
    jobs["entropy_matching"] = jobs["entropy_matching_curve"] = len(w.entropy_matching)
    jobs["provenance"] = jobs["all"] = 1
    return {rule: n for rule, n in jobs.items() if n}


@dataclass(frozen=True)
class Generation:
    """One draw's sampling: the samples (requests) to draw and the tokens they generate, beside those drawn."""

    model: str
    benchmark: str
    prompts: int
    drawn: int
    response_tokens: int
    tokens: int


def generations(w: WorkflowConfig, calibration: Calibration) -> list[Generation]:
    """Samples to draw and tokens to generate per draw (a model on a benchmark, or on several that read one
    dataset), with the samples the store holds already."""
    out = []
    for model, benches in w.draws().values():
        template = w.models[model]["template"]
        expected = calibration.response_tokens.get(template, calibration.response_tokens.get("default"))
        if expected is None:
            raise UserError(f"the calibration table has no response_tokens for template {template!r} and no "
                            "'default' entry")
        length = min(int(expected[0]), w.max_tokens(model, benches[0]))
        plan = w.sample_plan(model, benches[0])
        regions = [w.sample_region(b) for b in benches]
        prompts = plan.samples(plan.new, regions)
        out.append(Generation(model, "+".join(benches), prompts, plan.samples(plan.reused, regions), length,
                              prompts * length))
    return out


def gpu_hours(w: WorkflowConfig, model: str, tokens: int, calibration: Calibration) -> tuple[float | None, str]:
    """(GPU-hours of sampling `tokens` with `model`, how they were estimated); None for CPU or unknown size."""
    m = w.models[model]
    if m["engine"] == "hf":
        return None, "hf engine (CPU)"
    if m["engine"] == "server":
        return None, "engine server (the servers' GPUs, not the run's)"
    size = model_size(m)
    if size is None:
        return None, "size unknown: give the model a size_b"
    nearest = min(calibration.throughput, key=lambda s: (abs(math.log(s / size)), s))
    rate, _ = calibration.throughput[nearest]
    hours = tokens / rate / 3600 * m["tensor_parallel"]
    return hours, f"{size:g}B at {rate:g} tok/s ({nearest:g}B row) x {m['tensor_parallel']} GPU"


def render_plan(w: WorkflowConfig, calibration: Calibration) -> str:
    """The plan as text: jobs, generation per pair, GPU-hours per model, the total."""
    lines = ["Jobs per rule (sample: the blocks still to draw; the others: a run from scratch):"]
    jobs = job_counts(w)
    lines += [f"  {rule:<26}{n:>8}" for rule, n in sorted(jobs.items())]
    lines += [f"  {'total':<26}{sum(jobs.values()):>8}", ""]
    if "toy" in w.raw:
        lines += ["  (the miniature's toy_* training jobs are not counted here)", ""]
    gens = generations(w, calibration)
    lines.append("Samples per model x benchmark: still to draw, already drawn, and the tokens to generate (response "
                 "lengths: resources/calibration.yaml):")
    lines.append(f"  {'model':<28}{'benchmark':<24}{'to draw':>10}{'drawn':>10}{'resp.tok':>10}{'tokens':>16}")
    for g in gens:
        lines.append(f"  {g.model:<28}{g.benchmark:<24}{g.prompts:>10,}{g.drawn:>10,}{g.response_tokens:>10,}"
                     f"{g.tokens:>16,}")
    imported = sorted({m for m, _ in w.sampled_pairs() if w.imported(m)})
    if imported:
        lines.append(f"  imported from files, nothing to generate: {', '.join(imported)}")
    lines.append("")
    lines.append(f"GPU-hours of sampling still to spend per model ({calibration.card}; throughput: "
                 "resources/calibration.yaml):")
    per_model: dict[str, int] = {}
    for g in gens:
        per_model[g.model] = per_model.get(g.model, 0) + g.tokens
    total = 0.0
    for model, tokens in per_model.items():
        hours, how = gpu_hours(w, model, tokens, calibration)
        total += hours or 0.0
        shown = f"{hours:>10.1f}" if hours is not None else f"{'-':>10}"
        lines.append(f"  {model:<28}{tokens:>16,} tokens{shown} GPU-h   {how}")
    lines.append("")
    if w.missing_checkpoints:
        lines.append("Left out (user-supplied checkpoints missing): " + "; ".join(
            f"{c} needs {', '.join(ms)}" for c, ms in w.skipped_comparisons.items()))
        lines.append("")
    drawn = sum(g.drawn for g in gens)
    lines.append(f"Total: {sum(jobs.values()):,} jobs, {sum(g.tokens for g in gens):,} tokens to generate, "
                 f"{total:,.0f} GPU-hours of sampling on {calibration.card} (perplexity scoring not included)"
                 + (f"; {drawn:,} samples already drawn are reused" if drawn else ""))
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config-json", required=True, help="the run's configuration as a JSON object")
    parser.add_argument("--root", required=True, help="the workflow's folder (schemas, manifest, prompts)")
    parser.add_argument("--calibration", help="calibration table (default: <root>/resources/calibration.yaml)")
    parser.add_argument("--card", help="the card of the calibration table to use (default: its `card`)")


def run(args: argparse.Namespace) -> int:
    try:
        config = json.loads(args.config_json)
    except json.JSONDecodeError as exc:
        raise UserError(f"plan --config-json: invalid JSON ({exc.msg})") from None
    w = WorkflowConfig.load(config, args.root)
    calibration = load_calibration(args.calibration or Path(args.root) / "resources" / "calibration.yaml",
                                   args.card)
    print(render_plan(w, calibration))
    LOG.info("planned %d (model, benchmark) pairs with %s", len(w.sampled_pairs()), calibration.card)
    return 0
