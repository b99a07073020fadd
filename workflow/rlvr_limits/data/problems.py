"""`python -m rlvr_limits problems`: download one benchmark (pinned, checksummed) and normalize it.

Writes `--out` (a Parquet table with `tables.PROBLEM_COLUMNS`, one row per problem in file order) and a
JSON sidecar beside it (`<out>.json` without `.parquet`): source, resolved revision, sha256, problem
count and time. The number of problems must equal the manifest's `n_problems`; `--limit` then keeps the
first N (for quick runs). For `sha256: lock` entries the first good file is recorded in the lock file.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from rlvr_limits.data.download import fetch
from rlvr_limits.data.loaders import normalize, read_records
from rlvr_limits.data.lockfile import record_sha256
from rlvr_limits.data.manifest import load_manifest
from rlvr_limits.errors import UserError
from rlvr_limits.io import write_json, write_parquet
from rlvr_limits.progress import LOG
from rlvr_limits.tables import PROBLEM_COLUMNS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bench", required=True, help="benchmark name (a key of the manifest)")
    parser.add_argument("--manifest", default="resources/benchmarks.yaml", help="benchmark manifest")
    parser.add_argument("--lock", default="resources/benchmarks.lock.yaml",
                        help="lock file for entries with `sha256: lock` (created when needed)")
    parser.add_argument("--download-dir", default="results/downloads", help="where downloads are kept")
    parser.add_argument("--out", required=True, help="output Parquet file (sidecar: same name, .json)")
    parser.add_argument("--limit", type=int, help="keep only the first N problems (quick runs)")


def sidecar_path(out: str | Path) -> Path:
    """`results/problems/B.parquet` -> `results/problems/B.json`."""
    return Path(out).with_suffix(".json")


def run(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit: expected a positive integer, got {args.limit}")
    t0 = time.monotonic()
    manifest = load_manifest(args.manifest)
    if args.bench not in manifest:
        raise UserError(f"{args.manifest}: no benchmark {args.bench!r}; known: {sorted(manifest)}")
    bench = manifest[args.bench]
    fetched = fetch(bench, args.download_dir, args.lock)
    rows = normalize(bench.loader, read_records(fetched.path, bench.format))
    if len(rows) != bench.n_problems:
        raise UserError(f"{fetched.path}: holds {len(rows)} problems but {args.manifest} says "
                        f"benchmarks.{bench.name}.n_problems: {bench.n_problems}; check the source (and "
                        "update n_problems and sha256 if it changed on purpose)")
    if fetched.check == "record":
        record_sha256(args.lock, bench.name, bench.source_description, fetched.sha256)
        LOG.info("%s: recorded sha256 %s of %s", args.lock, fetched.sha256, bench.name)
    kept = rows[: args.limit] if args.limit else rows
    write_parquet(pl.DataFrame(kept, schema=PROBLEM_COLUMNS), args.out)
    write_json({
        "benchmark": bench.name,
        "type": bench.type,
        "source": bench.source_record(),
        "revision": fetched.revision,
        "sha256": fetched.sha256,
        "sha256_check": fetched.check,
        "file": str(fetched.path),
        "format": bench.format,
        "loader": bench.loader,
        "license": bench.license,
        "n_problems": len(rows),
        "n_written": len(kept),
        "limit": args.limit,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_s": round(time.monotonic() - t0, 3),
    }, sidecar_path(args.out))
    LOG.info("%s: %d of %d problems of %s (sha256 %s, %s)", args.out, len(kept), len(rows), bench.name,
             fetched.sha256[:12], fetched.check)
    return 0
