"""`python -m rlvr_limits provenance`: what produced a run, in one file (results/provenance.json).

Records the workflow's git commit (and whether the checkout had uncommitted changes), the versions of the
packages that shape the numbers, every model's requested and resolved revision with its file hashes, every
benchmark file's source and sha256, the hardware, and the resolved config with its hash, so that a result
can be traced to its inputs and an archive can be replayed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from rlvr_limits.errors import UserError
from rlvr_limits.io import read_json, write_json
from rlvr_limits.progress import LOG

#: Distributions whose versions are recorded (None when not installed).
PACKAGES = ("rlvr-limits", "torch", "transformers", "tokenizers", "vllm", "safetensors", "huggingface_hub",
            "polars", "pyarrow", "numpy", "math-verify", "latex2sympy2_extended", "sympy", "altair",
            "vl-convert-python", "snakemake", "snakemake-executor-plugin-slurm")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config-json", required=True,
                        help="the resolved workflow config as JSON text, or @FILE to read it from a file")
    parser.add_argument("--models", nargs="*", default=[], help="model records (results/models/*.json)")
    parser.add_argument("--problems", nargs="*", default=[],
                        help="problem sidecars (results/problems/*.json)")
    parser.add_argument("--out", required=True, help="provenance file to write")


def run(args: argparse.Namespace) -> int:
    config = _parse_config(args.config_json)
    write_json(build(config, args.models, args.problems), args.out)
    LOG.info("%s: provenance of %d models and %d benchmarks", args.out, len(args.models), len(args.problems))
    return 0


def _parse_config(text: str) -> Any:
    where = "--config-json"
    if text.startswith("@"):
        where = text[1:]
        if not Path(where).is_file():
            raise UserError(f"{where}: config file not found")
        text = Path(where).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"invalid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        raise UserError(f"{where}: {message}") from None


def config_sha256(config: Any) -> str:
    """Hash of the config's canonical JSON (sorted keys), so key order does not change it."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def build(config: Any, model_records: list[str], problem_sidecars: list[str]) -> dict[str, Any]:
    """The provenance record of a run."""
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "workflow": git_state(Path(__file__).resolve().parent),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "models": _models(model_records),
        "datasets": _datasets(problem_sidecars),
        "hardware": hardware(),
        "config_sha256": config_sha256(config),
        "config": config,
    }


def git_state(where: Path) -> dict[str, Any]:
    """Commit and dirty flag of the git checkout holding `where` (nulls outside a checkout)."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True,
                                  timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    root = git("rev-parse", "--show-toplevel")
    if root is None:
        return {"git_sha": None, "dirty": None, "root": None, "note": "not a git checkout"}
    status = git("status", "--porcelain")
    return {"git_sha": git("rev-parse", "HEAD"), "dirty": bool(status) if status is not None else None,
            "root": root}


def package_versions() -> dict[str, str | None]:
    """Installed versions, read from package metadata (nothing is imported)."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _models(paths: list[str]) -> dict[str, Any]:
    models = {}
    for path in paths:
        record = read_json(path)
        if not isinstance(record, dict) or "name" not in record or "sha256" not in record:
            raise UserError(f"{path}: not a model record (written by `python -m rlvr_limits model`)")
        models[record["name"]] = {k: record.get(k) for k in (
            "source", "path", "hf_id", "revision_requested", "revision_resolved", "model_type", "bytes",
            "sha256")}
    return models


def _datasets(paths: list[str]) -> dict[str, Any]:
    datasets = {}
    for path in paths:
        sidecar = read_json(path)
        if not isinstance(sidecar, dict) or "benchmark" not in sidecar or "sha256" not in sidecar:
            raise UserError(f"{path}: not a problems sidecar (written by `python -m rlvr_limits problems`)")
        datasets[sidecar["benchmark"]] = {k: sidecar.get(k) for k in (
            "source", "revision", "sha256", "sha256_check", "n_problems", "license")}
    return datasets


def hardware() -> dict[str, Any]:
    """CPU, memory and (when torch sees any) CUDA GPUs of this machine."""
    import psutil

    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cpu_logical": os.cpu_count(),
        "cpu_physical": psutil.cpu_count(logical=False),
        "ram_bytes": psutil.virtual_memory().total,
        "gpus": [],
    }
    try:
        import torch
    except ImportError:
        return info
    info["torch_cuda"] = torch.version.cuda
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            info["gpus"].append({"name": props.name, "memory_bytes": props.total_memory,
                                 "capability": f"{props.major}.{props.minor}"})
    return info


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
