"""The benchmark manifest (resources/benchmarks.yaml): where each benchmark comes from and how to read it.

The Snakefile calls `load_manifest` while it builds the DAG, so this module imports only the standard
library and PyYAML. Every mistake in the manifest is reported as a `UserError` naming the file, the
benchmark and the key, before any job starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from rlvr_limits.data.loaders import LOADERS
from rlvr_limits.errors import UserError

TYPES = ("math", "arithmetic", "code", "visual")
FORMATS = ("jsonl", "jsonl.gz", "json", "parquet")
REPO_TYPES = ("dataset", "model")
#: `sha256: lock` means: record the hash of the first good download in the lock file, enforce it later.
LOCK = "lock"
ENTRY_KEYS = ("type", "source", "sha256", "format", "loader", "n_problems", "license", "description")
REQUIRED_KEYS = ("type", "source", "format", "loader", "n_problems", "license", "description")
HUB_KEYS = ("repo", "repo_type", "revision", "path")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class HubFile:
    """One file of a Hugging Face Hub repository at a pinned revision."""

    repo: str
    repo_type: str
    revision: str
    path: str


@dataclass(frozen=True)
class Benchmark:
    """One manifest entry. Exactly one of `url`, `hub`, `local_path` is set (see `source_kind`)."""

    name: str
    type: str
    source_kind: str  # "url" | "hub" | "local"
    url: str | None
    hub: HubFile | None
    local_path: str | None
    sha256: str | None  # 64 hex digits, "lock", or None (a local file that is not checked)
    format: str
    loader: str
    n_problems: int
    license: str
    description: str

    @property
    def source_description(self) -> str:
        """One line naming the source, for logs, error messages and the lock file."""
        if self.url is not None:
            return self.url
        if self.hub is not None:
            h = self.hub
            return f"hf://{h.repo_type}s/{h.repo}@{h.revision}/{h.path}"
        return f"local:{self.local_path}"

    def source_record(self) -> dict[str, Any]:
        """The source as it appears in the manifest, for sidecars and provenance."""
        if self.url is not None:
            return {"url": self.url}
        if self.hub is not None:
            return {"hub": {"repo": self.hub.repo, "repo_type": self.hub.repo_type,
                            "revision": self.hub.revision, "path": self.hub.path}}
        return {"local": self.local_path}


def load_manifest(path: str | Path) -> dict[str, Benchmark]:
    """Read and validate the manifest; returns benchmarks by name, in file order."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: benchmark manifest not found")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise UserError(f"{where}: invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), dict):
        raise UserError(f"{path}: expected a top-level mapping `benchmarks:` of name -> entry")
    extra = sorted(set(doc) - {"benchmarks"})
    if extra:
        raise UserError(f"{path}: unknown top-level keys {extra}; only `benchmarks:` is allowed")
    if not doc["benchmarks"]:
        raise UserError(f"{path}: `benchmarks:` is empty")
    return {str(name): _entry(path, str(name), entry) for name, entry in doc["benchmarks"].items()}


def _entry(path: Path, name: str, entry: Any) -> Benchmark:
    where = f"{path}: benchmarks.{name}"
    if not _NAME.match(name):
        raise UserError(f"{where}: benchmark names may use letters, digits, '_', '.', '-' only "
                        "(they become file names and wildcard values)")
    if not isinstance(entry, dict):
        raise UserError(f"{where}: expected a mapping with keys {list(REQUIRED_KEYS)}")
    unknown = sorted(set(entry) - set(ENTRY_KEYS))
    if unknown:
        raise UserError(f"{where}: unknown keys {unknown}; allowed keys are {list(ENTRY_KEYS)}")
    missing = [k for k in REQUIRED_KEYS if k not in entry]
    if missing:
        raise UserError(f"{where}: missing required keys {missing}")

    kind, url, hub, local = _source(where, entry["source"])
    return Benchmark(
        name=name,
        type=_choice(where, "type", entry["type"], TYPES),
        source_kind=kind, url=url, hub=hub, local_path=local,
        sha256=_sha256(where, entry.get("sha256"), kind),
        format=_choice(where, "format", entry["format"], FORMATS),
        loader=_choice(where, "loader", entry["loader"], tuple(LOADERS)),
        n_problems=_positive_int(where, "n_problems", entry["n_problems"]),
        license=_text(where, "license", entry["license"]),
        description=_text(where, "description", entry["description"]),
    )


def _choice(where: str, key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise UserError(f"{where}.{key}: {value!r} is not one of {list(allowed)}")
    return str(value)


def _text(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{where}.{key}: expected a non-empty string (quote it), got {value!r}")
    return value.strip()


def _positive_int(where: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"{where}.{key}: expected a positive integer, got {value!r}")
    return value


def _sha256(where: str, value: Any, kind: str) -> str | None:
    if value is None:
        if kind == "local":
            return None
        raise UserError(f"{where}.sha256: required for a downloaded file: 64 hex digits, or `lock` to "
                        "record the hash of the first download in the lock file and enforce it afterwards")
    if value == LOCK and kind != "local":
        return LOCK
    if isinstance(value, str) and _SHA256.match(value):
        return value
    allowed = "64 lowercase hex digits" + (", or leave it out" if kind == "local" else " or `lock`")
    raise UserError(f"{where}.sha256: expected {allowed}, got {value!r}")


def _source(where: str, source: Any) -> tuple[str, str | None, HubFile | None, str | None]:
    where = f"{where}.source"
    if not isinstance(source, dict) or len(source) != 1 or next(iter(source)) not in ("url", "hub", "local"):
        raise UserError(f"{where}: expected exactly one of `url: <https URL>`, `hub: {{repo, repo_type, "
                        f"revision, path}}` or `local: <path>`, got {source!r}")
    kind, value = next(iter(source.items()))
    if kind == "url":
        return kind, _url(f"{where}.url", value), None, None
    if kind == "local":
        return kind, None, None, _text(where, "local", value)
    return kind, None, _hub(f"{where}.hub", value), None


def _url(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise UserError(f"{where}: expected a URL string, got {value!r}")
    parts = urlsplit(value)
    loopback_http = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if not (parts.scheme == "https" or loopback_http) or not parts.hostname or not parts.path.strip("/"):
        raise UserError(f"{where}: expected an https:// URL of a file (plain http only for a server on this "
                        f"machine), got {value!r}")
    return value


def _hub(where: str, value: Any) -> HubFile:
    if not isinstance(value, dict):
        raise UserError(f"{where}: expected a mapping with keys {list(HUB_KEYS)}, got {value!r}")
    unknown = sorted(set(value) - set(HUB_KEYS))
    if unknown:
        raise UserError(f"{where}: unknown keys {unknown}; allowed keys are {list(HUB_KEYS)}")
    for key in ("repo", "revision", "path"):
        if key not in value:
            raise UserError(f"{where}: missing required key `{key}`"
                            + (" (pin a commit hash so the data cannot change)" if key == "revision" else ""))
    repo = _text(where, "repo", value["repo"])
    if repo.count("/") > 1 or repo.startswith("/") or repo.endswith("/"):
        raise UserError(f"{where}.repo: expected `org/name`, got {repo!r}")
    return HubFile(
        repo=repo,
        repo_type=_choice(where, "repo_type", value.get("repo_type", "dataset"), REPO_TYPES),
        revision=_text(where, "revision", value["revision"]),
        path=_text(where, "path", value["path"]).lstrip("/"),
    )
