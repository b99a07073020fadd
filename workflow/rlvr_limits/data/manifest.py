"""The benchmark manifest (resources/benchmarks.yaml): where each benchmark comes from and how to read it.

The Snakefile calls `load_manifest` while it builds the DAG, so this module imports only the standard
library and PyYAML. Every mistake in the manifest is reported as a `UserError` naming the file, the
benchmark and the key, before any job starts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from rlvr_limits.data.loaders import LOADERS
from rlvr_limits.data.visual import MULTIPLE_CHOICE
from rlvr_limits.data.where import DateWindow, parse_where
from rlvr_limits.errors import UserError

TYPES = ("math", "arithmetic", "code", "visual")
FORMATS = ("jsonl", "jsonl.gz", "json", "parquet")
REPO_TYPES = ("dataset", "model")
SOURCE_KINDS = ("url", "urls", "hub", "local")
#: `sha256: lock` means: record the hash of the first good download in the lock file, enforce it later.
LOCK = "lock"
ENTRY_KEYS = ("type", "source", "sha256", "format", "loader", "n_problems", "where", "split", "free_form",
              "reference", "license", "description")
SPLIT_KEYS = ("seed", "size", "part")
REQUIRED_KEYS = ("type", "source", "format", "loader", "n_problems", "license", "description")
HUB_KEYS = ("repo", "repo_type", "revision", "path", "paths")

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
class SourceFile:
    """One file of a benchmark's source and the hash it must have. Exactly one of url/hub/local_path is set."""

    key: str  # how the manifest names the file: the URL, the path in the hub repository, or the local path
    url: str | None
    hub: HubFile | None
    local_path: str | None
    sha256: str | None  # 64 hex digits, "lock", or None (a local file that is not checked)

    @property
    def description(self) -> str:
        """One line naming the file, for logs, error messages and the lock file."""
        if self.url is not None:
            return self.url
        if self.hub is not None:
            h = self.hub
            return f"hf://{h.repo_type}s/{h.repo}@{h.revision}/{h.path}"
        return f"local:{self.local_path}"


@dataclass(frozen=True)
class Split:
    """A deterministic split of a benchmark's problems: rank the problems (in file order, after `where:`) by
    sha256 of "<seed>:<position>", the `size` best-ranked form part `first`, the others part `rest`; each part
    keeps file order. For sets whose authors did not publish their split (Omni-MATH-Rule's 2000/821)."""

    seed: int
    size: int
    part: str

    def select(self, n: int) -> list[int]:
        """Positions (0-based, ascending) of the problems in this part, out of n."""
        ranked = sorted(range(n), key=lambda i: hashlib.sha256(f"{self.seed}:{i}".encode()).hexdigest())
        chosen = set(ranked[:self.size]) if self.part == "first" else set(ranked[self.size:])
        return sorted(chosen)


