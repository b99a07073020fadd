"""`python -m rlvr_limits model`: resolve a model (local directory or hub id@revision) and record it.

`--spec` is the model's source as JSON: `{"path": "<dir>"}` or `{"hf_id": "org/name", "revision": "<commit
or tag>", "cache_dir": "<optional HF cache>", "lock": "<model lock file>"}`, either with `"weights": false` for a
model that a server runs (engine server): then only its config and tokenizer are fetched and checked. With a
`lock`, a revision that is not a commit (a branch such as `main`, or a tag) is resolved once and recorded there,
and every later download fetches the recorded commit (`rlvr_limits.models.lock`). A hub model is downloaded once with
`snapshot_download` (config, tokenizer and one set of weights: safetensors when the repository has them, else
`pytorch_model*.bin`), and the commit the revision resolved to is recorded. The workflow runs this as a
local rule, because compute nodes are often offline (`HF_HUB_OFFLINE=1`); later jobs load the recorded
`path` without touching the network.

Either way the directory is checked to hold a loadable model (a parseable `config.json`, tokenizer files,
complete weights: every shard of an index present, every safetensors file as long as its header says) and
its config, tokenizer and weight files are hashed. The record (`--out`) is
`{"name", "source": "local"|"hub", "path", "hf_id", "revision_requested", "revision_resolved",
"model_type", "architectures", "sha256": {file: hash}, "bytes", "time"}`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rlvr_limits.analysis.spec import parse_spec as parse_json_spec
from rlvr_limits.errors import UserError
from rlvr_limits.io import write_json
from rlvr_limits.models.lock import locked_commit, record_commit
from rlvr_limits.progress import LOG, Progress

#: Tokenizer files a loadable model needs at least one of (besides `*.tiktoken`).
TOKENIZER_CORE = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt")
#: Small text files recorded and hashed when present.
TOKENIZER_EXTRA = ("tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "merges.txt",
                   "chat_template.jinja", "chat_template.json")
META_FILES = ("config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json")
SAFETENSORS_INDEX = "model.safetensors.index.json"
BIN_INDEX = "pytorch_model.bin.index.json"
SPEC_KEYS = ("path", "hf_id", "revision", "cache_dir", "lock", "weights")

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_CHUNK = 1 << 20


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="model name (a key of config `models:`)")
    parser.add_argument("--spec", required=True,
                        help='JSON: {"path": DIR} or {"hf_id": ID, "revision": REV, "cache_dir": DIR?}')
    parser.add_argument("--out", required=True, help="model record to write (results/models/NAME.json)")


def run(args: argparse.Namespace) -> int:
    spec = parse_spec(args.spec, args.name)
    write_json(resolve(args.name, spec), args.out)
    LOG.info("%s: recorded model %s", args.out, args.name)
    return 0


def parse_spec(text: str, name: str) -> dict[str, Any]:
    """Validate `--spec`; exactly one of `path` and `hf_id`; a hub model needs a revision."""
    where = f"--spec of model {name!r}"
    spec = parse_json_spec(text, f"model {name!r}")
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise UserError(f"{where}: unknown keys {unknown}; allowed keys are {list(SPEC_KEYS)}")
    if ("path" in spec) == ("hf_id" in spec):
        raise UserError(f"{where}: give exactly one of `path` (a local model directory) and `hf_id`")
    if not isinstance(spec.get("weights", True), bool):
        raise UserError(f"{where}: `weights` must be true or false, got {spec['weights']!r}")
    if "path" in spec:
        if set(spec) - {"weights"} != {"path"}:
            raise UserError(f"{where}: `revision`, `cache_dir` and `lock` apply to `hf_id` models only")
        keys: tuple[str, ...] = ("path",)
    else:
        if "revision" not in spec:
            raise UserError(f"{where}: `revision` is required with `hf_id` (pin a commit hash so the model "
                            "cannot change under you)")
        keys = tuple(k for k in ("hf_id", "revision", "cache_dir", "lock") if k in spec)
    for key in keys:
        if not isinstance(spec[key], str) or not spec[key].strip():
            raise UserError(f"{where}: `{key}` must be a non-empty string, got {spec[key]!r}")
    return spec


def resolve(name: str, spec: dict[str, Any], endpoint: str | None = None) -> dict[str, Any]:
    """Download (hub) or locate (path) the model, check it, hash it; returns the model record."""
    if "path" in spec:
        path, source, resolved = Path(spec["path"]), "local", None
    else:
        hf_id, revision, lock = spec["hf_id"], spec["revision"], spec.get("lock")
        locked = locked_commit(lock, hf_id, revision) if lock and not _COMMIT.match(revision) else None
        path = download_hub(hf_id, locked or revision, spec.get("cache_dir"), endpoint, spec.get("weights", True))
        source, resolved = "hub", path.name
        if locked is not None:
            if resolved != locked:
                raise UserError(f"model {name}: {lock} records {hf_id}@{revision} as commit {locked}, but the "
                                f"download is {resolved}")
            LOG.info("model %s: revision %r is locked to commit %s (%s)", name, revision, locked, lock)
        elif not _COMMIT.match(revision):
            LOG.warning("model %s: revision %r is not a commit hash; it resolved to %s (recorded%s)", name,
                        revision, resolved, f" in {lock}" if lock else "")
            if lock:
                record_commit(lock, hf_id, revision, resolved)
    files = model_files(path, spec.get("weights", True))
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    hashes, total = hash_files(path, files, f"hash {name}")
    return {
        "name": name,
        "source": source,
        "path": str(path),
        "hf_id": spec.get("hf_id"),
        "revision_requested": spec.get("revision"),
        "revision_resolved": resolved,
        "model_type": config.get("model_type"),
        "architectures": config.get("architectures"),
        "sha256": hashes,
        "bytes": total,
        **({} if spec.get("weights", True) else {"weights": False}),
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def select_hub_files(files: list[str], weights: bool = True) -> list[str]:
    """The top-level files to download: config and tokenizer files plus, with `weights`, one set of weights."""
    top = [f for f in files if "/" not in f]
    if "config.json" not in top:
        raise UserError("the repository has no top-level config.json, so it is not a transformers model")
    if not weights:
        return sorted(f for f in top if f.endswith((".json", ".model", ".tiktoken", ".jinja", ".txt"))
                      and f not in (SAFETENSORS_INDEX, BIN_INDEX))
    safetensors = [f for f in top if f.endswith(".safetensors")]
    bins = [f for f in top if f.startswith("pytorch_model") and f.endswith(".bin")]
    if not safetensors and not bins:
        raise UserError("the repository has no top-level weights (*.safetensors or pytorch_model*.bin)")
    skip_index = BIN_INDEX if safetensors else SAFETENSORS_INDEX
    small = [f for f in top if (f.endswith((".json", ".model", ".tiktoken", ".jinja"))
                                or f in ("merges.txt", "vocab.txt")) and f != skip_index]
    return sorted(small + (safetensors or bins))


def download_hub(hf_id: str, revision: str, cache_dir: str | None, endpoint: str | None = None,
                 weights: bool = True) -> Path:
    """The snapshot folder of `hf_id@revision` (its name is the resolved commit), downloading what is missing.

    Offline (HF_HUB_OFFLINE=1 or no network) the snapshot must already be in the cache.
    """
    from huggingface_hub import HfApi, constants, snapshot_download
    from huggingface_hub.errors import OfflineModeIsEnabled

    from rlvr_limits.data.hub import TransportError, hub_user_error

    target = f"model {hf_id}@{revision}"
    try:
        try:
            if constants.HF_HUB_OFFLINE:
                raise OfflineModeIsEnabled("HF_HUB_OFFLINE is set")
            info = HfApi(endpoint=endpoint).model_info(hf_id, revision=revision)
        except (OfflineModeIsEnabled, TransportError) as exc:
            LOG.info("%s: the Hub is not reachable (%s); looking in the local cache", target, exc)
            folder = snapshot_download(hf_id, revision=revision, cache_dir=cache_dir, endpoint=endpoint,
                                       allow_patterns=["config.json"], local_files_only=True)
        else:
            try:
                wanted = select_hub_files([s.rfilename for s in info.siblings or []], weights)
            except UserError as exc:
                raise UserError(f"{target}: {exc}") from None
            LOG.info("%s: downloading %d files (resolved commit %s)", target, len(wanted), info.sha)
            folder = snapshot_download(hf_id, revision=revision, cache_dir=cache_dir, endpoint=endpoint,
                                       allow_patterns=wanted)
    except UserError:
        raise
    except Exception as exc:
        error = hub_user_error(exc, target, "`python -m rlvr_limits model ...` (the workflow's `model` rule)")
        if error is None:
            raise
        raise error from None
    return Path(folder)


def model_files(path: Path, weights: bool = True) -> list[str]:
    """Config, tokenizer and (with `weights`) weight files of a model directory, after checking that it is
    loadable."""
    if not path.is_dir():
        raise UserError(f"{path}: model directory not found")
    config = path / "config.json"
    if not config.is_file():
        raise UserError(f"{path}: no config.json, so this is not a transformers model directory")
    try:
        parsed = json.loads(config.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{config}: not valid JSON ({exc}); the download may be incomplete") from None
    if not isinstance(parsed, dict) or not ("model_type" in parsed or "architectures" in parsed):
        raise UserError(f"{config}: has neither `model_type` nor `architectures`")
    present = {p.name for p in path.iterdir() if p.is_file()}
    if not present & set(TOKENIZER_CORE) and not any(n.endswith(".tiktoken") for n in present):
        raise UserError(f"{path}: no tokenizer files (one of {list(TOKENIZER_CORE)} or *.tiktoken); save the "
                        "tokenizer next to the model (tokenizer.save_pretrained)")
    small = [n for n in (*META_FILES, *TOKENIZER_CORE, *TOKENIZER_EXTRA) if n in present]
    small += sorted(n for n in present if n.endswith(".tiktoken"))
    return small + (_weight_files(path, present) if weights else [])


def _weight_files(path: Path, present: set[str]) -> list[str]:
    for index, suffix in ((SAFETENSORS_INDEX, ".safetensors"), (BIN_INDEX, ".bin")):
        if index in present:
            try:
                shards = sorted(set(json.loads((path / index).read_text(encoding="utf-8"))["weight_map"]
                                    .values()))
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise UserError(f"{path / index}: not a weight index ({exc.__class__.__name__})") from None
            missing = [s for s in shards if s not in present]
            if missing:
                raise UserError(f"{path}: shards listed in {index} are missing: {missing}; the download is "
                                "incomplete, download it again")
            if suffix == ".safetensors":
                for shard in shards:
                    _check_safetensors(path / shard)
            return [index, *shards]
    safetensors = sorted(n for n in present if n.endswith(".safetensors"))
    for name in safetensors:
        _check_safetensors(path / name)
    bins = sorted(n for n in present if n.startswith("pytorch_model") and n.endswith(".bin"))
    if not safetensors and not bins:
        raise UserError(f"{path}: no weights (*.safetensors or pytorch_model*.bin)")
    return safetensors or bins


def _check_safetensors(path: Path) -> None:
    """A safetensors file must be exactly as long as its header says (catches truncated downloads)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        length = int.from_bytes(head, "little") if len(head) == 8 else -1
        if not 0 < length <= size - 8:
            raise UserError(f"{path}: not a complete safetensors file ({size} bytes); download it again")
        try:
            header = json.loads(handle.read(length))
            ends = (int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__")
            end = max(ends, default=0)
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError, AttributeError):
            raise UserError(f"{path}: unreadable safetensors header; download it again") from None
    if size != 8 + length + end:
        raise UserError(f"{path}: {size} bytes but its header describes {8 + length + end}: truncated or "
                        "corrupt, download it again")


def hash_files(root: Path, names: list[str], label: str) -> tuple[dict[str, str], int]:
    """sha256 of each file (progress in MiB); returns ({name: hash}, total bytes)."""
    sizes = {n: (root / n).stat().st_size for n in names}
    progress = Progress(label, sum(-(-s // _CHUNK) for s in sizes.values()), unit="MiB")
    hashes = {}
    for name in names:
        digest = hashlib.sha256()
        with open(root / name, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                progress.update(1)
        hashes[name] = digest.hexdigest()
    return hashes, sum(sizes.values())
