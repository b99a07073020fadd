"""Atomic, validated reads and writes of the workflow's tables and sidecars.

Every table is written to a temporary file in the destination folder and renamed into place, so a crash
never leaves a half-written file under its final name. Reads check that the file is a complete Parquet
file with the expected columns, so a truncated or foreign file is refused instead of read as data.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from rlvr_limits.errors import UserError


def _temp_path_beside(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def _replace_durably(tmp: Path, path: Path) -> None:
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_parquet(df: pl.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write `df` to `path` atomically (temp file + rename)."""
    path = Path(path)
    tmp = _temp_path_beside(path)
    try:
        df.write_parquet(tmp, compression="zstd", statistics=True)
        _replace_durably(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_parquet(path: str | os.PathLike[str], required: Iterable[str] = ()) -> pl.DataFrame:
    """Read a table written by this workflow, refusing truncated or foreign files with a clear message."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    try:
        pq.read_metadata(path)
        df = pl.read_parquet(path)
    except Exception as exc:  # pyarrow and polars raise many types for corrupt files
        raise UserError(f"{path}: not a complete Parquet file ({exc.__class__.__name__}: {exc}); "
                        "delete it and rerun the rule that makes it") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise UserError(f"{path}: missing columns {missing}; this file was not written by this "
                        f"stage of rlvr-limits (has {df.columns})")
    return df


def write_json(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write `obj` as pretty JSON atomically."""
    path = Path(path)
    tmp = _temp_path_beside(path)
    try:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
        _replace_durably(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(text: str, path: str | os.PathLike[str]) -> None:
    """Write `text` atomically."""
    path = Path(path)
    tmp = _temp_path_beside(path)
    try:
        tmp.write_text(text)
        _replace_durably(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file, naming the file and line on a syntax error."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
