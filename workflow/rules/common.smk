# Configuration view, input functions and wildcard constraints shared by all rules.

import ast
import dataclasses
import functools
import hashlib
import os
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

from rlvr_limits.config import REFERENCE, PerplexityJob, WorkflowConfig, spec_json
from rlvr_limits.errors import UserError
from rlvr_limits.sampling import store

try:
    W = WorkflowConfig.load(config, workflow.basedir)
except UserError as exc:
    raise WorkflowError(f"invalid configuration: {exc}") from None

if W.missing_checkpoints:
    sys.stderr.write(f"rlvr-limits: {W.missing_message()}\n")
for note in W.imported_notes():
    sys.stderr.write(f"rlvr-limits: {note}\n")
try:
    for note in W.sampling_notes():
        sys.stderr.write(f"rlvr-limits: {note}\n")
except UserError as exc:
    raise WorkflowError(f"sample store: {exc}") from None

NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"


wildcard_constraints:
    model=NAME,
    bench=NAME,
    comparison=NAME,
    scorer=NAME,
    generator=NAME,
    name=NAME,
    dataset=NAME,
    draw=store.DRAW_PATTERN,
    block=store.BLOCK_PATTERN,


# Rerun triggers. Snakemake reruns a job whose inputs are newer than its outputs. Source files are therefore not
# inputs (a `git pull`, a touch or a fresh clone would make every result stale); rules take *stamps* instead,
# results/stamps/<name>/<digest>.txt, named by the digest of what the files mean and written once, when that
# digest first appears. A change makes a new, newer stamp (the rule reruns); going back to earlier content names
# an existing stamp again (Snakemake sees the changed input set and reruns); an archive carries the stamps, so a
# fresh clone of the same commit reruns nothing. Python code is digested as its syntax tree: comments and
# formatting never rerun anything. See config/README.md.
STAMPS = "results/stamps"


def _digest(path):
    """Digest of one file's meaning; computed once per file version (a DAG asks for the same file per job)."""
    stat = path.stat()
    return _digest_version(path, stat.st_mtime_ns, stat.st_size)


@functools.cache
def _digest_version(path, mtime_ns, size):
    data = path.read_bytes()
    if path.suffix == ".py":
        try:
            data = ast.dump(ast.parse(data, filename=str(path))).encode()
        except (SyntaxError, ValueError):
            pass
    return hashlib.sha256(data).hexdigest()


def content_stamp(name, files, extra=()):
    """Path of the stamp `name` for the content of `files` (and the `extra` lines); written if it is new."""
    lines = [*extra]
    for file in files:
        if not file.is_file():
            raise WorkflowError(f"{os.path.relpath(file)} is missing (needed by the stamp {name})")
        lines.append(f"{_digest(file)}  {os.path.relpath(file, workflow.basedir)}")
    text = "".join(f"{line}\n" for line in lines)
    folder = Path(STAMPS) / name
    path = folder / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.txt"
    if not path.is_file():
        earlier = sorted(folder.glob("*.txt"), key=lambda stamp: stamp.stat().st_mtime)
        if earlier:
            changed = sorted(set(text.splitlines()) - set(earlier[-1].read_text().splitlines()))
            print(
                f"{name} changed since {earlier[-1]} ({'; '.join(changed)[:400]}): the jobs that take it rerun",
                file=sys.stderr,
            )
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{path.name}.{os.getpid()}"
        partial.write_text(text)
        partial.replace(path)
    return str(path)


def code_stamp(name, *subpackages):
    """The stamp of the package's source files that a rule's stage runs (subpackages or modules)."""
    root = Path(workflow.basedir) / "workflow" / "rlvr_limits"
    files = []
    for sub in subpackages:
        files += sorted((root / sub).rglob("*.py")) if (root / sub).is_dir() else [root / f"{sub}.py"]
    return content_stamp(f"code-{name}", files)


def sampling_behaviour_stamp():
    """The stamp of store.SAMPLING_BEHAVIOUR, for jobs that sample as sampling jobs do (the miniature's RL)."""
    return content_stamp("sampling-behaviour", [], [f"sampling behaviour {store.SAMPLING_BEHAVIOUR}"])


VERIFIER_CODE = {
    "math": ["verify/math"],
    "math-verify": ["verify/mathverify_backend"],
    "toy_strict": ["toy/strict"],
    "code": ["verify/code"],
}


def verifier_code(wildcards):
    """Stamps of the verify stage and of this benchmark's verifiers only."""
    stamps = [code_stamp("verify", "verify/stage", "verify/registry", "sampling/templates")]
    for verifier in W.benchmarks[wildcards.bench]["verifiers"]:
        stamps.append(code_stamp(f"verifier-{verifier}", *VERIFIER_CODE[verifier]))
    return stamps


def template_file(model):
    """The model's prompt template, as an input whose time stamp is ignored (`template_stamp` tracks it); none
    for imported samples given without one."""
    if "template" not in W.models[model]:
        return []
    return ancient(os.path.relpath(W.template_path(W.models[model]["template"])))


def template_stamp(model):
    if "template" not in W.models[model]:
        return []
    template = W.models[model]["template"]
    return content_stamp(f"template-{template}", [W.template_path(template)])


def sample_blocks(wildcards):
    """The blocks holding (model, bench)'s samples: reused where drawn, planned where missing (sampling/store.py)."""
    return W.sample_blocks(wildcards.model, wildcards.bench)


def generator_blocks(wildcards):
    """The generator's sample blocks; none for a benchmark's reference responses (read from its problems)."""
    if wildcards.generator == REFERENCE:
        return []
    return W.sample_blocks(wildcards.generator, wildcards.bench)


def engine_settings(wildcards, resources):
    """The sample job's engine settings (max_model_len, gpu_memory_utilization): they change speed or memory,
    never a sample. A params function that takes `resources` is one Snakemake counts as derived and leaves out
    of its rerun triggers, so a changed setting never redraws a finished block."""
    return spec_json(W.engine_settings(wildcards.model))


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
    return {m: passk_file(wildcards.comparison, m, wildcards.bench, ".counts") for m in [comp["base"], *comp["models"]]}


def explorer_models(wildcards):
    """The base and the compared models of a comparison."""
    comp = W.comparisons[wildcards.comparison]
    return [comp["base"], *comp["models"]]


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
    """(temperature, block path) of every sample block of the swept models of one entropy-matching entry."""
    entry = W.entropy_matching[name]
    bench = entry["benchmark"]
    return [
        (W.sampling_for(model)["temperature"], block)
        for model in entry["sweep"]
        for block in W.sample_blocks(model, bench)
    ]


def all_targets():
    targets = ["results/provenance.json"]
    for model, bench in W.sampled_pairs():
        targets.append(f"results/passk/{model}/{bench}.parquet")
        if W.graded_import(model):
            targets += [
                f"results/agreement/{model}/{bench}.csv",
                f"results/agreement/{model}/{bench}.disagreements.csv",
            ]
    for comparison, comp in W.comparisons.items():
        targets += comparison_figures(comparison)
        targets.append(f"results/tables/{comparison}.csv")
        targets += [f"results/explorer/{comparison}/{bench}.html" for bench in comp["benchmarks"]]
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
