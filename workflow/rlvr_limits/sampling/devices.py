"""Claim GPUs for one job on a multi-GPU machine, because Snakemake does not assign devices.

With `snakemake --resources gpu=8` on an 8-GPU box, eight `gpu=1` jobs run at once and would all see every GPU.
Each job therefore takes an exclusive lock per device (a file under the system temp dir, released by the kernel
when the process ends, even on a crash) and narrows CUDA_VISIBLE_DEVICES to the devices it holds. Under SLURM the
allocation already isolates devices (and jobs on one node may all see device 0), so nothing is claimed there.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from rlvr_limits.progress import LOG

#: Locks held for the life of the process.
_HELD: list[IO[str]] = []


def visible_devices() -> list[str]:
    """Devices this process may use: CUDA_VISIBLE_DEVICES if set, else the GPUs nvidia-smi lists."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d for d in env.split(",") if d.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    listing = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=60, check=False)
    return [line.strip() for line in listing.stdout.splitlines() if line.strip()]


def _try_lock(path: Path) -> IO[str] | None:
    handle = open(path, "a")  # noqa: SIM115 - kept open: the lock lives as long as the file description
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def claim(count: int, lock_dir: Path | None = None, poll_s: float = 5.0) -> list[str]:
    """Lock `count` free devices among the visible ones (waiting while others hold them) and return them."""
    devices = visible_devices()
    if count > len(devices):
        return devices
    lock_dir = lock_dir or Path(tempfile.gettempdir()) / "rlvr-limits-gpus"
    lock_dir.mkdir(parents=True, exist_ok=True)
    waited = False
    while True:
        held: list[tuple[str, IO[str]]] = []
        for device in devices:
            handle = _try_lock(lock_dir / f"gpu-{device}.lock")
            if handle is not None:
                held.append((device, handle))
            if len(held) == count:
                _HELD.extend(h for _, h in held)
                return [d for d, _ in held]
        for _, handle in held:
            handle.close()
        if not waited:
            LOG.info("waiting for %d free GPU(s) among %s (held by other jobs)", count, devices)
            waited = True
        time.sleep(poll_s)


def pin_devices(count: int) -> None:
    """Narrow CUDA_VISIBLE_DEVICES to `count` claimed devices, unless SLURM or the user already decided."""
    if os.environ.get("SLURM_JOB_ID") or os.environ.get("RLVR_LIMITS_CLAIM_GPUS", "1") == "0":
        return
    devices = visible_devices()
    if len(devices) <= count:
        return
    chosen = claim(count)
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(chosen)
    LOG.info("using GPU(s) %s of %s", ",".join(chosen), ",".join(devices))
