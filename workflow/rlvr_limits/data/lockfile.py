"""The benchmark lock file (resources/benchmarks.lock.yaml): hashes recorded on first download.

A manifest entry with `sha256: lock` cannot be pinned in advance. Its first good download (checked against
`n_problems`) records the file's sha256 here, together with the source it came from; every later run
enforces that hash. Commit the lock file with the manifest so collaborators get the same data.

Several `problems` jobs may record at once, so updates hold an exclusive lock on the lock file's folder
(no stray files) and replace the lock file atomically.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from rlvr_limits.errors import UserError

HEADER = """\
# Hashes recorded by `python -m rlvr_limits problems` for manifest entries with `sha256: lock`.
# The first good download records its sha256; later runs refuse a file with another hash.
# To accept a changed source on purpose, delete its entry and rerun. Commit this file.
"""


def read_lock(path: str | Path) -> dict[str, dict[str, Any]]:
    """Entries by benchmark name (empty when the file does not exist yet)."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: invalid YAML ({exc}); restore it from version control") from None
    entries = doc.get("benchmarks") if isinstance(doc, dict) else None
    if not isinstance(entries, dict):
        raise UserError(f"{path}: expected a top-level mapping `benchmarks:`; restore it from git")
    for name, entry in entries.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise UserError(f"{path}: benchmarks.{name}: expected a mapping with `sha256` and `source`")
    return entries


def locked_sha256(path: str | Path, name: str, source: str) -> str | None:
    """The recorded hash of `name`, or None; refuses an entry recorded for a different source."""
    entry = read_lock(path).get(name)
    if entry is None:
        return None
    if entry.get("source") != source:
        raise UserError(f"{path}: benchmarks.{name} was recorded for source {entry.get('source')!r} but "
                        f"the manifest now says {source!r}; if the change is intended, delete that entry "
                        "and rerun")
    return str(entry["sha256"])


def record_sha256(path: str | Path, name: str, source: str, sha256: str) -> None:
    """Record `sha256` for `name` unless an entry exists (a concurrent job may have recorded it first)."""
    path = Path(path)
    with _exclusive(path):
        entries = read_lock(path)
        if name in entries:
            old = entries[name]
            if old.get("sha256") != sha256 or old.get("source") != source:
                raise UserError(f"{path}: benchmarks.{name} was recorded meanwhile with sha256 "
                                f"{old.get('sha256')} from {old.get('source')!r}, but this download has "
                                f"{sha256} from {source!r}")
            return
        entries[name] = {"sha256": sha256, "source": source,
                         "recorded": datetime.now(UTC).isoformat(timespec="seconds")}
        text = HEADER + yaml.safe_dump({"benchmarks": entries}, sort_keys=True, allow_unicode=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
