"""The program runner that lives inside the sandbox (standard library only; run as `python -I -S runner.py`).

It is a zygote: it starts once per worker, imports what programs commonly import, and then forks one fresh
child per program, so a check costs a fork instead of a sandbox and an interpreter start. Each child drops to
the sandbox's unprivileged uid (when started as root), sets its own resource limits (address space relative
to its size at fork, CPU time, processes, file size, open files), gets an empty private working directory
and runs the program's tests. After each program, every process the program left behind is killed and its
directory removed, so programs cannot see or disturb each other.

Expected outputs never enter the sandbox: the child streams one JSON record per test (the function's return
value in a typed encoding, or the program's stdout) and the caller compares. A program that writes to the
record channel itself can therefore only make its own check fail.

Protocol on the zygote's stdin/stdout:
  caller -> zygote: b"J" + 8-byte big-endian length + pickle of a job dict (built by check.job_for and
                    Sandbox.run); b"S" stops the running program (a test already failed). A late b"S" that
                    arrives after the program finished is ignored.
  zygote -> caller: b"D" + 4-byte length + one record (JSON); at the end of a program b"E" + 4-byte length +
                    JSON {"end": "done" | "timeout" | "output" | "stopped" | "died", "signal": int, "code": int}
                    ("died": the program's records stopped early; signal/exit code say how it ended).
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import importlib
import io
import json
import math
import os
import pickle
import select
import shutil
import signal
import struct
import sys
import tempfile
import time
import types

#: Modules that the LiveCodeBench preamble imports and most programs use; imported once in the zygote.
WARM_MODULES = ("bisect", "collections", "datetime", "decimal", "fractions", "functools", "heapq", "itertools",
                "operator", "random", "re", "statistics", "string", "typing", "array", "dataclasses", "enum")

PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
MEMORY_EXIT = 86  # exit status of a stdin-mode program that ran out of memory
SLACK_S = 1.0  # the zygote's backstop beyond each test's own limit
READ_CHUNK = 1 << 16
BIG_INT_BITS = 64  # ints wider than this are sent as hex (decimal text of huge ints is limited in Python)


class Timeout(BaseException):
    """Raised by the per-test alarm; a BaseException so that `except Exception` in programs does not hide it."""


def _alarm(signum: int, frame: object) -> None:
    raise Timeout


# ---------------------------------------------------------------------------------------------------------
# Typed encoding of return values: JSON with tags for what JSON cannot say (tuple, set, dict keys, ...).

def encode(value: object) -> object:
    """A JSON-able form of `value` that `compare.decode` turns back into an equal value of the same type."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        value = int(value)
        return value if value.bit_length() <= BIG_INT_BITS else {"~": "i", "v": hex(value)}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"~": "F", "v": repr(value)}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"~": "t", "v": [encode(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"~": "s" if isinstance(value, set) else "f", "v": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"~": "d", "v": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, complex):
        return {"~": "c", "v": [encode(value.real), encode(value.imag)]}
    if isinstance(value, (bytes, bytearray)):
        return {"~": "b", "v": bytes(value).hex()}
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return encode(value.tolist())
    return {"~": "r", "v": [type(value).__qualname__, repr(value)[:1000]]}


# ---------------------------------------------------------------------------------------------------------
# Child side: limits, privileges, running one program.

def _vm_size() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _limit(which: int, value: int) -> None:
    import resource

    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def _confine(job: dict, uid: int | None) -> None:
    """Resource limits, then the unprivileged uid (a root zygote only), then a private working directory."""
    import resource

    _limit(resource.RLIMIT_AS, _vm_size() + job["memory_mb"] * 1024 * 1024)
    _limit(resource.RLIMIT_CPU, math.ceil(job["total_s"] + job["startup_s"]) + 1)
    _limit(resource.RLIMIT_NPROC, job["nproc"])
    _limit(resource.RLIMIT_FSIZE, job["file_mb"] * 1024 * 1024)
    _limit(resource.RLIMIT_NOFILE, 256)
    _limit(resource.RLIMIT_CORE, 0)
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    os.mkdir(job["workdir"], 0o700)
    os.chdir(job["workdir"])


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _record(fd: int, **fields: object) -> None:
    _write_all(fd, json.dumps(fields, allow_nan=False, separators=(",", ":")).encode() + b"\n")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _status_of(exc: BaseException) -> str:
    if isinstance(exc, Timeout):
        return "timeout"
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, AssertionError):
        return "assert"
    return "error"


