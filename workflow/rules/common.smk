# Configuration view, input functions and wildcard constraints shared by all rules.

import dataclasses
import os
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

from rlvr_limits.config import REFERENCE, PerplexityJob, WorkflowConfig, spec_json
from rlvr_limits.errors import UserError

try:
    W = WorkflowConfig.load(config, workflow.basedir)
except UserError as exc:
    raise WorkflowError(f"invalid configuration: {exc}") from None

if W.missing_checkpoints:
    sys.stderr.write(f"rlvr-limits: {W.missing_message()}\n")

NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"


wildcard_constraints:
    model=NAME,
    bench=NAME,
    comparison=NAME,
    scorer=NAME,
    generator=NAME,
    name=NAME,
    shard=r"\d+",


def package_code(*subpackages):
    """The package's source files a rule depends on, so that editing them reruns exactly that rule."""
    root = Path(workflow.basedir) / "workflow" / "rlvr_limits"
    files = []
    for sub in subpackages:
        files += sorted((root / sub).rglob("*.py")) if (root / sub).is_dir() else [root / f"{sub}.py"]
    return [os.path.relpath(f) for f in files]


VERIFIER_CODE = {
    "math": ["verify/math"],
    "math-verify": ["verify/mathverify_backend"],
    "toy_strict": ["toy/strict"],
    "code": ["verify/code"],
}


def verifier_code(wildcards):
    """The verify stage plus the code of this benchmark's verifiers only."""
    parts = ["verify/stage", "verify/registry", "sampling/templates"]
    for verifier in W.benchmarks[wildcards.bench]["verifiers"]:
        parts += VERIFIER_CODE[verifier]
    return package_code(*parts)


def template_file(model):
    return os.path.relpath(W.template_path(W.models[model]["template"]))


def sample_shards(wildcards):
    return expand(
        "results/samples/{model}/{bench}/{shard}.parquet",
        model=wildcards.model,
        bench=wildcards.bench,
        shard=W.shards(wildcards.model, wildcards.bench),
    )


def generator_shards(wildcards):
    """The generator's sample shards; none for a benchmark's reference responses (read from its problems)."""
    if wildcards.generator == REFERENCE:
        return []
    return expand(
        "results/samples/{model}/{bench}/{shard}.parquet",
        model=wildcards.generator,
        bench=wildcards.bench,
        shard=W.shards(wildcards.generator, wildcards.bench),
    )


def passk_file(comparison, model, bench, suffix=""):
    """A model's pass@k table (suffix "") or counts (".counts") as a comparison sees them: with the problems
    its direct-answer model guesses dropped when the comparison has a guess filter."""
    if "guess_filter" in W.comparisons[comparison]:
        return f"results/unguessed/{comparison}/{model}/{bench}{suffix}.parquet"
    return f"results/passk/{model}/{bench}{suffix}.parquet"


def direct_counts(comparison, bench):
    """Counts of the direct-answer (no chain of thought) run of a comparison's guess filter."""
    direct = W.comparisons[comparison]["guess_filter"]["direct"]
    return f"results/passk/{direct}/{bench}.counts.parquet"


def comparison_counts(wildcards):
    comp = W.comparisons[wildcards.comparison]
    return {
        m: passk_file(wildcards.comparison, m, wildcards.bench, ".counts")
        for m in [comp["base"], *comp["models"]]
    }


def counts_args(wildcards, input):
    return " ".join(f"{m}={path}" for m, path in zip(comparison_counts(wildcards), input.counts))


def comparison_figures(comparison):
    kinds = ["passk", "difference", "coverage", "histogram"]
    if W.comparisons[comparison]["kind"] == "steps":
        kinds.append("steps")
    if W.comparisons[comparison]["kind"] in ("steps", "algorithms"):
        kinds.append("efficiency")
    if any(job.generator in W.comparisons[comparison]["models"] for job in W.perplexity_jobs()):
        kinds.append("perplexity")
    return [f"results/figures/{comparison}/{kind}.svg" for kind in kinds]


