"""Fetch a benchmark file named by the manifest: pinned, checksummed, never half-written.

- `url:` plain HTTPS with retries and exponential backoff on network errors, HTTP 408/429/5xx and
  truncated bodies. The body streams into a temporary file beside the target and is renamed into place
  only once its length and sha256 are right, so a partial download never lands under its final name.
- `hub:` `huggingface_hub.hf_hub_download` at the pinned revision into `<download dir>/.hub-cache` (the
  Hub cache layout, which handles partial files); the resolved commit is reported.
- `local:` the file is used where it is (typically made by another rule of the workflow).

The expected hash comes from the manifest, or for `sha256: lock` from the lock file; a mismatch is a
`UserError` naming the file and both hashes.
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
from urllib.parse import unquote, urlsplit

from rlvr_limits import __version__
from rlvr_limits.data.lockfile import locked_sha256
from rlvr_limits.data.manifest import LOCK, Benchmark
from rlvr_limits.errors import UserError
from rlvr_limits.progress import LOG

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Fetched:
    """A benchmark file on local disk and how its hash was checked."""

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
          backoff_s: float = 2.0, timeout_s: float = 60.0, endpoint: str | None = None) -> Fetched:
    """Bring `bench`'s file to local disk and check its sha256 (see the module docstring)."""
    expected, origin = _expected(bench, Path(lock_path))
    check = ("pinned" if bench.sha256 not in (None, LOCK) else
             "locked" if expected else "record" if bench.sha256 == LOCK else "unchecked")
    revision = None
    if bench.local_path is not None:
        path = Path(bench.local_path)
        if not path.is_file():
            raise UserError(f"{path}: benchmark file of {bench.name!r} not found (manifest source "
                            f"`local: {bench.local_path}`; a rule makes it, or copy it there)")
        actual = file_sha256(path)
        _check(path, bench.source_description, expected, actual, origin)
    elif bench.url is not None:
        path = Path(download_dir) / bench.name / _url_filename(bench.url)
        actual = download_url(bench.url, path, expected, origin, retries=retries, backoff_s=backoff_s,
                              timeout_s=timeout_s)
    else:
        # benchmark names start with a letter or digit, so this folder cannot collide with theirs
        path, revision = _download_hub(bench, Path(download_dir) / ".hub-cache", endpoint)
        actual = file_sha256(path)
        _check(path, bench.source_description, expected, actual, origin)
    return Fetched(path=path, sha256=actual, revision=revision, check=check)


def _expected(bench: Benchmark, lock_path: Path) -> tuple[str | None, str]:
    if bench.sha256 == LOCK:
        recorded = locked_sha256(lock_path, bench.name, bench.source_description)
        return recorded, f"recorded in {lock_path}"
    return bench.sha256, f"benchmarks.{bench.name}.sha256 in the manifest"


def _check(path: Path, source: str, expected: str | None, actual: str, origin: str) -> None:
    if expected is not None and actual != expected:
        raise UserError(f"{path} (from {source}): sha256 mismatch: expected {expected} ({origin}), got "
                        f"{actual}. The source changed or the file is corrupt; if the change is intended, "
                        "update the hash (or delete the lock entry) after checking the new file")


def _url_filename(url: str) -> str:
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) or "download"


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


def _download_hub(bench: Benchmark, cache_dir: Path, endpoint: str | None) -> tuple[Path, str | None]:
    """`hf_hub_download` at the pinned revision; returns the cached file and the commit it resolved to."""
    from huggingface_hub import hf_hub_download

    from rlvr_limits.data.hub import hub_user_error

    hub = bench.hub
    assert hub is not None
    try:
        local = Path(hf_hub_download(repo_id=hub.repo, filename=hub.path, repo_type=hub.repo_type,
                                     revision=hub.revision, cache_dir=cache_dir, endpoint=endpoint))
    except Exception as exc:
        error = hub_user_error(exc, f"benchmark {bench.name!r} ({bench.source_description})",
                               f"`python -m rlvr_limits problems --bench {bench.name} ...`")
        if error is None:
            raise
        raise error from None
    # hf_hub_download returns <cache>/<repo>/snapshots/<commit>/<path>
    snapshot = local.parents[len(Path(hub.path).parts) - 1]
    return local, snapshot.name if snapshot.parent.name == "snapshots" else None
