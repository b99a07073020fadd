"""Fetch the files of a benchmark named by the manifest: pinned, checksummed, never half-written.

- `url:` / `urls:` plain HTTPS with retries and exponential backoff on network errors, HTTP 408/429/5xx
  and truncated bodies. The body streams into a temporary file beside the target and is renamed into
  place only once its length and sha256 are right, so a partial download never lands under its final name.
- `hub:` (`path` or `paths`) `huggingface_hub.hf_hub_download` at the pinned revision into
  `<download dir>/.hub-cache` (the Hub cache layout: a download lands in the cache only once complete),
  with the same retries on HTTP 408/429/5xx and network errors; the resolved commit is reported and
  must be the same for every file of the benchmark.
- `local:` the file is used where it is (typically made by another rule of the workflow).

Each file's expected hash comes from the manifest, or for `sha256: lock` from the lock file (one record
per file for a multi-file source); a mismatch is a `UserError` naming the file and both hashes.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rlvr_limits import __version__
from rlvr_limits.data.lockfile import locked_sha256
from rlvr_limits.data.manifest import LOCK, Benchmark, SourceFile, url_filename
from rlvr_limits.errors import UserError
from rlvr_limits.progress import LOG

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Fetched:
    """A benchmark file on local disk and how its hash was checked."""

    key: str  # the file as the manifest names it (`SourceFile.key`)
    source: str  # `SourceFile.description`, as the lock file records it
    path: Path
    sha256: str
    revision: str | None  # the commit a hub revision resolved to; None for URL and local files
    check: str  # "pinned" (manifest), "locked" (lock file), "record" (lock entry to write), "unchecked"


class _Transient(Exception):
    """A failure worth retrying: network trouble, a busy server or a truncated body."""


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(bench: Benchmark, download_dir: str | Path, lock_path: str | Path, *, retries: int = 4,
          backoff_s: float = 2.0, timeout_s: float = 60.0, endpoint: str | None = None) -> list[Fetched]:
    """Bring each of `bench`'s files to local disk, in manifest order, and check its sha256 (see the
    module docstring)."""
    fetched = []
    for n, file in enumerate(bench.files, start=1):
        if bench.multi_file:
            LOG.info("%s: file %d/%d: %s", bench.name, n, len(bench.files), file.description)
        fetched.append(_fetch_file(bench, file, Path(download_dir), Path(lock_path), retries=retries,
                                   backoff_s=backoff_s, timeout_s=timeout_s, endpoint=endpoint))
    commits = sorted({f.revision for f in fetched if f.revision is not None})
    if len(commits) > 1:
        raise UserError(f"{bench.source_description}: the files of benchmark {bench.name!r} came from different "
                        f"commits {commits}; pin `source.hub.revision` to one commit hash")
    return fetched


def _fetch_file(bench: Benchmark, file: SourceFile, download_dir: Path, lock_path: Path, *, retries: int,
                backoff_s: float, timeout_s: float, endpoint: str | None) -> Fetched:
    expected, origin = _expected(bench, file, lock_path)
    check = ("pinned" if file.sha256 not in (None, LOCK) else
             "locked" if expected else "record" if file.sha256 == LOCK else "unchecked")
    revision = None
    if file.local_path is not None:
        path = Path(file.local_path)
        if not path.is_file():
            raise UserError(f"{path}: benchmark file of {bench.name!r} not found (manifest source "
                            f"`local: {file.local_path}`; a rule makes it, or copy it there)")
        actual = file_sha256(path)
        _check(path, file.description, expected, actual, origin)
    elif file.url is not None:
        path = download_dir / bench.name / url_filename(file.url)
        actual = download_url(file.url, path, expected, origin, retries=retries, backoff_s=backoff_s,
                              timeout_s=timeout_s)
    else:
        # benchmark names start with a letter or digit, so this folder cannot collide with theirs
        path, revision = _download_hub(bench, file, download_dir / ".hub-cache", endpoint, retries=retries,
                                       backoff_s=backoff_s)
        actual = file_sha256(path)
        _check(path, file.description, expected, actual, origin)
    return Fetched(key=file.key, source=file.description, path=path, sha256=actual, revision=revision,
                   check=check)


def _expected(bench: Benchmark, file: SourceFile, lock_path: Path) -> tuple[str | None, str]:
    if file.sha256 == LOCK:
        recorded = locked_sha256(lock_path, bench.name, file.description,
                                 file.key if bench.multi_file else None)
        return recorded, f"recorded in {lock_path}"
    where = f"benchmarks.{bench.name}.sha256" + (f"[{file.key!r}]" if bench.multi_file else "")
    return file.sha256, f"{where} in the manifest"


def _check(path: Path, source: str, expected: str | None, actual: str, origin: str) -> None:
    if expected is not None and actual != expected:
        raise UserError(f"{path} (from {source}): sha256 mismatch: expected {expected} ({origin}), got "
                        f"{actual}. The source changed or the file is corrupt; if the change is intended, "
                        "update the hash (or delete the lock entry) after checking the new file")


def download_url(url: str, dest: Path, expected: str | None, origin: str, *, retries: int = 4,
                 backoff_s: float = 2.0, timeout_s: float = 60.0) -> str:
    """Download `url` to `dest` (reusing a file that already has the expected hash); returns its sha256."""
    if expected is not None and dest.is_file() and file_sha256(dest) == expected:
        LOG.info("%s: already downloaded, sha256 matches", dest)
        return expected
    dest.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(retries + 1):
        try:
            tmp, actual, size = _download_once(url, dest, timeout_s)
            break
        except _Transient as exc:
            if attempt == retries:
                raise UserError(f"{url}: download failed after {retries + 1} attempts (last: {exc}); check "
                                "the network. Compute nodes are often offline: download on a machine with "
                                "internet, then rerun") from None
            wait = min(backoff_s * 2**attempt, 60.0)
            LOG.warning("%s: %s; retry %d/%d in %.1f s", url, exc, attempt + 1, retries, wait)
            time.sleep(wait)
    try:
        _check(dest, url, expected, actual, origin)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    LOG.info("%s: downloaded %d bytes from %s (sha256 %s)", dest, size, url, actual)
    return actual


def _download_once(url: str, dest: Path, timeout_s: float) -> tuple[Path, str, int]:
    """One attempt: stream into a temporary file beside `dest`; returns (temp path, sha256, bytes)."""
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(name)
    request = urllib.request.Request(url, headers={"User-Agent": f"rlvr-limits/{__version__}"})
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout_s) as response:
            announced = response.headers.get("Content-Length")
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if announced is not None and announced.isdigit() and size != int(announced):
            raise _Transient(f"truncated: received {size} of {announced} bytes")
        return tmp, digest.hexdigest(), size
    except urllib.error.HTTPError as exc:
        tmp.unlink(missing_ok=True)
        if exc.code in (408, 429) or exc.code >= 500:
            raise _Transient(f"HTTP {exc.code} {exc.reason}") from None
        raise UserError(f"{url}: HTTP {exc.code} {exc.reason}; check `source.url` in the manifest") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        tmp.unlink(missing_ok=True)
        raise _Transient(f"{exc.__class__.__name__}: {exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _download_hub(bench: Benchmark, file: SourceFile, cache_dir: Path, endpoint: str | None, *, retries: int,
                  backoff_s: float) -> tuple[Path, str | None]:
    """`hf_hub_download` at the pinned revision, retried on transient failures; returns the cached file and
    the commit it resolved to."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError

    from rlvr_limits.data.hub import TransportError, hub_user_error

    hub = file.hub
    assert hub is not None
    for attempt in range(retries + 1):
        try:
            local = Path(hf_hub_download(repo_id=hub.repo, filename=hub.path, repo_type=hub.repo_type,
                                         revision=hub.revision, cache_dir=cache_dir, endpoint=endpoint))
            break
        except Exception as exc:
            status = exc.response.status_code if isinstance(exc, HfHubHTTPError) and exc.response is not None \
                else None
            transient = isinstance(exc, TransportError) or status in (408, 429) or (status or 0) >= 500
            if transient and attempt < retries:
                wait = min(backoff_s * 2**attempt, 60.0)
                LOG.warning("%s: %s; retry %d/%d in %.1f s", file.description, exc.__class__.__name__,
                            attempt + 1, retries, wait)
                time.sleep(wait)
                continue
            error = hub_user_error(exc, f"benchmark {bench.name!r} ({file.description})",
                                   f"`python -m rlvr_limits problems --bench {bench.name} ...`")
            if error is None:
                raise
            raise error from None
    # hf_hub_download returns <cache>/<repo>/snapshots/<commit>/<path>
    snapshot = local.parents[len(Path(hub.path).parts) - 1]
    return local, snapshot.name if snapshot.parent.name == "snapshots" else None
