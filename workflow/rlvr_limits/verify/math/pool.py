"""Verifier worker processes, each task under a hard deadline, each worker under a memory cap.

A worker is a fresh interpreter (`python -m rlvr_limits.verify.math.worker`) talking to us over a socket pair:
it never inherits the caller's threads, GPU state or memory, and it never re-imports the caller's main script
(which multiprocessing's spawn and forkserver methods do). It caps its own address space at its size after
start-up plus `memory_mb` (RLIMIT_AS, relative so that it works whatever the machine). Tasks go to a worker in
chunks; it writes the index of the task it is running into a page shared with us and sends results in batches.
A task that is still running `timeout_s` after we first saw it start (at most TICK_S late; the first task of a
chunk, the only one of a single check, from the moment it is sent) gets its worker killed with SIGKILL
(C-level loops in a regex, sympy or gmpy cannot be interrupted any other way) and is answered `timeout`; the
tasks whose results died with the worker run again in a new one, and the rest go on. No signals are used in
the caller, so the pool works from any thread; a semaphore bounds how many workers run at once.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

STARTUP_TIMEOUT_S = 120.0
#: the page shared with a worker: the index, in the chunk it serves, of the task it is running (-1: none yet)
PROGRESS = struct.Struct("<q")
TICK_S = 0.05  # how often a silent worker's progress is looked at
CHUNK = 4096  # tasks sent to a worker at once ...
CHUNK_CHARS = 8_000_000  # ... and at most about this much text, beyond the first task

#: failed(status, reason) -> the result that stands for a task that timed out or whose worker died
Failed = Callable[[str, str], Any]


class _Worker:
    def __init__(self, kind: str, memory_mb: int) -> None:
        ours, theirs = socket.socketpair()
        with tempfile.TemporaryFile() as page:
            try:
                os.ftruncate(page.fileno(), mmap.PAGESIZE)
                self.progress = mmap.mmap(page.fileno(), PROGRESS.size)
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "rlvr_limits.verify.math.worker", str(theirs.fileno()),
                     str(page.fileno()), str(memory_mb), kind],
                    pass_fds=(theirs.fileno(), page.fileno()), stdin=subprocess.DEVNULL, close_fds=True,
                    start_new_session=True)  # Ctrl-C in the caller's terminal is the caller's business
            finally:
                theirs.close()
        self.conn = Connection(ours.detach())

    def running(self) -> int:
        """Index, in the chunk sent last, of the task the worker is running (-1: it has not started one)."""
        return PROGRESS.unpack_from(self.progress, 0)[0]

    def send(self, chunk: list[tuple[object, ...]]) -> None:
        PROGRESS.pack_into(self.progress, 0, -1)
        self.conn.send(chunk)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        with contextlib.suppress(OSError):  # closed already, by a pool closing while this worker was starting
            self.conn.close()
        self.progress.close()


class Pool:
    """At most `size` workers of one kind (see worker.KINDS) running tasks at once."""

    def __init__(self, kind: str, size: int, memory_mb: int, failed: Failed, what: str) -> None:
        """`failed` builds the result of a task that timed out or crashed; `what` names a task in reasons."""
        self.kind, self.size, self.memory_mb, self.failed, self.what = kind, max(1, size), memory_mb, failed, what
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._closed = False

    def _start(self) -> _Worker:
        worker = _Worker(self.kind, self.memory_mb)
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
        except (RuntimeError, OSError):
            return  # the next task starts one itself, and reports if that fails
        with self._lock:
            if not self._closed and len(self._all) <= self.size:
                self._idle.append(worker)
                return
        self._retire(worker)

    def _discard(self, worker: _Worker) -> None:
        self._retire(worker)
        threading.Thread(target=self._replace, daemon=True).start()

    def warm(self) -> None:
        """Start every worker ahead of time, so that the first tasks do not pay for the start-up."""
        with self._lock:
            missing = self.size - len(self._all)
        started = [self._start() for _ in range(max(missing, 0))]
        with self._lock:
            self._idle.extend(started)

    def run(self, task: tuple[object, ...], timeout_s: float) -> Any:
        """The result of one task (see `map`)."""
        return self.map([task], timeout_s)[0]

    def _take(self) -> _Worker:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        return worker or self._start()

    def map(self, tasks: Sequence[tuple[object, ...]], timeout_s: float,
            on_results: Callable[[list[Any]], None] | None = None) -> list[Any]:
        """The result of each task, in order, all in one worker: a task may run for `timeout_s` (past that its
        result is a `timeout`), and one that kills its worker fails. `on_results` sees the results as they
        come, a batch at a time."""
        results: list[Any] = [None] * len(tasks)
        resolved = [False] * len(tasks)

        def add(index: int, batch: list[Any]) -> None:
            results[index:index + len(batch)] = batch
            resolved[index:index + len(batch)] = [True] * len(batch)
            if on_results is not None:
                on_results(batch)

        with self._slots:
            worker: _Worker | None = None
            start = 0
            while True:
                while start < len(tasks) and resolved[start]:
                    start += 1
                if start == len(tasks):
                    break
                try:
                    worker = worker or self._take()
                except RuntimeError as exc:  # no worker starts: every task left fails the same way
                    for index in range(start, len(tasks)):
                        if not resolved[index]:
                            add(index, [self.failed("error", str(exc))])
                    break
                chunk = _chunk(tasks, resolved, start)
                if not self._serve(worker, chunk, start, timeout_s, add):
                    self._discard(worker)
                    worker = None
            if worker is not None:
                with self._lock:
                    self._idle.append(worker)
        return results

    def _serve(self, worker: _Worker, chunk: Sequence[tuple[object, ...]], start: int, timeout_s: float,
               add: Callable[[int, list[Any]], None]) -> bool:
        """Run one chunk (tasks start, start + 1, ...); False when the worker had to go. A task that outlives the
        deadline or kills the worker is answered; tasks whose results were lost with it are left to run again."""
        received = 0
        seen, seen_at = 0, time.monotonic()  # the first task's clock starts when it is sent
        try:
            worker.send(list(chunk))
            while received < len(chunk):
                if worker.conn.poll(min(TICK_S, max(seen_at + timeout_s - time.monotonic(), 0.0))):
                    batch = worker.conn.recv()
                    add(start + received, batch)
                    received += len(batch)
                    continue
                running, now = max(worker.running(), received), time.monotonic()
                if running != seen:
                    seen, seen_at = running, now
                elif now - seen_at > timeout_s:
                    add(start + running, [self.failed("timeout", f"{self.what} exceeded {timeout_s:g} s")])
                    return False
        except (EOFError, OSError) as exc:
            running = max(worker.running(), received)
            if running < len(chunk):
                add(start + running, [self.failed("error", f"verifier worker failed ({type(exc).__name__}: "
                                                           "memory limit or crash)")])
            return False
        return True

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


def _chunk(tasks: Sequence[tuple[object, ...]], resolved: list[bool], start: int) -> Sequence[tuple[object, ...]]:
    """The tasks sent to a worker next, from `start` up to one already answered: at most CHUNK of them and
    about CHUNK_CHARS of text in their first fields (the response)."""
    end, chars = start, 0
    while end < len(tasks) and not resolved[end] and end - start < CHUNK and (end == start or chars < CHUNK_CHARS):
        first = tasks[end][0]
        chars += len(first) if isinstance(first, str) else 0
        end += 1
    return tasks[start:end]


def cpu_count() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