def entropy_sweep(name):
    """(temperature, shard path) of every shard of the swept models of one entropy-matching entry."""
    entry = W.entropy_matching[name]
    bench = entry["benchmark"]
    return [
        (W.sampling_for(model)["temperature"], f"results/samples/{model}/{bench}/{shard}.parquet")
        for model in entry["sweep"]
        for shard in W.shards(model, bench)
    ]


def all_targets():
    targets = ["results/provenance.json"]
    for model, bench in W.sampled_pairs():
        targets.append(f"results/passk/{model}/{bench}.parquet")
    for comparison, comp in W.comparisons.items():
        targets += comparison_figures(comparison)
        targets.append(f"results/tables/{comparison}.csv")
        if "guess_filter" in comp:
            targets += [f"results/unguessed/{comparison}/{bench}.guessed.csv" for bench in comp["benchmarks"]]
    for name in W.entropy_matching:
        targets += [f"results/entropy/{name}.json", f"results/entropy/{name}.svg"]
    return targets


def figure_inputs(kind):
    """Input function: the tables a figure of `kind` draws, keyed `model:bench` (or `bench`)."""

    def inputs(wildcards):
        comp = W.comparisons[wildcards.comparison]
        models = [comp["base"], *comp["models"]]
        files = {}
        for bench in comp["benchmarks"]:
            if kind in ("passk", "steps", "efficiency"):
                for m in models:
                    files[f"{m}:{bench}"] = passk_file(wildcards.comparison, m, bench)
            elif kind == "histogram":
                for m in models:
                    files[f"{m}:{bench}"] = passk_file(wildcards.comparison, m, bench, ".counts")
            elif kind == "difference":
                files[bench] = f"results/compare/{wildcards.comparison}/{bench}.parquet"
            elif kind == "coverage":
                files[bench] = f"results/compare/{wildcards.comparison}/{bench}.json"
            elif kind == "perplexity":
                for job in W.perplexity_jobs():
                    if job.benchmark == bench and job.scorer in models and job.generator in {*models, REFERENCE}:
                        files[f"{job.scorer}:{job.generator}:{bench}"] = (
                            f"results/perplexity/{job.scorer}/{job.generator}/{bench}.parquet"
                        )
        return files

    return inputs


def figure_args(kind):
    def args(wildcards, input):
        return " ".join(f"{key}={path}" for key, path in zip(figure_inputs(kind)(wildcards), input))

    return args


def figure_spec(kind):
    def spec(wildcards):
        comp = W.comparisons[wildcards.comparison]
        return spec_json(
            {
                "kind": kind,
                "comparison": wildcards.comparison,
                "title": comp.get("title", wildcards.comparison),
                "ci": W.raw["analysis"]["ci"],
                "models": W.figure_models(wildcards.comparison),
                "benchmarks": W.figure_benchmarks(comp["benchmarks"]),
            }
        )

    return spec


# The miniature's training settings (config['toy']); see workflow/rules/toy.smk.
TOY = config.get("toy") or {}
TOY_SEED = TOY.get("seed", config.get("seed", 1234))
TOY_RL_CHECKPOINTS = sorted((TOY.get("rl") or {}).get("checkpoints", [25, 50, 75]))


def toy_options(*sections):
    """Command-line options from config['toy'][section] for each section; lists become `a,b`, mappings
    `k=v,k=v`. `checkpoints` is passed by the RL rule itself because it also names that rule's outputs."""
    options = []
    for section in sections:
        for key, value in (TOY.get(section) or {}).items():
            if key == "checkpoints":
                continue
            if isinstance(value, dict):
                value = ",".join(f"{k}={v}" for k, v in value.items())
            elif isinstance(value, (list, tuple)):
                value = ",".join(str(v) for v in value)
            options.append(f"--{key.replace('_', '-')} {shlex.quote(str(value))}")
    return " ".join(options)
