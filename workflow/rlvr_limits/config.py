"""The workflow's view of its configuration: validation, defaults and the per-job specs the rules pass on.

The Snakefile calls `WorkflowConfig.load` once; every error is a `UserError` naming the config key at fault, so
a bad config stops the run before any job starts. Rules then ask this object for job lists and specs, which keeps
the `.smk` files free of logic.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from rlvr_limits.data.manifest import Benchmark, load_manifest
from rlvr_limits.errors import UserError
from rlvr_limits.sampling import store
from rlvr_limits.sampling.templates import load_template

#: Benchmark types (manifest `type`) each verifier can judge.
VERIFIER_TYPES = {
    "math": {"math", "arithmetic", "visual"},
    "math-verify": {"math", "arithmetic", "visual"},
    "toy_strict": {"arithmetic"},
    "code": {"code"},
}

#: Generator name of a benchmark's reference responses in the perplexity analysis (manifest key `reference`).
REFERENCE = "reference"

#: `fidelity: authors-code`: the released math evaluation code's context, and the prompt room it leaves.
AUTHORS_CODE_MAX_MODEL_LEN = 4096
AUTHORS_CODE_PROMPT_ROOM = 1024

#: The verifier a benchmark gets when its config names none, by manifest type.
DEFAULT_VERIFIER = {"math": "math", "arithmetic": "math", "visual": "math", "code": "code"}


def _with_defaults(validator_class: type[jsonschema.protocols.Validator]) -> type:
    """A validator that fills in schema defaults while validating (the jsonschema FAQ recipe)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # type: ignore[no-untyped-def]
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = json.loads(json.dumps(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _key_path(path: Any) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _schema_error_message(error: jsonschema.ValidationError) -> str:
    where = _key_path(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"config key {where}: unknown key {', '.join(map(repr, extra))}{hint}"
    if error.validator == "required":
        return f"config key {where}: {error.message}"
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"config key {where}: {error.instance!r} is not one of: {allowed}"
    if error.validator == "pattern" and error.absolute_path and isinstance(error.instance, str):
        return f"config key {where}: {error.instance!r} does not match {error.validator_value}"
    if error.validator == "propertyNames":
        return f"config key {where}: name {error.instance!r} must use only letters, digits, _ . -"
    return f"config key {where}: {error.message}"


def validate_against_schema(config: dict[str, Any], schema_path: Path) -> dict[str, Any]:
    """Validate `config` in place (filling defaults) and raise a UserError for the first problem found."""
    schema = yaml.safe_load(schema_path.read_text())
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        raise UserError(_schema_error_message(errors[0]))
    return config


def resolve_manifest(manifest: str, root: Path) -> Path:
    """A relative manifest path is looked up in the working directory, then in the workflow's own folder, so
    the shipped manifest serves runs in any `--directory`."""
    path = Path(manifest)
    if path.is_absolute() or path.exists():
        return path
    shipped = root / path
    if shipped.exists():
        return shipped
    raise UserError(f"config key manifest: {manifest} not found (looked in {Path.cwd()} and {root})")


@dataclass(frozen=True)
class PerplexityJob:
    scorer: str
    generator: str
    benchmark: str


class WorkflowConfig:
    """Validated configuration plus the benchmark manifest, answering the rules' questions."""

    def __init__(self, config: dict[str, Any], manifest_path: Path, root: Path) -> None:
        self.raw = config
        self.manifest_path = manifest_path
        self.manifest: dict[str, Benchmark] = load_manifest(manifest_path)
        self.root = root
        self.models: dict[str, dict[str, Any]] = config["models"]
        self.benchmarks: dict[str, dict[str, Any]] = config["benchmarks"]
        self._alias_datasets()
        if config.get("fidelity", "paper") == "authors-code":
            self._apply_authors_code()
        #: user-supplied checkpoints whose `path` does not exist (yet): model -> path
        self.missing_checkpoints = {name: m["path"] for name, m in self.models.items()
                                    if m.get("user_supplied") and "path" in m and not Path(m["path"]).exists()}
        #: what is left out for want of them: comparison or entropy entry -> the missing models it needs
        self.skipped_comparisons: dict[str, list[str]] = {}
        self._places_images: dict[Path, bool] = {}  # template -> whether it puts an image in every prompt
        self._template_sha256: dict[Path, str] = {}
        self._plans: dict[Path, store.Plan] = {}  # draw folder -> its plan, read from disk once per parse
        self._draws: dict[Path, tuple[str, list[str]]] | None = None
        self._compares = bool(config.get("comparisons")) or bool(config.get("entropy_matching"))
        self.comparisons = self._available("comparisons", config.get("comparisons", {}),
                                           lambda c: [c["base"], *c["models"],
                                                      *([c["guess_filter"]["direct"]] if "guess_filter" in c else [])])
        self.entropy_matching = self._available("entropy_matching", config.get("entropy_matching", {}),
                                                lambda e: [e["reference"], *e["sweep"]])
        self._check()
        #: analyses left out because they need the weights of a model known by its samples only
        self.imported_left_out = [
            f"entropy_matching.{name} (its models' samples carry no entropy: {', '.join(imported)} imported)"
            for name, entry in self.entropy_matching.items()
            if (imported := [m for m in [entry["reference"], *entry["sweep"]] if self.imported(m)])]
        self.entropy_matching = {name: entry for name, entry in self.entropy_matching.items()
                                 if not any(self.imported(m) for m in [entry["reference"], *entry["sweep"]])}

    def _available(self, section: str, entries: dict[str, dict[str, Any]], needs: Any) -> dict[str, dict[str, Any]]:
        """The entries whose models all exist; the others are recorded in `skipped_comparisons`."""
        kept = {}
        for name, entry in entries.items():
            missing = [m for m in needs(entry) if m in self.missing_checkpoints]
            if missing:
                self.skipped_comparisons[f"{section}.{name}"] = missing
            else:
                kept[name] = entry
        return kept

    def missing_message(self) -> str:
        """What a run without the user-supplied checkpoints leaves out (empty when nothing is missing)."""
        if not self.missing_checkpoints:
            return ""
        models = ", ".join(f"{m} ({p})" for m, p in self.missing_checkpoints.items())
        left_out = "; ".join(
            f"{name}{' - ' + title if (title := self._title(name)) else ''} (needs {', '.join(ms)})"
            for name, ms in self.skipped_comparisons.items())
        return (f"user-supplied checkpoints not found: {models}. Left out of this run: {left_out or 'nothing'}. "
                "Everything else runs; put the checkpoints at these paths (see config/README.md) and rerun.")

    def _title(self, qualified: str) -> str:
        section, name = qualified.split(".", 1)
        return str(self.raw.get(section, {}).get(name, {}).get("title", ""))

    def _alias_datasets(self) -> None:
        """A benchmark with `dataset: X` reads the manifest entry X under its own name (another n_samples)."""
        for name, bench in self.benchmarks.items():
            dataset = bench.get("dataset")
            if dataset is None:
                continue
            if dataset not in self.manifest:
                raise UserError(f"config key benchmarks.{name}.dataset: no benchmark {dataset!r} in the manifest "
                                f"{self.raw['manifest']} (known: {', '.join(sorted(self.manifest))})")
            if name in self.manifest and name != dataset:
                raise UserError(f"config key benchmarks.{name}.dataset: {name!r} is itself a manifest entry; "
                                "give the alias another name")
            self.manifest[name] = self.manifest[dataset]

    def _apply_authors_code(self) -> None:
        """`fidelity: authors-code`: what the released math evaluation code did where the paper says otherwise,
        for the models whose template has a version in resources/prompts/authors-code/: its stop words (that
        template file) and max_model_len 4096, with max_tokens capped so that prompts up to
        AUTHORS_CODE_PROMPT_ROOM tokens fit (the released code let each response run to 4096 minus its
        prompt; one budget per job is the closest this workflow states)."""
        for model in self.models.values():
            if (self.root / "resources" / "prompts" / "authors-code" / f"{model['template']}.yaml").is_file():
                model["max_model_len"] = AUTHORS_CODE_MAX_MODEL_LEN
                cap = AUTHORS_CODE_MAX_MODEL_LEN - AUTHORS_CODE_PROMPT_ROOM
                model["max_tokens"] = min(model.get("max_tokens", cap), cap)

    def dataset(self, bench: str) -> str:
        """The manifest entry a benchmark reads (its own name unless it has `dataset:`)."""
        return self.benchmarks.get(bench, {}).get("dataset", bench)

    @classmethod
    def load(cls, config: dict[str, Any], root: str | Path) -> WorkflowConfig:
        root = Path(root)
        validate_against_schema(config, root / "workflow" / "schemas" / "config.schema.yaml")
        return cls(config, resolve_manifest(config["manifest"], root), root)

    # ----------------------------------------------------------------------------------------- checks
    def _check(self) -> None:
        for name, model in self.models.items():
            self._check_model(name, model)
        for name, bench in self.benchmarks.items():
            self._check_benchmark(name, bench)
        for name, comp in self.comparisons.items():
            self._check_comparison(name, comp)
        for name, entry in self.entropy_matching.items():
            self._check_entropy_matching(name, entry)
        for model, bench in self.drawn_pairs():
            self._check_modality(model, bench)
            self._check_fits(model, bench)

    def _check_modality(self, model: str, bench: str) -> None:
        """A benchmark with an image per problem needs a vision model whose template places the image; a
        template that places an image needs such a benchmark."""
        visual = self.manifest[bench].type == "visual"
        spec = self.models[model]
        if visual and spec["engine"] == "server":
            raise UserError(f"config key models.{model}.engine: benchmark {bench} has an image per problem, and "
                            "engine server sends token ids only; sample it with engine vllm or hf")
        if visual and not spec["vision"]:
            raise UserError(f"config key models.{model}.vision: benchmark {bench} has an image per problem "
                            f"(manifest type visual) but {model} is a text-only model; set `vision: true` for a "
                            f"vision-language model, or leave {bench} out of its comparisons")
        template = self.template_path(spec["template"])
        if template not in self._places_images:
            self._places_images[template] = load_template(template).images is not None
        images = self._places_images[template]
        if visual != images:
            has = "places an image in every prompt" if images else "has no `images:` section"
            what = "has no images" if images else "has an image per problem"
            raise UserError(f"config key models.{model}.template: template {spec['template']} {has}, but "
                            f"benchmark {bench} {what}; give {model} a template that "
                            + ("takes no image" if images else "places the image (e.g. easyr1-vl)"))

    def _check_fits(self, model: str, bench: str) -> None:
        """Refuse a generation budget that leaves no room for the prompt; the sample stage then checks every
        prompt's exact token count before it generates anything."""
        budget, limit = self.max_tokens(model, bench), self.models[model]["max_model_len"]
        if budget >= limit:
            key = f"models.{model}.max_tokens" if "max_tokens" in self.models[model] else \
                f"benchmarks.{bench}.max_tokens"
            raise UserError(f"config key {key}: {budget} generation tokens leave no room for a prompt within "
                            f"models.{model}.max_model_len={limit}; lower max_tokens or raise max_model_len")

    def _check_model(self, name: str, model: dict[str, Any]) -> None:
        key = f"models.{name}"
        if name == REFERENCE:
            raise UserError(f"config key {key}: the name {REFERENCE!r} is reserved for a benchmark's reference "
                            "responses in the perplexity analysis; rename the model")
        if "samples" in model:
            self._check_imported(name, model)
            return
        if ("path" in model) == ("hf_id" in model):
            raise UserError(f"config key {key}: give exactly one of `path` (local directory) or `hf_id`")
        if "hf_id" in model and "revision" not in model:
            raise UserError(f"config key {key}.revision: a hub model needs a pinned revision "
                            "(a commit hash from the model page's history)")
        if model.get("user_supplied") and "path" not in model:
            raise UserError(f"config key {key}.user_supplied: only a local checkpoint (`path`) can be user-supplied")
        if "path" in model and "revision" in model:
            raise UserError(f"config key {key}.revision: only hub models (hf_id) take a revision")
        if model["engine"] == "hf" and model["tensor_parallel"] > 1:
            raise UserError(f"config key {key}.tensor_parallel: the hf engine runs on one device; "
                            "use engine: vllm for tensor parallelism")
        if ("server" in model) != (model["engine"] == "server"):
            raise UserError(f"config key {key}.server: " + (
                "engine server needs a `server:` block naming its base_url" if "server" not in model else
                f"only engine server uses it (the engine is {model['engine']})"))
        if model["engine"] == "server" and (model["tensor_parallel"] > 1 or model.get("gpu")):
            raise UserError(f"config key {key}: with engine server the server holds the GPUs; remove "
                            "tensor_parallel and gpu (start the server with its own --tensor-parallel-size)")
        template = self.template_path(model["template"])
        if not template.is_file():
            available = sorted(p.stem for p in template.parent.glob("*.yaml"))
            raise UserError(f"config key {key}.template: no template {template} "
                            f"(available: {', '.join(available)})")

    def _check_imported(self, name: str, model: dict[str, Any]) -> None:
        """A model known by its samples only: no weights to load, files that exist."""
        key = f"models.{name}"
        given = [k for k in ("path", "hf_id", "revision") if k in model]
        given += ["user_supplied"] if model.get("user_supplied") else []
        if given:
            raise UserError(f"config key {key}.samples: a model given by its samples has no weights to load; "
                            f"remove {', '.join(given)}")
        if not self.import_files(name):
            raise UserError(f"config key {key}.samples.path: no file matches {model['samples']['path']!r} (relative "
                            f"to {Path.cwd()})")

    def _check_benchmark(self, name: str, bench: dict[str, Any]) -> None:
        key = f"benchmarks.{name}"
        if name not in self.manifest:
            raise UserError(f"config key {key}: no benchmark {name!r} in the manifest {self.raw['manifest']} "
                            f"(known: {', '.join(sorted(self.manifest))})")
        if bench["n_samples"] < bench["k_max"]:
            raise UserError(f"config key {key}.n_samples: n_samples={bench['n_samples']} is smaller than "
                            f"k_max={bench['k_max']}; pass@k needs at least k samples per problem")
        if "limit" in bench and bench["limit"] > self.manifest[name].n_problems:
            raise UserError(f"config key {key}.limit: {bench['limit']} is more than the benchmark's "
                            f"{self.manifest[name].n_problems} problems")
        kind = self.manifest[name].type
        bench.setdefault("verifiers", [DEFAULT_VERIFIER[kind]])
        for verifier in bench["verifiers"]:
            if kind not in VERIFIER_TYPES[verifier]:
                raise UserError(f"config key {key}.verifiers: {verifier!r} cannot judge a {kind!r} benchmark "
                                f"(it judges: {', '.join(sorted(VERIFIER_TYPES[verifier]))})")

    def _check_comparison(self, name: str, comp: dict[str, Any]) -> None:
        key = f"comparisons.{name}"
        for model in [comp["base"], *comp["models"]]:
            if model not in self.models:
                field = "base" if model == comp["base"] else "models"
                raise UserError(f"config key {key}.{field}: unknown model {model!r} "
                                f"(defined under models: {', '.join(sorted(self.models))})")
        if comp["base"] in comp["models"]:
            raise UserError(f"config key {key}.models: the base model {comp['base']!r} is compared with itself")
        for bench in comp["benchmarks"]:
            if bench not in self.benchmarks:
                raise UserError(f"config key {key}.benchmarks: unknown benchmark {bench!r} "
                                f"(defined under benchmarks: {', '.join(sorted(self.benchmarks))})")
        direct = comp.get("guess_filter", {}).get("direct")
        if direct is not None and direct not in self.models:
            raise UserError(f"config key {key}.guess_filter.direct: unknown model {direct!r} "
                            f"(defined under models: {', '.join(sorted(self.models))})")
        if comp["kind"] == "steps":
            for model in comp["models"]:
                if "step" not in self.models[model]:
                    raise UserError(f"config key models.{model}.step: a `steps` comparison ({name}) needs the "
                                    "training step of every checkpoint")

    def _check_entropy_matching(self, name: str, entry: dict[str, Any]) -> None:
        key = f"entropy_matching.{name}"
        for field, models in (("reference", [entry["reference"]]), ("sweep", entry["sweep"])):
            for model in models:
                if model not in self.models:
                    raise UserError(f"config key {key}.{field}: unknown model {model!r} "
                                    f"(defined under models: {', '.join(sorted(self.models))})")
        if entry["benchmark"] not in self.benchmarks:
            raise UserError(f"config key {key}.benchmark: unknown benchmark {entry['benchmark']!r}")
        temperatures = [self.sampling_for(m)["temperature"] for m in entry["sweep"]]
        if len(set(temperatures)) != len(temperatures):
            raise UserError(f"config key {key}.sweep: the models must be sampled at distinct temperatures "
                            f"(got {temperatures}); give each a `sampling: {{temperature: ...}}` override")

    # ------------------------------------------------------------------------------------- questions
    @property
    def lock_path(self) -> Path:
        """Hashes recorded by first downloads (`sha256: lock`), kept beside the manifest."""
        return self.manifest_path.with_name(f"{self.manifest_path.stem}.lock.yaml")

    def template_path(self, template: str) -> Path:
        """resources/prompts/<template>.yaml; with `fidelity: authors-code`, its authors-code/ version if any."""
        prompts = self.root / "resources" / "prompts"
        authors = prompts / "authors-code" / f"{template}.yaml"
        if self.raw.get("fidelity", "paper") == "authors-code" and authors.is_file():
            return authors
        return prompts / f"{template}.yaml"

    def n_problems(self, bench: str) -> int:
        total = self.manifest[bench].n_problems
        return min(total, self.benchmarks[bench].get("limit", total))

    def max_tokens(self, model: str, bench: str) -> int:
        cap = self.models[model].get("max_tokens")
        budget = self.benchmarks[bench]["max_tokens"]
        return min(budget, cap) if cap else budget

    def sampling_for(self, model: str) -> dict[str, Any]:
        params = {k: v for k, v in self.raw["sampling"].items() if k != "shard"}
        params.update(self.models[model].get("sampling", {}))
        return params

    # ----------------------------------------------------------------------------- the sample store
    def draw_identity(self, model: str, bench: str) -> dict[str, Any]:
        """What shapes every sample of `model` on `bench` (sampling/store.py). Never n_samples, k_max, the
        shard layout or limit: changing those reuses what was drawn. Benchmarks reading one dataset share it."""
        m = self.models[model]
        source = {"path": m["path"]} if "path" in m else {"hf_id": m["hf_id"], "revision": m["revision"]}
        identity = {"model": model, "dataset": self.dataset(bench), "source": source,
                    "template_sha256": self.template_sha256(m["template"]), "engine": m["engine"],
                    "dtype": m["dtype"], "tensor_parallel": m["tensor_parallel"],
                    "max_tokens": self.max_tokens(model, bench), "seed": self.raw["seed"],
                    "behaviour": store.SAMPLING_BEHAVIOUR, **self.sampling_for(model)}
        if m["engine"] == "vllm":
            identity["batch_invariant"] = m["batch_invariant"]
        return identity

    def engine_settings(self, model: str) -> dict[str, Any]:
        """Sampling settings that change speed or memory but no sample: a change never redraws."""
        m = self.models[model]
        settings: dict[str, Any] = {"max_model_len": m["max_model_len"]}
        if m["engine"] == "vllm":
            settings["gpu_memory_utilization"] = m["gpu_memory_utilization"]
        if m["engine"] == "server":
            settings["server"] = self.server_settings(model)
        return settings

    def server_settings(self, model: str) -> dict[str, Any]:
        """Where engine server sends `model`'s requests (server_engine.ServerSettings), the served name filled in."""
        m = self.models[model]
        return {"model": m.get("hf_id", m.get("path")), **m["server"]}

    def template_sha256(self, template: str) -> str:
        path = self.template_path(template)
        if path not in self._template_sha256:
            self._template_sha256[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        return self._template_sha256[path]

    def draw_folder(self, model: str, bench: str) -> Path:
        """results/samples/{model}/{dataset}/{draw}: where the samples of `model` on `bench` are kept."""
        return store.draw_folder(model, self.dataset(bench), store.draw_id(self.draw_identity(model, bench)))

    def sample_region(self, bench: str) -> tuple[int, int]:
        """The samples a benchmark reads: its first `limit` problems x indices 0..n_samples-1."""
        return self.n_problems(bench), self.benchmarks[bench]["n_samples"]

    def draws(self) -> dict[Path, tuple[str, list[str]]]:
        """Every draw folder of the run, with its model and the benchmarks that read it (several for
        `dataset:` aliases)."""
        if self._draws is None:
            self._draws = {}
            for model, bench in self.drawn_pairs():
                self._draws.setdefault(self.draw_folder(model, bench), (model, []))[1].append(bench)
        return self._draws

    def sample_plan(self, model: str, bench: str) -> store.Plan:
        """The blocks of the draw of (model, bench): those on disk that the run reads, and those to draw, for
        the union of the regions of every benchmark that reads this draw."""
        folder = self.draw_folder(model, bench)
        if folder not in self._plans:
            shard = self.raw["sampling"]["shard"]
            regions = [self.sample_region(b) for b in self.draws()[folder][1]]
            self._plans[folder] = store.plan_blocks(regions, store.existing_blocks(folder), shard["problems"],
                                                    shard["samples"], folder)
        return self._plans[folder]

    def sample_blocks(self, model: str, bench: str) -> list[str]:
        """The block files holding (model, bench)'s samples: reused where drawn, planned where missing; for an
        imported model, the one block its import writes."""
        if self.imported(model):
            n_problems, n_samples = self.sample_region(bench)
            block = store.Block(0, n_problems, 0, n_samples)
            return [store.block_path(store.SAMPLES / model / self.dataset(bench) / store.IMPORTED, block)]
        folder = self.draw_folder(model, bench)
        return [store.block_path(folder, b) for b in self.sample_plan(model, bench).blocks_for(
            *self.sample_region(bench))]

    def sampling_notes(self) -> list[str]:
        """What the run draws where part of it was drawn before, or why it draws anew where samples of the same
        model and dataset exist under other settings (store.describe_plan)."""
        notes = []
        for folder, (model, benches) in self.draws().items():
            note = store.describe_plan(folder, self.sample_plan(model, benches[0]),
                                       [self.sample_region(b) for b in benches], self.draw_identity(model, benches[0]))
            if note:
                notes.append(note)
        return notes

    def draw_for_folder(self, model: str, dataset: str, draw: str) -> dict[str, Any]:
        """The identity of the draw a sample job's path names (its model, dataset and digest)."""
        for m, bench in self.drawn_pairs():
            if m == model and self.dataset(bench) == dataset and self.draw_folder(m, bench).name == draw:
                return self.draw_identity(m, bench)
        raise UserError(f"results/samples/{model}/{dataset}/{draw}: not a draw of this configuration (its "
                        f"settings differ from what the config asks of {model} on {dataset})")

    def check_spec(self) -> dict[str, Any]:
        """What the check stage renders and measures: every (model, benchmark) pair that will be sampled."""
        return {"pairs": [
            {"model": model, "benchmark": bench, "record": f"results/models/{model}.json",
             "template": os.path.relpath(self.template_path(self.models[model]["template"])),
             "problems": f"results/problems/{bench}.parquet", "limit": self.benchmarks[bench].get("limit"),
             "max_tokens": self.max_tokens(model, bench), "max_model_len": self.models[model]["max_model_len"]}
            for model, bench in self.drawn_pairs()]}

    def vllm_settings(self, model: str) -> dict[str, Any]:
        """The settings only the vllm engine reads (none for hf models, so they never rerun hf jobs)."""
        m = self.models[model]
        if m["engine"] != "vllm":
            return {}
        return {"gpu_memory_utilization": m["gpu_memory_utilization"], "batch_invariant": m["batch_invariant"]}

    def gpus(self, model: str) -> int:
        """GPUs one sampling or perplexity job of `model` requests: none unless it runs on GPUs."""
        m = self.models[model]
        return m["tensor_parallel"] if m.get("gpu", m["engine"] == "vllm") else 0

    def model_spec(self, model: str) -> dict[str, Any]:
        """The model rule's --spec (models/fetch.py); a model a server runs needs its tokenizer only."""
        m = self.models[model]
        spec: dict[str, Any] = {"path": m["path"]} if "path" in m else {"hf_id": m["hf_id"], "revision": m["revision"]}
        if "hf_id" in m and not re.fullmatch(r"[0-9a-f]{40}", m["revision"]):
            spec["lock"] = os.path.relpath(self.model_lock_path)
        if m["engine"] == "server":
            spec["weights"] = False
        return spec

    @property
    def model_lock_path(self) -> Path:
        """Commits that branch or tag revisions resolved to (resources/models.lock.yaml, beside the manifest)."""
        return self.manifest_path.with_name("models.lock.yaml")

    def local_model_dir(self, model: str) -> str | None:
        return self.models[model].get("path")

    def verify_spec(self, bench: str) -> dict[str, Any]:
        """Verifier settings only: changing them re-verifies but never resamples."""
        return {"benchmark": bench, "verifiers": self.benchmarks[bench]["verifiers"],
                "settings": self.raw["verification"], "n_samples": self.benchmarks[bench]["n_samples"],
                "limit": self.benchmarks[bench].get("limit")}

    def passk_spec(self, bench: str) -> dict[str, Any]:
        analysis = self.raw["analysis"]
        b = self.benchmarks[bench]
        return {"n_samples": b["n_samples"], "k_max": b["k_max"], "bootstrap": analysis["bootstrap"],
                "ci": analysis["ci"], "seed": self.raw["seed"]}

    def unguessed_passk_spec(self, comparison: str, bench: str) -> dict[str, Any]:
        """pass@k of a comparison with a guess filter: the problems its direct-answer model guesses dropped."""
        return {**self.passk_spec(bench), "guess_threshold": self.comparisons[comparison]["guess_filter"]["threshold"]}

    def compare_spec(self, comparison: str, bench: str) -> dict[str, Any]:
        comp = self.comparisons[comparison]
        spec = {"comparison": comparison, "kind": comp["kind"], "base": comp["base"],
                "models": comp["models"], "benchmark": bench, "verifiers": self.benchmarks[bench]["verifiers"],
                **self.passk_spec(bench),
                "delta_se_k": self.raw["analysis"]["delta_se_k"]}
        if "guess_filter" in comp:
            spec["guess_filter"] = comp["guess_filter"]
        return spec

    def explorer_spec(self, comparison: str, bench: str) -> dict[str, Any]:
        """What the explorer page of a comparison on a benchmark states and reads."""
        comp = self.comparisons[comparison]
        models = [comp["base"], *comp["models"]]
        b = self.benchmarks[bench]
        return {"comparison": comparison, "title": comp.get("title", comparison), "benchmark": bench,
                "base": comp["base"], "models": comp["models"],
                "labels": {m: self.models[m].get("label", m) for m in models}, "k_max": b["k_max"],
                "n_samples": b["n_samples"], "limit": b.get("limit"), "verifiers": b["verifiers"],
                "sample_dirs": {m: str(Path(self.sample_blocks(m, bench)[0]).parent) for m in models}}

    def sampled_pairs(self) -> list[tuple[str, str]]:
        """(model, benchmark) pairs to sample: those the comparisons need, or when there are none every model
        on every benchmark of its kind (images or not)."""
        if not self._compares:  # vision models on the benchmarks with images, text models on the others
            return [(m, b) for m, spec in self.models.items() if m not in self.missing_checkpoints
                    for b in self.benchmarks if spec["vision"] == (self.manifest[b].type == "visual")]
        pairs: dict[tuple[str, str], None] = {}
        for comp in self.comparisons.values():
            direct = [comp["guess_filter"]["direct"]] if "guess_filter" in comp else []
            for model in [comp["base"], *comp["models"], *direct]:
                for bench in comp["benchmarks"]:
                    pairs[(model, bench)] = None
        for entry in self.entropy_matching.values():
            for model in [entry["reference"], *entry["sweep"]]:
                pairs[(model, entry["benchmark"])] = None
        return list(pairs)

    def imported(self, model: str) -> bool:
        """Whether `model` is known by sample files another harness wrote (`samples:`), not by weights."""
        return "samples" in self.models[model]

    def drawn_pairs(self) -> list[tuple[str, str]]:
        """The sampled pairs whose model is drawn here (has weights), not imported."""
        return [(m, b) for m, b in self.sampled_pairs() if not self.imported(m)]

    def import_files(self, model: str) -> list[str]:
        """The files a `samples.path` (a file or a glob, relative to the run's directory) names, sorted."""
        return sorted(p for p in glob.glob(self.models[model]["samples"]["path"]) if Path(p).is_file())

    def graded_import(self, model: str) -> bool:
        """Whether `model` is imported from files that can carry their tool's own grades (an agreement table)."""
        from rlvr_limits.sampling.importers import GRADED_FORMATS

        return self.imported(model) and self.models[model]["samples"]["format"] in GRADED_FORMATS

    def import_grades(self, model: str, bench: str) -> list[str]:
        """The source's grades beside an imported block (none for a model with weights)."""
        if not self.imported(model):
            return []
        return [str(Path(self.sample_blocks(model, bench)[0]).with_suffix(".grades.parquet"))]

    def import_spec(self, model: str) -> dict[str, Any]:
        samples = self.models[model]["samples"]
        return {"model": model, "match": samples["match"], "unmatched": samples["unmatched"]}

    def comparison_benchmarks(self) -> Iterator[tuple[str, str]]:
        for name, comp in self.comparisons.items():
            for bench in comp["benchmarks"]:
                yield name, bench

    def perplexity_jobs(self) -> list[PerplexityJob]:
        """The paper's Fig. 6 pairs: the base scores its own and each other model's responses, and the
        benchmark's reference responses when the manifest names them; each other model scores its own.
        Benchmarks with an image per problem are left out: scoring reads token ids alone, and a response
        scored without the image it answers would measure something else."""
        if not self.raw["analysis"]["perplexity"]["enabled"]:
            return []
        jobs: dict[PerplexityJob, None] = {}
        for comp in self.comparisons.values():
            if comp["kind"] not in ("rl", "distill", "instruct"):
                continue
            for bench in comp["benchmarks"]:
                if self.manifest[bench].type == "visual":
                    continue
                base = comp["base"]
                jobs[PerplexityJob(base, base, bench)] = None
                if self.manifest[bench].reference is not None:
                    jobs[PerplexityJob(base, REFERENCE, bench)] = None
                for other in comp["models"]:
                    jobs[PerplexityJob(base, other, bench)] = None
                    jobs[PerplexityJob(other, other, bench)] = None
        # A model known by its samples only has no weights to score with; its responses can still be scored.
        return [job for job in jobs if not self.imported(job.scorer)]

    def imported_notes(self) -> list[str]:
        """What a run leaves out for want of the weights of imported models (printed before any job)."""
        scorers = sorted({m for comp in self.comparisons.values() for m in [comp["base"], *comp["models"]]
                          if self.imported(m) and comp["kind"] in ("rl", "distill", "instruct")}
                         ) if self.raw["analysis"]["perplexity"]["enabled"] else []
        notes = [f"{m} is known by its samples only: the perplexity with it as the scorer is left out (its "
                 "responses are still scored by the models with weights)" for m in scorers]
        return notes + [f"left out: {entry}" for entry in self.imported_left_out]

    def perplexity_spec(self, job: PerplexityJob) -> dict[str, Any]:
        scorer = self.models[job.scorer]
        return {"scorer": job.scorer, "generator": job.generator, "benchmark": job.benchmark,
                "responses_per_problem": self.raw["analysis"]["perplexity"]["responses_per_problem"],
                "n_samples": self.benchmarks[job.benchmark]["n_samples"],
                "limit": self.benchmarks[job.benchmark].get("limit"),
                "seed": self.raw["seed"], "engine": scorer["engine"], "dtype": scorer["dtype"],
                "max_model_len": scorer["max_model_len"], "tensor_parallel": scorer["tensor_parallel"],
                **self.vllm_settings(job.scorer),
                **({"server": self.server_settings(job.scorer)} if scorer["engine"] == "server" else {}),
                **({"reference": self.manifest[job.benchmark].reference} if job.generator == REFERENCE else {})}

    def figure_benchmarks(self, benchmarks: list[str]) -> dict[str, dict[str, Any]]:
        """What a figure's subtitle states about each benchmark."""
        return {b: {"n_samples": self.benchmarks[b]["n_samples"], "k_max": self.benchmarks[b]["k_max"],
                    "verifiers": self.benchmarks[b]["verifiers"]} for b in benchmarks}

    def entropy_figure_spec(self, name: str) -> dict[str, Any]:
        """The entropy-matching figure of one entry: the reference model first, then the swept models, each
        with its sampling temperature."""
        entry = self.entropy_matching[name]
        label = {m: self.models[m].get("label", m) for m in [entry["reference"], *entry["sweep"]]}
        return {"kind": "entropy", "name": name, "ci": self.raw["analysis"]["ci"],
                "title": f"Entropy matching: {label[entry['sweep'][0]]} vs {label[entry['reference']]} "
                         f"on {entry['benchmark']}",
                "models": [{"name": m, "role": self.models[m]["role"], "label": label[m],
                            "temperature": self.sampling_for(m)["temperature"]} for m in label],
                "benchmarks": self.figure_benchmarks([entry["benchmark"]])}

    def figure_models(self, comparison: str) -> list[dict[str, Any]]:
        comp = self.comparisons[comparison]
        return [{"name": m, "role": self.models[m]["role"], "label": self.models[m].get("label", m),
                 "step": self.models[m].get("step")} for m in [comp["base"], *comp["models"]]]


def spec_json(spec: dict[str, Any]) -> str:
    """Canonical JSON for a `params:` spec, so equal specs never trigger a rerun."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))
