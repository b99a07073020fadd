"""Worker processes for the sympy path, each with a hard deadline and a memory cap.

A worker is a fresh interpreter (`python -m rlvr_limits.verify.math.worker`) talking to us over a socket pair:
it never inherits the caller's threads, GPU state or memory, and it never re-imports the caller's main script
(which multiprocessing's spawn and forkserver methods do). It caps its own address space at its size after
importing sympy plus `memory_mb` (RLIMIT_AS, relative so that it works whatever the machine). A check that
outlives its deadline gets its worker killed with SIGKILL (C-level loops in sympy or gmpy cannot be interrupted
any other way) and a replacement starts in the background. No signals are used in the caller, so the pool works from any
thread; a semaphore bounds how many checks run at once.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection

STARTUP_TIMEOUT_S = 120.0


class _Worker:
    def __init__(self, memory_mb: int, warm_up: bool) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "rlvr_limits.verify.math.worker", str(theirs.fileno()), str(memory_mb),
                 "warm-up" if warm_up else "cold"],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, close_fds=True,
                start_new_session=True)  # Ctrl-C in the caller's terminal is the caller's business
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.conn.close()


class Pool:
    """At most `size` concurrent sympy checks, each in a killable worker process."""

    def __init__(self, size: int, memory_mb: int, warm_up: bool = False) -> None:
        """`warm_up`: workers parse a set of typical answers before they report ready (slower start, faster
        first checks: worth it for batches, whose workers start in the background)."""
        self.size, self.memory_mb, self.warm_up = max(1, size), memory_mb, warm_up
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._closed = False

    def _start(self) -> _Worker:
        worker = _Worker(self.memory_mb, self.warm_up)
        with self._lock:
            self._all.add(worker)
        try:
            ready = worker.conn.poll(STARTUP_TIMEOUT_S) and worker.conn.recv() == ("ready", "")
        except (EOFError, OSError):
            ready = False
        if not ready:
            self._retire(worker)
            raise RuntimeError("a verifier worker process did not start")
        return worker

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def _replace(self) -> None:
        """Start a worker for the idle list (run in the background after a worker was killed)."""
        try:
            worker = self._start()
        except RuntimeError:
            return  # the next check starts one itself, and reports if that fails
        with self._lock:
            if not self._closed and len(self._all) <= self.size:
                self._idle.append(worker)
                return
        self._retire(worker)

    def warm(self) -> None:
        """Start every worker ahead of time, so that the first checks do not pay for the start-up."""
        with self._lock:
            missing = self.size - len(self._all)
        started = [self._start() for _ in range(max(missing, 0))]
        with self._lock:
            self._idle.extend(started)

    def run(self, task: tuple[object, ...], timeout_s: float) -> tuple[str, str]:
        """Run `task` in a worker; ("timeout", ...) past the deadline, ("error", ...) if the worker dies."""
        with self._slots:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            try:
                if worker is None:
                    worker = self._start()
                worker.conn.send(task)
                if worker.conn.poll(timeout_s):
                    result = worker.conn.recv()
                    with self._lock:
                        self._idle.append(worker)
                    return result
            except (EOFError, OSError, RuntimeError) as exc:
                if worker is not None:
                    self._retire(worker)
                    threading.Thread(target=self._replace, daemon=True).start()
                return ("error", f"symbolic worker failed ({type(exc).__name__}: memory limit or crash)")
            self._retire(worker)
            threading.Thread(target=self._replace, daemon=True).start()
            return ("timeout", f"symbolic check exceeded {timeout_s:g} s")

    def pids(self) -> list[int]:
        """Process ids of the live workers (for tests and diagnostics)."""
        with self._lock:
            return [w.process.pid for w in self._all if w.process.poll() is None]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._all, self._idle = list(self._all), set(), []
        for worker in workers:
            worker.kill()


def cpu_count() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
