"""Turn Hugging Face Hub failures into one-line `UserError`s that say what to do.

Shared by the benchmark download (hub files) and the model download (hub snapshots). Compute nodes of
clusters are often offline and jobs run with `HF_HUB_OFFLINE=1`, so "not in the cache and the Hub cannot
be reached" gets its own advice: run the download rule on a machine with internet first.
"""

from __future__ import annotations

from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from rlvr_limits.errors import UserError

try:  # huggingface_hub 2.x talks through httpx2, 1.x through httpx
    from httpx2 import TransportError
except ImportError:  # pragma: no cover - depends on the installed huggingface_hub
    from httpx import TransportError


def hub_user_error(exc: Exception, target: str, rerun: str) -> UserError | None:
    """A `UserError` explaining `exc` for `target` (e.g. `model org/name@rev`), or None if not a Hub error.

    `rerun` is the command or rule that downloads `target`, named in the offline advice.
    """
    offline = (f"{target} is not in the local Hugging Face cache and the Hub cannot be reached "
               f"({exc.__class__.__name__}). Compute nodes are often offline (HF_HUB_OFFLINE=1): run "
               f"{rerun} on a machine with internet first, with the same cache directory (HF_HOME / "
               "cache_dir), then rerun here")
    if isinstance(exc, LocalEntryNotFoundError | OfflineModeIsEnabled | TransportError):
        return UserError(offline)
    if isinstance(exc, GatedRepoError):
        return UserError(f"{target}: the repository is gated: accept its terms on huggingface.co and set "
                         "HF_TOKEN (or run `hf auth login`)")
    if isinstance(exc, RepositoryNotFoundError):
        return UserError(f"{target}: repository not found on the Hub (check the id and repo type; a private "
                         "repository needs HF_TOKEN)")
    if isinstance(exc, RevisionNotFoundError):
        return UserError(f"{target}: revision not found in the repository (check the commit hash or tag)")
    if isinstance(exc, EntryNotFoundError):
        return UserError(f"{target}: file not found in the repository at that revision (check the path)")
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else "?"
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        return UserError(f"{target}: the Hub answered HTTP {status} ({first_line}); retry later")
    return None
