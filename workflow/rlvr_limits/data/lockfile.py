"""The benchmark lock file (resources/benchmarks.lock.yaml): hashes recorded on first download.

A manifest entry with `sha256: lock` cannot be pinned in advance. Its first good download (checked against
`n_problems`) records the file's sha256 here, together with the source it came from; every later run
enforces that hash. Commit the lock file with the manifest so collaborators get the same data.

A single-file entry is `NAME: {sha256, source, recorded}`. A multi-file entry (`urls:` or `hub.paths`)
holds one such record per file: `NAME: {files: {FILE: {sha256, source, recorded}}}`, so a file added to
the list later is recorded on its next download while the others stay enforced.

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
        files = entry.get("files") if isinstance(entry, dict) else None
        if isinstance(files, dict) and files and all(_is_record(f) for f in files.values()):
            continue
        if not _is_record(entry):
            raise UserError(f"{path}: benchmarks.{name}: expected a mapping with `sha256` and `source` (or "
                            "`files:` of such mappings); restore it from git")
    return entries


def _is_record(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and "files" not in entry


def _form_error(path: Path, name: str, file: str | None) -> UserError:
    recorded, now = ("one file", "several files") if file is not None else ("several files", "one file")
    return UserError(f"{path}: benchmarks.{name} was recorded for {recorded} but the manifest now gives "
                     f"{now}; if the change is intended, delete that entry and rerun")


def _label(name: str, file: str | None) -> str:
    return f"benchmarks.{name}" + (f".files[{file!r}]" if file is not None else "")


def locked_sha256(path: str | Path, name: str, source: str, file: str | None = None) -> str | None:
    """The recorded hash of `name` (of its `file` for a multi-file entry), or None; refuses an entry
    recorded for a different source."""
    path = Path(path)
    entry = read_lock(path).get(name)
    if entry is None:
        return None
    if ("files" in entry) != (file is not None):
        raise _form_error(path, name, file)
    if file is not None:
        entry = entry["files"].get(file)
        if entry is None:
            return None
    if entry.get("source") != source:
        raise UserError(f"{path}: {_label(name, file)} was recorded for source {entry.get('source')!r} but "
                        f"the manifest now says {source!r}; if the change is intended, delete that entry "
                        "and rerun")
    return str(entry["sha256"])


def record_sha256(path: str | Path, name: str, source: str, sha256: str, file: str | None = None) -> None:
    """Record `sha256` for `name` (for its `file` in a multi-file entry) unless a record exists (a concurrent
    job may have made it first)."""
    path = Path(path)
    with _exclusive(path):
        entries = read_lock(path)
        if name in entries and ("files" in entries[name]) != (file is not None):
            raise _form_error(path, name, file)
        holder = entries if file is None else entries.setdefault(name, {"files": {}})["files"]
        key = name if file is None else file
        if key in holder:
            old = holder[key]
            if old.get("sha256") != sha256 or old.get("source") != source:
                raise UserError(f"{path}: {_label(name, file)} was recorded meanwhile with sha256 "
                                f"{old.get('sha256')} from {old.get('source')!r}, but this download has "
                                f"{sha256} from {source!r}")
            return
        holder[key] = {"sha256": sha256, "source": source,
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