@dataclass(frozen=True)
class Benchmark:
    """One manifest entry: its source files (read in order, records concatenated) and how to read them.

    `multi_file` entries name a list (`urls:` or `hub.paths`): their `sha256:` is a mapping file -> hash (or
    `lock`, recorded per file). Single-file entries have exactly one file and a plain hash.
    """

    name: str
    type: str
    source_kind: str  # "url" | "urls" | "hub" | "local"
    files: tuple[SourceFile, ...]
    multi_file: bool
    where: DateWindow | None
    format: str
    loader: str
    n_problems: int
    license: str
    description: str
    reference: str | None = None  # the `meta` field holding reference responses (a text or a list of texts)
    split: Split | None = None
    free_form: bool = False  # keep only the problems that are not multiple-choice (visual loaders)

    @property
    def url(self) -> str | None:
        """The URL of a single-file `url:` entry."""
        return None if self.multi_file else self.files[0].url

    @property
    def hub(self) -> HubFile | None:
        """The hub file of a single-file `hub:` entry."""
        return None if self.multi_file else self.files[0].hub

    @property
    def local_path(self) -> str | None:
        """The path of a `local:` entry (an input of the `problems` rule)."""
        return self.files[0].local_path

    @property
    def sha256(self) -> str | dict[str, str | None] | None:
        """The expected hash as the manifest gives it (per file for multi-file entries)."""
        if self.multi_file:
            return {f.key: f.sha256 for f in self.files}
        return self.files[0].sha256

    @property
    def source_description(self) -> str:
        """One line naming the source, for logs and error messages."""
        if not self.multi_file:
            return self.files[0].description
        first = self.files[0].hub
        if first is not None:
            paths = ",".join(f.key for f in self.files)
            return f"hf://{first.repo_type}s/{first.repo}@{first.revision}/{{{paths}}}"
        return " + ".join(f.key for f in self.files)

    def source_record(self) -> dict[str, Any]:
        """The source as it appears in the manifest, for sidecars and provenance."""
        first = self.files[0]
        if first.hub is not None:
            hub: dict[str, Any] = {"repo": first.hub.repo, "repo_type": first.hub.repo_type,
                                   "revision": first.hub.revision}
            if self.multi_file:
                hub["paths"] = [f.key for f in self.files]
            else:
                hub["path"] = first.hub.path
            return {"hub": hub}
        if self.multi_file:
            return {"urls": [f.key for f in self.files]}
        if first.url is not None:
            return {"url": first.url}
        return {"local": first.local_path}


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

    kind, multi, files = _source(where, entry["source"])
    loader = _choice(where, "loader", entry["loader"], tuple(LOADERS))
    if (entry["type"] == "visual") != (loader in MULTIPLE_CHOICE):
        raise UserError(f"{where}: `type: visual` goes with an image loader ({sorted(MULTIPLE_CHOICE)}) and "
                        f"those loaders with `type: visual`; got type {entry['type']!r} with loader {loader!r}")
    hashes = _sha256(where, entry.get("sha256"), kind, [f.key for f in files] if multi else None)
    return Benchmark(
        name=name,
        type=_choice(where, "type", entry["type"], TYPES),
        source_kind=kind,
        files=tuple(replace(f, sha256=h) for f, h in zip(files, hashes, strict=True)),
        multi_file=multi,
        where=parse_where(f"{where}.where", entry["where"]) if "where" in entry else None,
        format=_choice(where, "format", entry["format"], FORMATS),
        loader=loader,
        n_problems=_positive_int(where, "n_problems", entry["n_problems"]),
        license=_text(where, "license", entry["license"]),
        description=_text(where, "description", entry["description"]),
        reference=_text(where, "reference", entry["reference"]) if "reference" in entry else None,
        split=_split(f"{where}.split", entry["split"]) if "split" in entry else None,
        free_form=_free_form(where, entry.get("free_form", False), loader),
    )


def _free_form(where: str, value: Any, loader: str) -> bool:
    if not isinstance(value, bool):
        raise UserError(f"{where}.free_form: expected true or false, got {value!r}")
    if value and loader not in MULTIPLE_CHOICE:
        raise UserError(f"{where}.free_form: loader {loader!r} cannot tell multiple-choice problems apart; "
                        f"only {sorted(MULTIPLE_CHOICE)} can")
    return value


def _split(where: str, value: Any) -> Split:
    if not isinstance(value, dict) or set(value) != set(SPLIT_KEYS):
        raise UserError(f"{where}: expected {{seed: int, size: int, part: first|rest}}")
    seed, size = value["seed"], value["size"]
    if isinstance(seed, bool) or not isinstance(seed, int) or isinstance(size, bool) or not isinstance(size, int) \
            or size < 1:
        raise UserError(f"{where}: seed must be an integer and size a positive integer")
    return Split(seed, size, _choice(where, "part", value["part"], ("first", "rest")))


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


def _sha256(where: str, value: Any, kind: str, keys: list[str] | None) -> list[str | None]:
    """The expected hash of each file: one for a single file, one per key (file) of a multi-file source."""
    where = f"{where}.sha256"
    if keys is None:
        return [_one_sha256(where, value, kind)]
    if value == LOCK:
        return [LOCK] * len(keys)
    if not isinstance(value, dict):
        raise UserError(f"{where}: a source with several files needs a mapping file -> 64 hex digits (one "
                        f"entry for each of {keys}), or `lock` to record each file's hash on the first "
                        f"download and enforce it afterwards; got {value!r}")
    missing = [k for k in keys if k not in value]
    unknown = sorted(str(k) for k in value if k not in keys)
    if missing or unknown:
        raise UserError(f"{where}: the keys must be exactly the source's files {keys}"
                        + (f"; missing {missing}" if missing else "") + (f"; unknown {unknown}" if unknown else ""))
    for key in keys:
        if not (isinstance(value[key], str) and _SHA256.match(value[key])):
            raise UserError(f"{where}[{key!r}]: expected 64 lowercase hex digits, got {value[key]!r}")
    return [value[k] for k in keys]


