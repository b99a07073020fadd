"""`python -m rlvr_limits problems`: download one benchmark (pinned, checksummed) and normalize it.

The records of the benchmark's files are read in manifest order and concatenated, filtered by the
manifest's `where:` window when it has one (then to the free-form problems with `free_form: true`), and
turned into problems by its loader. Writes `--out` (a Parquet table with `tables.PROBLEM_COLUMNS`, one row
per problem in file order; a visual benchmark adds an `image` column naming each problem's image, written
once to `results/problems/NAME/images/`) and a JSON sidecar beside
it (`<out>.json` without `.parquet`): source, resolved revision, sha256 (a mapping file -> hash for a
multi-file source), the filter with its counts, problem count and time. The number of problems must equal
the manifest's `n_problems`. For `sha256: lock` entries the hashes of the first good download are recorded in the
lock file. The table always holds every problem: a config's `limit` is applied by the stages that read it, so a
raised limit finds the problems' positions (and the samples drawn for them) unchanged.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from rlvr_limits.data.download import Fetched, fetch
from rlvr_limits.data.loaders import Record, iter_records, normalize
from rlvr_limits.data.lockfile import record_sha256
from rlvr_limits.data.manifest import Benchmark, load_manifest
from rlvr_limits.data.visual import extract_images, images_dir, keep_free_form
from rlvr_limits.errors import UserError
from rlvr_limits.io import write_json, write_parquet
from rlvr_limits.progress import LOG, Progress
from rlvr_limits.tables import PROBLEM_COLUMNS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bench", required=True, help="benchmark name (a key of the manifest)")
    parser.add_argument("--manifest", default="resources/benchmarks.yaml", help="benchmark manifest")
    parser.add_argument("--lock", default="resources/benchmarks.lock.yaml",
                        help="lock file for entries with `sha256: lock` (created when needed)")
    parser.add_argument("--download-dir", default="results/downloads", help="where downloads are kept")
    parser.add_argument("--out", required=True, help="output Parquet file (sidecar: same name, .json)")


def sidecar_path(out: str | Path) -> Path:
    """`results/problems/B.parquet` -> `results/problems/B.json`."""
    return Path(out).with_suffix(".json")


def run(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    manifest = load_manifest(args.manifest)
    if args.bench not in manifest:
        raise UserError(f"{args.manifest}: no benchmark {args.bench!r}; known: {sorted(manifest)}")
    bench = manifest[args.bench]
    fetched = fetch(bench, args.download_dir, args.lock)
    single = not bench.multi_file
    records, n_read = _records(bench, fetched)
    n_windowed = n_free_form = len(records)
    if bench.free_form:
        records = keep_free_form(bench.loader, records)
        n_free_form = len(records)
        LOG.info("%s: %d of %d problems are free-form (multiple-choice dropped)", bench.name, len(records),
                 n_windowed)
    rows = normalize(bench.loader, records)
    if bench.split is not None:
        chosen = bench.split.select(len(rows))
        rows, records = [rows[i] for i in chosen], [records[i] for i in chosen]
    if len(rows) != bench.n_problems:
        origin = str(fetched[0].path) if single else bench.source_description
        kept = (f" ({n_windowed} of {n_read} records kept by benchmarks.{bench.name}.where: "
                f"{bench.where.describe()})" if bench.where else "")
        if bench.free_form:
            kept += f" ({n_free_form} of {n_windowed} free-form, kept by benchmarks.{bench.name}.free_form)"
        raise UserError(f"{origin}: holds {len(rows)} problems{kept} but {args.manifest} says "
                        f"benchmarks.{bench.name}.n_problems: {bench.n_problems}; check the source (and "
                        "update n_problems and sha256 if it changed on purpose)")
    for got in fetched:
        if got.check == "record":
            record_sha256(args.lock, bench.name, got.source, got.sha256, None if single else got.key)
            LOG.info("%s: recorded sha256 %s of %s (%s)", args.lock, got.sha256, bench.name, got.key)
    schema = dict(PROBLEM_COLUMNS)
    if bench.type == "visual":
        rows = extract_images(rows, records, images_dir(args.out))
        schema["image"] = pl.String
    write_parquet(pl.DataFrame(rows, schema=schema), args.out)
    write_json({
        "benchmark": bench.name,
        "type": bench.type,
        "source": bench.source_record(),
        "revision": fetched[0].revision,
        "sha256": fetched[0].sha256 if single else {f.key: f.sha256 for f in fetched},
        "sha256_check": fetched[0].check if single else {f.key: f.check for f in fetched},
        "file": str(fetched[0].path) if single else [str(f.path) for f in fetched],
        "format": bench.format,
        "where": {**bench.where.spec(), "n_records": n_read, "n_kept": len(records)} if bench.where else None,
        "split": dataclasses.asdict(bench.split) if bench.split else None,
        "free_form": {"n_records": n_windowed, "n_kept": n_free_form}
        if bench.free_form else None,
        "images": str(images_dir(args.out)) if bench.type == "visual" else None,
        "loader": bench.loader,
        "license": bench.license,
        "n_problems": len(rows),
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_s": round(time.monotonic() - t0, 3),
    }, sidecar_path(args.out))
    LOG.info("%s: %d problems of %s (%s)", args.out, len(rows), bench.name,
             ", ".join(f"{f.key} sha256 {f.sha256[:12]} {f.check}" for f in fetched))
    return 0


def _records(bench: Benchmark, fetched: list[Fetched]) -> tuple[list[tuple[str, Record]], int]:
    """The records of all files in order, those outside the `where:` window dropped as they stream by;
    returns them and how many were read."""
    records: list[tuple[str, Record]] = []
    n_read = 0
    progress = Progress(f"{bench.name}: read", len(fetched), "files")
    for got in fetched:
        for where, record in iter_records(got.path, bench.format):
            n_read += 1
            if bench.where is None or bench.where.keeps(where, record):
                records.append((where, record))
        progress.update()
    if bench.where is not None:
        LOG.info("%s: %d of %d records kept by where: %s", bench.name, len(records), n_read,
                 bench.where.describe())
    return records, n_read