def _load(job: dict, name: str) -> types.ModuleType:
    """Run the preamble and the program as module `name`, under the start-up time limit."""
    module = types.ModuleType(name)
    sys.modules[name] = module
    signal.setitimer(signal.ITIMER_REAL, job["startup_s"])
    try:
        if job["preamble"]:
            exec(compile(job["preamble"], "<preamble>", "exec"), module.__dict__)
        exec(compile(job["program"], "<program>", "exec"), module.__dict__)
        if job["suffix"]:
            exec(compile(job["suffix"], "<tests>", "exec"), module.__dict__)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return module


def _function(job: dict, module: types.ModuleType) -> object:
    """The entry point: a module-level function, or a method of `Solution()` for LeetCode-style programs."""
    name = job["entry_point"]
    solution = module.__dict__.get("Solution")
    if "class Solution" in job["program"] and isinstance(solution, type):
        method = getattr(solution(), name, None)
        if callable(method):
            return method
    function = module.__dict__.get(name)
    if not callable(function):
        raise LookupError(f"the program defines no function named {name!r}")
    return function


def run_functional(job: dict, out: int) -> None:
    """Call the entry point on each input and stream the encoded return values."""
    try:
        function = _function(job, _load(job, "solution"))
    except BaseException as exc:  # the program's own failure, reported, never raised
        _record(out, s=_status_of(exc), m=_describe(exc))
        return
    _record(out, s="ready")
    for i, args in enumerate(job["inputs"]):
        try:
            args = copy.deepcopy(args)
            signal.setitimer(signal.ITIMER_REAL, job["limits"][i])
            started = time.perf_counter()
            try:
                value = function(*args)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            elapsed = time.perf_counter() - started
            text = json.dumps(encode(value), allow_nan=False, separators=(",", ":"))
        except BaseException as exc:
            _record(out, i=i, s=_status_of(exc), m=_describe(exc))
            continue
        if len(text) > job["caps"][i]:
            _record(out, i=i, s="output", m=f"return value of {len(text)} bytes")
            continue
        _write_all(out, f'{{"i":{i},"s":"ok","t":{elapsed:.6f},"v":{text}}}\n'.encode())


def _stdio_child(job: dict, code: types.CodeType, stdin_fd: int, stdout_fd: int) -> None:
    """In a fresh process: the program as `__main__` with real fds 0 and 1 (input(), sys.stdin.buffer, open(0))."""
    os.setpgid(0, 0)
    os.dup2(stdin_fd, 0)
    os.dup2(stdout_fd, 1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.closerange(3, 1 << 16)
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)))
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)),
                                                   write_through=False)
    status = 0
    module = types.ModuleType("__main__")
    sys.modules["__main__"] = module
    try:
        if job["preamble"]:
            exec(compile(job["preamble"], "<preamble>", "exec"), module.__dict__)
        exec(code, module.__dict__)
    except SystemExit:
        pass  # the exit status is not graded, the output is (LiveCodeBench's rule)
    except MemoryError:
        status = MEMORY_EXIT
    except BaseException:
        status = 1
    try:
        sys.stdout.flush()
    except BaseException:
        status = status or 1
    os._exit(status)