def _one_sha256(where: str, value: Any, kind: str) -> str | None:
    if value is None:
        if kind == "local":
            return None
        raise UserError(f"{where}: required for a downloaded file: 64 hex digits, or `lock` to "
                        "record the hash of the first download in the lock file and enforce it afterwards")
    if value == LOCK and kind != "local":
        return LOCK
    if isinstance(value, str) and _SHA256.match(value):
        return value
    allowed = "64 lowercase hex digits" + (", or leave it out" if kind == "local" else " or `lock`")
    raise UserError(f"{where}: expected {allowed}, got {value!r}")


def _source(where: str, source: Any) -> tuple[str, bool, list[SourceFile]]:
    """(kind, multi_file, files without their hashes) of a `source:` mapping."""
    where = f"{where}.source"
    if not isinstance(source, dict) or len(source) != 1 or next(iter(source)) not in SOURCE_KINDS:
        raise UserError(f"{where}: expected exactly one of `url: <https URL>`, `urls: [<https URL>, ...]`, "
                        "`hub: {repo, repo_type, revision, path | paths}` or `local: <path>`, got "
                        f"{source!r}")
    kind, value = next(iter(source.items()))
    if kind == "url":
        url = _url(f"{where}.url", value)
        return kind, False, [SourceFile(key=url, url=url, hub=None, local_path=None, sha256=None)]
    if kind == "urls":
        urls = [_url(f"{where}.urls[{i}]", u) for i, u in enumerate(_list(f"{where}.urls", value, "URLs"))]
        names = [url_filename(u) for u in urls]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise UserError(f"{where}.urls: several URLs end in the same file name {clash}; they would be "
                            "saved over each other")
        return kind, True, [SourceFile(key=u, url=u, hub=None, local_path=None, sha256=None) for u in urls]
    if kind == "local":
        local = _text(where, "local", value)
        return kind, False, [SourceFile(key=local, url=None, hub=None, local_path=local, sha256=None)]
    multi, hubs = _hub(f"{where}.hub", value)
    return kind, multi, [SourceFile(key=h.path, url=None, hub=h, local_path=None, sha256=None) for h in hubs]


def _list(where: str, value: Any, what: str) -> list[Any]:
    """A non-empty list without repeated items."""
    if not isinstance(value, list) or not value:
        raise UserError(f"{where}: expected a non-empty list of {what}, got {value!r}")
    repeated = sorted({str(v) for v in value if value.count(v) > 1})
    if repeated:
        raise UserError(f"{where}: {repeated} listed more than once")
    return value


def url_filename(url: str) -> str:
    """The file name a URL's download is saved under."""
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) or "download"


def _url(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise UserError(f"{where}: expected a URL string, got {value!r}")
    parts = urlsplit(value)
    loopback_http = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if not (parts.scheme == "https" or loopback_http) or not parts.hostname or not parts.path.strip("/"):
        raise UserError(f"{where}: expected an https:// URL of a file (plain http only for a server on this "
                        f"machine), got {value!r}")
    return value


def _hub(where: str, value: Any) -> tuple[bool, list[HubFile]]:
    """(multi_file, files) of a `hub:` mapping with `path` (one file) or `paths` (several)."""
    if not isinstance(value, dict):
        raise UserError(f"{where}: expected a mapping with keys {list(HUB_KEYS)}, got {value!r}")
    unknown = sorted(set(value) - set(HUB_KEYS))
    if unknown:
        raise UserError(f"{where}: unknown keys {unknown}; allowed keys are {list(HUB_KEYS)}")
    for key in ("repo", "revision"):
        if key not in value:
            raise UserError(f"{where}: missing required key `{key}`"
                            + (" (pin a commit hash so the data cannot change)" if key == "revision" else ""))
    if ("path" in value) == ("paths" in value):
        raise UserError(f"{where}: give exactly one of `path: <file>` (one file) or `paths: [<file>, ...]` "
                        "(several files, read in order)")
    repo = _text(where, "repo", value["repo"])
    if repo.count("/") > 1 or repo.startswith("/") or repo.endswith("/"):
        raise UserError(f"{where}.repo: expected `org/name`, got {repo!r}")
    repo_type = _choice(where, "repo_type", value.get("repo_type", "dataset"), REPO_TYPES)
    revision = _text(where, "revision", value["revision"])
    if "path" in value:
        paths = [_text(where, "path", value["path"]).lstrip("/")]
    else:
        listed = _list(f"{where}.paths", value["paths"], "file paths in the repository")
        paths = _list(f"{where}.paths", [_text(where, f"paths[{i}]", p).lstrip("/") for i, p in enumerate(listed)],
                      "file paths in the repository")
    return "paths" in value, [HubFile(repo=repo, repo_type=repo_type, revision=revision, path=p) for p in paths]
