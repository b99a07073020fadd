"""A verifier worker process: `python -m rlvr_limits.verify.math.worker FD PROGRESS_FD MEMORY_MB KIND`.

KIND `responses`: whole verifications of responses (extraction and the fast path, `checker.first_pass`);
`symbolic` and `symbolic-warm`: comparisons on the sympy path (the warm kind first parses typical answers).
It caps its memory, says it is ready, then serves lists of tasks received on the socket FD until the socket
closes. Before each task it writes the task's index into the shared page PROGRESS_FD (a store, no system
call), so that pool.py can time each task and kill the worker when one outlives its deadline; results go back
in batches, at least every FLUSH_S, so that a fast task costs no message of its own.
"""

from __future__ import annotations

import mmap
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from multiprocessing.connection import Connection

from rlvr_limits.verify.math import checker
from rlvr_limits.verify.math.pool import PROGRESS
from rlvr_limits.verify.math.verdict import ERROR

KINDS = ("responses", "symbolic", "symbolic-warm")
FLUSH_S = 0.05
FLUSH_MAX = 1024


def run(task: tuple[object, ...]) -> tuple[str, str]:
    """task = (gold, benchmark, tolerance, answer) → (status, reason); never raises."""
    try:
        gold_text, benchmark, tolerance, answer = task
        gold = checker.parse_gold(str(gold_text), None if benchmark is None else str(benchmark),
                                  tolerance if isinstance(tolerance, Fraction) else None)
        from rlvr_limits.verify.math import symbolic  # sympy: only in the workers of the symbolic path

        return checker.judge(gold, str(answer), symbolic.symbolic_equal)
    except MemoryError:
        return (ERROR, "memory limit reached in the symbolic check")
    except RecursionError:
        return (ERROR, "expression nested too deeply for the symbolic check")
    except Exception as exc:  # sympy raises many kinds of errors on odd input; report, never die
        return (ERROR, f"symbolic check failed: {type(exc).__name__}: {str(exc)[:200]}")


def _vm_size_bytes() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def limit_memory(memory_mb: int) -> None:
    """RLIMIT_AS = the current size + memory_mb (where the platform has both)."""
    try:
        import resource
    except ImportError:  # not POSIX: the deadline still applies
        return
    size = _vm_size_bytes()
    if size is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + memory_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def serve(conn: Connection, progress: mmap.mmap, handle: Callable[[tuple[object, ...]], object]) -> None:
    conn.send(("ready", ""))
    while True:
        try:
            tasks = conn.recv()
        except (EOFError, OSError):
            return
        done: list[object] = []
        flushed = time.monotonic()
        for index, task in enumerate(tasks):
            PROGRESS.pack_into(progress, 0, index)
            done.append(handle(task))
            now = time.monotonic()
            if len(done) >= FLUSH_MAX or now - flushed >= FLUSH_S or index == len(tasks) - 1:
                conn.send(done)
                done, flushed = [], now


def main(argv: list[str]) -> int:
    """argv: FD PROGRESS_FD MEMORY_MB KIND (see KINDS)."""
    fd, progress_fd, memory_mb, kind = int(argv[0]), int(argv[1]), int(argv[2]), argv[3]
    if kind not in KINDS:
        raise SystemExit(f"worker kind must be one of {KINDS}, got {kind!r}")
    if kind == "symbolic-warm":
        from rlvr_limits.verify.math import symbolic

        symbolic.warm_up()
    limit_memory(memory_mb)
    serve(Connection(fd), mmap.mmap(progress_fd, PROGRESS.size),
          (lambda task: tuple(checker.first_pass(task))) if kind == "responses" else run)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
