"""The model lock file (resources/models.lock.yaml): the commit a branch or tag resolved to on first download.

A model given as `revision: main` would otherwise follow the repository: a later download of the same config
could fetch other weights and silently change a finished study. The first download records
`"<hf_id>@<revision>": {commit, recorded}` here, and every later download of that hub id and revision fetches
the recorded commit instead of the moving branch. To move to the repository's newest commit on purpose,
delete the entry and rerun the model rule (`snakemake -R model --configfile ...`). Commit this file with the
config so collaborators download the same weights.

Several `model` jobs may record at once, so updates hold an exclusive lock on the folder and replace the file
atomically.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from rlvr_limits.errors import UserError

HEADER = """\
# Commits recorded by `python -m rlvr_limits model` for hub models pinned to a branch or tag (e.g. `main`).
# Later downloads fetch the recorded commit, not the branch. To move to a newer commit on purpose, delete the
# entry and rerun the model rule (snakemake -R model ...). Commit this file.
"""
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def _key(hf_id: str, revision: str) -> str:
    return f"{hf_id}@{revision}"


def read_model_lock(path: str | Path) -> dict[str, dict[str, Any]]:
    """Entries by `hf_id@revision` (empty when the file does not exist yet)."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: invalid YAML ({exc}); restore it from version control") from None
    entries = doc.get("models") if isinstance(doc, dict) else None
    if not isinstance(entries, dict) or not all(
            isinstance(e, dict) and _COMMIT.match(str(e.get("commit", ""))) for e in entries.values()):
        raise UserError(f"{path}: expected `models:` mapping hf_id@revision -> {{commit: <40 hex>, recorded}}; "
                        "restore it from version control")
    return entries


def locked_commit(path: str | Path, hf_id: str, revision: str) -> str | None:
    """The commit recorded for `hf_id@revision`, or None."""
    entry = read_model_lock(path).get(_key(hf_id, revision))
    return None if entry is None else str(entry["commit"])


def record_commit(path: str | Path, hf_id: str, revision: str, commit: str) -> None:
    """Record `commit` for `hf_id@revision`, unless a concurrent job recorded it first (then they must agree)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        entries = read_model_lock(path)
        old = entries.get(_key(hf_id, revision))
        if old is not None:
            if old["commit"] != commit:
                raise UserError(f"{path}: {_key(hf_id, revision)} was recorded meanwhile as {old['commit']}, "
                                f"but this download resolved to {commit}")
            return
        entries[_key(hf_id, revision)] = {"commit": commit, "recorded": datetime.now(UTC).isoformat(
            timespec="seconds")}
        text = HEADER + yaml.safe_dump({"models": entries}, sort_keys=True)
        tmp_fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(tmp_fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    finally:
        os.close(fd)
