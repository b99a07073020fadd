"""Append-only JSONL journal of a shard's finished samples, so a killed job resumes where it stopped.

Line 1 is a header holding a fingerprint of everything that determines the samples (spec, model, template,
prompts, shard); a journal written under other settings is discarded rather than mixed in. Each further line
is one finished sample (tables.SAMPLE_COLUMNS), keyed by (problem_id, sample_idx). Lines are written with a
single unbuffered write and fsync'ed at least once a second and on close, so a crash loses at most the last
second of work on power loss and nothing on a plain kill. A torn last line (the write a crash interrupted) is
dropped; a damaged line anywhere else means the file was edited or corrupted, and is refused.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from rlvr_limits.errors import UserError
from rlvr_limits.progress import LOG

_MAGIC = "rlvr_limits_sample_journal"
_FIELDS: dict[str, tuple[type, ...]] = {
    "problem_id": (str,),
    "sample_idx": (int,),
    "seed": (int,),
    "text": (str,),
    "prompt_tokens": (int,),
    "n_tokens": (int,),
    "finish_reason": (str,),
    "entropy": (float, int),
}


def _check_record(obj: Any) -> str | None:
    """Why `obj` is not a sample record, or None if it is one."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    if set(obj) != set(_FIELDS):
        return f"keys {sorted(obj)} differ from {sorted(_FIELDS)}"
    for key, types in _FIELDS.items():
        if isinstance(obj[key], bool) or not isinstance(obj[key], types):
            return f"'{key}' has type {type(obj[key]).__name__}"
    return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """Open with `open()`, which returns the records already there; then `append()` each new one."""

    def __init__(self, path: str | os.PathLike[str], fingerprint: str, fsync_every_s: float = 1.0) -> None:
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.fsync_every_s = fsync_every_s
        self._fd: int | None = None
        self._last_sync = 0.0

    def open(self) -> dict[tuple[str, int], dict[str, Any]]:
        records = self._read() if self.path.exists() else None
        if records is None:
            self._start()
            records = {}
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._last_sync = time.monotonic()
        return records

    def _start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        header = json.dumps({_MAGIC: 1, "fingerprint": self.fingerprint}) + "\n"
        with open(self.path, "w", encoding="utf-8") as handle:
            handle.write(header)
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_dir(self.path.parent)

    def _read(self) -> dict[tuple[str, int], dict[str, Any]] | None:
        """Records of a valid journal with our fingerprint; None when it must be started over."""
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        if lines[-1]:
            LOG.warning("%s: dropping a torn last line (%d bytes) left by an interrupted write",
                        self.path, len(lines[-1]))
        lines = lines[:-1]
        good_bytes = sum(len(line) + 1 for line in lines)
        try:
            header = json.loads(lines[0]) if lines else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            header = None
        if not isinstance(header, dict) or header.get(_MAGIC) != 1:
            if not lines:
                return None
            raise UserError(f"{self.path}:1: not a sample journal of rlvr-limits; delete it to sample this "
                            "shard from scratch")
        if header.get("fingerprint") != self.fingerprint:
            LOG.warning("%s: written with other settings (spec, model, template or problems changed); "
                        "starting the shard over", self.path)
            return None
        records: dict[tuple[str, int], dict[str, Any]] = {}
        for number, line in enumerate(lines[1:], start=2):
            try:
                obj = json.loads(line)
                problem = _check_record(obj)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                problem = f"invalid JSON ({exc})"
            if problem is not None:
                if number == len(lines):
                    LOG.warning("%s:%d: dropping a damaged last line (%s)", self.path, number, problem)
                    good_bytes -= len(line) + 1
                    break
                raise UserError(f"{self.path}:{number}: damaged journal line ({problem}); delete the file to "
                                "sample this shard from scratch")
            records.setdefault((obj["problem_id"], obj["sample_idx"]), obj)
        if good_bytes != len(data):
            os.truncate(self.path, good_bytes)
        return records

    def append(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            raise RuntimeError("journal is not open")
        line = json.dumps(record, ensure_ascii=False) + "\n"  # NaN entropy round-trips as NaN
        os.write(self._fd, line.encode("utf-8"))
        now = time.monotonic()
        if now - self._last_sync >= self.fsync_every_s:
            os.fsync(self._fd)
            self._last_sync = now

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    def remove(self) -> None:
        """Delete the journal once its samples are safely in the shard table."""
        self.close()
        self.path.unlink(missing_ok=True)