def _one_stdio_test(job: dict, code: types.CodeType, i: int) -> dict:
    stdin_fd = os.memfd_create("stdin")
    _write_all(stdin_fd, job["inputs"][i].encode())
    os.lseek(stdin_fd, 0, os.SEEK_SET)
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    deadline = started + job["limits"][i]
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _stdio_child(job, code, stdin_fd, write_fd)
    os.close(write_fd)
    os.close(stdin_fd)
    chunks, size, verdict = [], 0, None
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(read_fd, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    eof = exited = False
    while not (eof and exited):
        left = deadline - time.monotonic()
        if left <= 0:
            verdict = "timeout"
            break
        events = dict(poller.poll(0 if exited else left * 1000))
        if read_fd in events:
            chunk = os.read(read_fd, READ_CHUNK)
            if not chunk:
                eof = True
                poller.unregister(read_fd)
            chunks.append(chunk)
            size += len(chunk)
            if size > job["caps"][i]:
                verdict = "output"
                break
        elif exited:
            break  # the program is done; a process it started may still hold the pipe open
        if pidfd in events:
            exited = True
            poller.unregister(pidfd)
    elapsed = time.monotonic() - started
    for kill in (os.killpg, os.kill):  # the program and whatever it left in its process group
        with contextlib.suppress(OSError):
            kill(pid, signal.SIGKILL)
    status = os.waitpid(pid, 0)[1]
    os.close(read_fd)
    os.close(pidfd)
    if verdict is not None:
        return {"i": i, "s": verdict, "m": f"after {elapsed:.2f} s"}
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return {"i": i, "s": "timeout" if sig == signal.SIGXCPU else "error", "m": f"killed by signal {sig}"}
    code_ = os.WEXITSTATUS(status)
    if code_ == MEMORY_EXIT:
        return {"i": i, "s": "memory", "m": "MemoryError"}
    if code_ != 0:
        return {"i": i, "s": "error", "m": f"uncaught exception (exit status {code_})"}
    text = b"".join(chunks).decode("utf-8", errors="replace")
    return {"i": i, "s": "ok", "t": round(elapsed, 6), "v": text}


def run_stdio(job: dict, out: int) -> None:
    """Run the program once per test, in a fresh process with the test's input on fd 0."""
    try:
        code = compile(job["program"], "<program>", "exec")
    except BaseException as exc:
        _record(out, s="error", m=_describe(exc))
        return
    _record(out, s="ready")
    for i in range(len(job["inputs"])):
        _record(out, **_one_stdio_test(job, code, i))


def child_main(job: dict, out: int, uid: int | None) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    os.closerange(3, out)
    os.closerange(out + 1, 1 << 16)
    os.setpgid(0, 0)
    status = 0
    try:
        _confine(job, uid)
        signal.signal(signal.SIGALRM, _alarm)
        (run_functional if job["mode"] == "functional" else run_stdio)(job, out)
    except BaseException as exc:
        try:
            _record(out, s="error", m="runner: " + _describe(exc))
        except BaseException:
            status = 1
    os._exit(status)


# ---------------------------------------------------------------------------------------------------------
# Zygote side: fork, relay with deadlines, clean up.

def _frame(kind: bytes, data: bytes) -> None:
    _write_all(1, kind + struct.pack(">I", len(data)) + data)


def _read_exact(fd: int, n: int) -> bytes | None:
    parts = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


class Zygote:
    def __init__(self, uid: int | None, reap: str) -> None:
        self.uid, self.reap = uid, reap
        self.cache: dict[str, list] = {}

    def job(self) -> dict | None:
        """The next job; a stop request that arrived after its program had already finished is dropped."""
        while (kind := _read_exact(0, 1)) == b"S":
            continue
        header = _read_exact(0, 8) if kind == b"J" else None
        if header is None:
            return None
        job = pickle.loads(_read_exact(0, struct.unpack(">Q", header)[0]) or b"")
        if "inputs" in job:
            self.cache = {job["key"]: job["inputs"]}
        else:
            job["inputs"] = self.cache[job["key"]]
        return job

    def run(self, job: dict) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            child_main(job, write_fd, self.uid)
        os.close(write_fd)
        end = self.relay(job, read_fd)
        os.close(read_fd)
        pidfd = os.pidfd_open(pid)
        if end == "done":  # all records are in; the child is about to exit by itself
            select.select([pidfd], [], [], 1.0)
        os.close(pidfd)
        self.clean(job, pid)
        _, status = os.waitpid(pid, 0)
        message = {"end": end, "signal": 0, "code": 0}
        if end == "eof":
            message["end"] = "died"
            message["signal"] = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
            message["code"] = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 0
        _frame(b"E", json.dumps(message).encode())

    def relay(self, job: dict, fd: int) -> str:
        """Forward records as they come; enforce each test's deadline, the total budget and the size caps."""
        started = time.monotonic()
        total_deadline = started + job["startup_s"] + job["total_s"] + SLACK_S
        deadline = min(started + job["startup_s"] + SLACK_S, total_deadline)
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.register(0, select.POLLIN)
        pending, records = b"", 0
        limits, caps = job["limits"], job["caps"]
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            events = dict(poller.poll(left * 1000))
            if 0 in events:
                if os.read(0, 1) == b"S":
                    return "stopped"
                return "died"  # the caller went away
            if fd not in events:
                continue
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                return "eof"
            pending += chunk
            lines = pending.split(b"\n")
            pending = lines.pop()
            frames = []
            for line in lines:
                frames.append(b"D" + struct.pack(">I", len(line)) + line)
                records += 1
                if records > len(limits):
                    break
            _write_all(1, b"".join(frames))
            if records > len(limits):
                return "done"
            if lines:
                deadline = min(time.monotonic() + limits[records - 1] + SLACK_S, total_deadline)
            test = max(0, min(records - 1, len(caps) - 1))
            if caps and len(pending) > 2 * caps[test] + 4096:
                return "output"

    def clean(self, job: dict, pid: int) -> None:
        """Kill the program and whatever it left running; empty the writable /tmp."""
        base = os.path.dirname(job["workdir"])
        if self.reap == "uid" and self.uid is not None:
            helper = os.fork()
            if helper == 0:  # as the program's uid: kill(-1) reaches exactly its processes and files
                try:
                    os.setgroups([])
                    os.setgid(self.uid)
                    os.setuid(self.uid)
                    os.kill(-1, signal.SIGKILL)
                    _empty(base)
                finally:
                    os._exit(0)
            os.waitpid(helper, 0)
            return
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        if self.reap == "all" and os.getpid() <= 3:  # only inside our own pid namespace
            with contextlib.suppress(OSError):
                os.kill(-1, signal.SIGKILL)
        else:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        _empty(base)


def _mount_points() -> list[str]:
    """Mount points inside the sandbox (the interpreter's read-only binds may lie under /tmp)."""
    try:
        with open("/proc/self/mountinfo") as handle:
            return [line.split()[4] for line in handle]
    except OSError:
        return []


def _empty(directory: str) -> None:
    mounts = [m for m in _mount_points() if m.startswith(directory.rstrip("/") + "/")]
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if any(m == path or m.startswith(path + "/") for m in mounts):
            continue  # holds a read-only bind (a venv or checkout under /tmp): nothing a program wrote
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)


