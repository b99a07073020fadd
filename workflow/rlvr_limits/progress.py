"""Progress lines for long stages: done/total, rate and ETA, on stderr and in the rule's log file."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

LOG = logging.getLogger("rlvr_limits")


def setup_logging(log_file: str | None, verbose: bool = False) -> None:
    """Send the package's log records to stderr and, when given, to the rule's `log:` file."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="a"))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    for handler in handlers:
        handler.setFormatter(fmt)
    LOG.handlers[:] = handlers
    LOG.setLevel(logging.DEBUG if verbose else logging.INFO)
    LOG.propagate = False


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Reports `label: done/total (pct) rate/s ETA` at most every `every_s` seconds, and once at the end."""

    def __init__(self, label: str, total: int, unit: str = "items", every_s: float = 5.0,
                 done: int = 0) -> None:
        self.label, self.total, self.unit, self.every_s = label, total, unit, every_s
        self.start_done = self.done = done
        self.t0 = self._last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.every_s or self.done >= self.total:
            self._last = now
            LOG.info(self.line())

    def line(self) -> str:
        elapsed = time.monotonic() - self.t0
        fresh = self.done - self.start_done
        rate = fresh / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        pct = 100.0 * self.done / self.total if self.total else 100.0
        eta = _duration(left) if left != float("inf") else "?"
        return (f"{self.label}: {self.done}/{self.total} {self.unit} ({pct:.1f}%) "
                f"{rate:.1f} {self.unit}/s, elapsed {_duration(elapsed)}, ETA {eta}")