# ---------------------------------------------------------------------------------------------------------
# Start-up: where programs import from.

def _check(libc: ctypes.CDLL, result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(libc: ctypes.CDLL, source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    args = [None if text is None else text.encode() for text in (source, target, fstype)]
    _check(libc, libc.mount(*args, flags, None if data is None else data.encode()), f"mount {source} on {target}")


def _top_hidden(path: str) -> str:
    """The outermost directory above `path` that other users cannot enter."""
    parts = path.split("/")
    for i in range(2, len(parts)):
        parent = "/".join(parts[:i])
        if not os.stat(parent).st_mode & 0o001:
            return parent
    return path


def expose(paths: list[str]) -> None:
    """In a private mount namespace, make `paths` visible to every uid: each unenterable directory above them
    is replaced by a read-only tmpfs that holds read-only binds of just those paths (and nothing else of it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    _check(libc, libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(_top_hidden(path), []).append(path)
    for top, inside in groups.items():
        staging = tempfile.mkdtemp(prefix="rlvr-expose-")
        _mount(libc, top, staging, None, MS_BIND | MS_REC)
        _mount(libc, "tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
        for path in inside:
            directory = top
            for part in path[len(top):].split("/")[1:]:
                directory += "/" + part
                with contextlib.suppress(FileExistsError):
                    os.mkdir(directory)
                os.chmod(directory, 0o755)
            _mount(libc, staging + path[len(top):], path, None, MS_BIND | MS_REC)
            _mount(libc, None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        _mount(libc, None, top, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
        _check(libc, libc.umount2(staging.encode(), MNT_DETACH), f"umount {staging}")
        os.rmdir(staging)


def import_paths(config: dict) -> None:
    """Set up the directories programs import from: exposed, remapped to a readable copy, plus site dirs."""
    if config.get("expose"):
        expose(config["expose"])
    remap = config.get("remap", {})

    def mapped(path: str) -> str:
        real = os.path.realpath(path)
        for original, copy_ in remap.items():
            if real == original or real.startswith(original + "/"):
                return copy_ + real[len(original):]
        return path

    sys.path[1:] = [mapped(p) for p in [*sys.path[1:], *config["sites"]]]
    importlib.invalidate_caches()


def main(argv: list[str]) -> int:
    """argv: uid ('-' to keep the current one), reap strategy (all | uid | group), JSON of import paths
    ({"sites": [...], "expose": [...] (a private mount namespace) or "remap": {original: copy}})."""
    uid = None if argv[0] == "-" else int(argv[0])
    import_paths(json.loads(argv[2]))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    for name in WARM_MODULES:
        __import__(name)
    zygote = Zygote(uid, argv[1])
    _frame(b"E", b'{"end": "ready"}')
    while (job := zygote.job()) is not None:
        zygote.run(job)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
