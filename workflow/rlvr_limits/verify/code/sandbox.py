"""Start and drive the sandboxed program runner (`runner.py`).

With bubblewrap the runner lives in fresh namespaces: no network (its own empty network namespace), its own
pid namespace (when the sandbox ends, the kernel kills everything in it), a read-only view of only the
interpreter, its libraries and /usr, a private size-capped /tmp, no capabilities except, for a root caller,
the two it needs to drop each program to an unprivileged uid of its own (uid 0 is exempt from RLIMIT_NPROC,
so a fork bomb is only contained once the uid is dropped). Without bubblewrap the runner is a plain process
under the same rlimits and uid drop: programs can then read the file system and use the network. That uid
must be able to read the interpreter's files; where it cannot (a root caller's Python under /root, mode 700),
the runner gets a private mount namespace in which those directories are visible (`rlimits+mount-namespace`,
which also hides the rest of the unreadable directory from programs) or, where mount namespaces are refused
(a container without CAP_SYS_ADMIN), runs them from a readable copy of those directories
(`rlimits+interpreter-copy`, hard links where the file system allows). The level in use is `isolation()`,
probed once per process and recorded in the verdicts' sidecar; it is logged once when it is a weaker one.

A `Sandbox` is one runner process; it runs one program at a time and is reused for the next program.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import pickle
import select
import shutil
import site
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvr_limits.errors import UserError
from rlvr_limits.progress import LOG

BUBBLEWRAP = "bubblewrap"
RLIMITS = "rlimits"
MOUNT_NAMESPACE = "rlimits+mount-namespace"
INTERPRETER_COPY = "rlimits+interpreter-copy"
#: The levels without bubblewrap, in the order they are tried when the sandbox uid cannot read the interpreter.
FALLBACKS = (RLIMITS, MOUNT_NAMESPACE, INTERPRETER_COPY)
RUNNER = Path(__file__).with_name("runner.py")
START_TIMEOUT_S = 60.0
WATCHDOG_SLACK_S = 10.0

_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONUTF8": "1",
        "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_TOP_LEVEL = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_uid_lock = threading.Lock()
_uid_slots = itertools.count()
_level: str | None = None
_level_lock = threading.Lock()
_copy_lock = threading.Lock()
_copies: dict[str, str] | None = None


@dataclass(frozen=True)
class Limits:
    """Per-program resource limits. `memory_mb` is added to the program's size at start (RLIMIT_AS)."""

    memory_mb: int = 4096
    nproc: int = 64
    file_mb: int = 64
    tmp_mb: int = 256


class SandboxError(RuntimeError):
    """The runner could not be started or stopped answering."""


def _sandbox_uid() -> int | None:
    """For a root caller: a uid of its own per sandbox (process counts are per uid); otherwise keep ours."""
    if os.geteuid() != 0:
        return None
    with _uid_lock:
        slot = next(_uid_slots) % 64
    return 100_000 + (os.getpid() % 100_000) * 64 + slot


def _python_roots() -> list[str]:
    """Directories that the interpreter and its packages need, outermost first, without nesting."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable)),
             *site.getsitepackages()}
    roots: list[str] = []
    for path in sorted(os.path.realpath(p) for p in paths if os.path.isdir(p)):
        if path.startswith("/usr/") or any(path == r or path.startswith(r + "/") for r in roots):
            continue
        roots.append(path)
    # sys.prefix itself (a venv) must be visible under its own name for its pyvenv.cfg to be found.
    for path in (sys.prefix, os.path.dirname(sys.executable)):
        if path != os.path.realpath(path) and path not in roots:
            roots.append(path)
    return roots


def _parents(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def bwrap_argv(limits: Limits, root: bool) -> list[str]:
    argv = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    if root:
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        argv += ["--unshare-user"]
    argv += ["--ro-bind", "/usr", "/usr"]
    for top in _TOP_LEVEL:
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    if os.path.isfile("/etc/ld.so.cache"):
        argv += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    # The private /tmp comes before the interpreter's binds: a venv or checkout under /tmp must stay visible.
    argv += ["--size", str(limits.tmp_mb * 1024 * 1024), "--perms", "1777", "--tmpfs", "/tmp"]
    made: set[str] = {"/usr", "/etc", "/tmp", *_TOP_LEVEL}
    for path in [*_python_roots(), str(RUNNER)]:
        for parent in _parents(path):
            if parent not in made:
                made.add(parent)
                argv += ["--perms", "0755", "--dir", parent]
        argv += ["--ro-bind", os.path.realpath(path) if path == str(RUNNER) else path, path]
    argv += ["--proc", "/proc", "--dev", "/dev", "--chdir", "/tmp", "--remount-ro", "/dev", "--remount-ro", "/",
             "--clearenv"]
    for key, value in _ENV.items():
        argv += ["--setenv", key, value]
    return argv


#: The interpreter that runs programs (this one by default; its files must be readable by the sandbox uid).
PYTHON = sys.executable
#: Start-up self-test: a program that imports a module the runner has not imported itself.
_SELF_TEST = {"mode": "functional", "key": "self-test", "program": "import colorsys\ndef f():\n    return 1\n",
              "preamble": "", "suffix": "", "entry_point": "f", "inputs": [()], "limits": [10.0],
              "caps": [1024], "total_s": 10.0, "startup_s": 10.0}


def _readable_by_others(path: str) -> bool:
    """Whether a uid that is neither owner nor group member can list `path` and every directory above it."""
    try:
        return os.stat(path).st_mode & 0o005 == 0o005 and all(
            os.stat(parent).st_mode & 0o001 for parent in map(str, Path(path).parents))
    except OSError:
        return True  # a missing path needs no access


def _interpreter_paths() -> list[str]:
    """The directories programs import from: the runner interpreter's own `sys.path` and the site-packages."""
    out = subprocess.run([PYTHON, "-S", "-s", "-B", "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
                         capture_output=True, text=True, timeout=START_TIMEOUT_S, check=True).stdout
    paths = [*json.loads(out), *(p for p in site.getsitepackages() if os.path.isdir(p))]
    return [p for p in dict.fromkeys(os.path.realpath(p) for p in paths) if os.path.isdir(p)]


def hidden_paths() -> list[str]:
    """The interpreter directories that the sandbox uid cannot read (outermost only)."""
    hidden: list[str] = []
    for path in sorted(p for p in _interpreter_paths() if not _readable_by_others(p)):
        if not any(path.startswith(h + "/") for h in hidden):
            hidden.append(path)
    return hidden


def _copy_tree(source: str, target: str) -> None:
    """Mirror `source` at `target`: hard links where possible, else copies; every directory readable by all."""
    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    # A standard library's own site-packages is not on the runner's path (it runs with -S).
    shutil.copytree(source, target, symlinks=True, copy_function=link_or_copy,
                    ignore=shutil.ignore_patterns("site-packages", "dist-packages"))
    for directory, _, _ in os.walk(target):
        os.chmod(directory, 0o755)


def interpreter_copy() -> dict[str, str]:
    """A readable copy of the hidden interpreter directories, made once per process: {original: copy}."""
    global _copies
    with _copy_lock:
        if _copies is None:
            copies: dict[str, str] = {}
            base = tempfile.mkdtemp(prefix="rlvr-python-")
            os.chmod(base, 0o755)
            atexit.register(shutil.rmtree, base, ignore_errors=True)
            started = time.monotonic()
            for path in hidden_paths():
                for parent in _parents(path):
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(base + parent)
                    os.chmod(base + parent, 0o755)
                _copy_tree(path, base + path)
                copies[path] = base + path
            _copies = copies
            LOG.info("copied the interpreter's unreadable directories to %s in %.1f s", base,
                     time.monotonic() - started)
        return dict(_copies)


def _runner_argv(uid: int | None, reap: str, level: str) -> list[str]:
    """The runner's command line; its last argument says which directories to import from and how."""
    config: dict[str, Any] = {"sites": [p for p in site.getsitepackages() if os.path.isdir(p)]}
    if level == MOUNT_NAMESPACE:
        config["expose"] = hidden_paths()
    elif level == INTERPRETER_COPY:
        config["remap"] = interpreter_copy()
    return [PYTHON, "-S", "-s", "-B", "-P", str(RUNNER), "-" if uid is None else str(uid), reap,
            json.dumps(config)]


class Sandbox:
    """One runner process. `run` executes one program job and streams its records to a callback."""

    def __init__(self, limits: Limits | None = None, level: str | None = None) -> None:
        self.limits = limits or Limits()
        self.level = level or isolation()
        self.uid = _sandbox_uid()
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: str | None = None
        self._cached_key: str | None = None
        self._jobs = 0
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    # -- process management -------------------------------------------------------------------------------
    def _start(self) -> None:
        root = os.geteuid() == 0
        if self.level == BUBBLEWRAP:
            reap = "uid" if root else "all"
            argv = bwrap_argv(self.limits, root) + _runner_argv(self.uid, reap, self.level)
            self.workdir_base, cwd, env = "/tmp", None, None
        else:
            if self._tmp is None:
                self._tmp = tempfile.mkdtemp(prefix="rlvr-code-")
                os.chmod(self._tmp, 0o1777)
            argv = _runner_argv(self.uid, "uid" if root else "group", self.level)
            self.workdir_base, cwd, env = self._tmp, self._tmp, dict(_ENV)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the runner
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                      cwd=cwd, env=env, start_new_session=True)
        self._cached_key = None
        self._buffer = bytearray()
        assert self._proc.stdout is not None
        self._poller = select.poll()
        self._poller.register(self._proc.stdout.fileno(), select.POLLIN)
        try:
            kind, payload = self._frame(time.monotonic() + START_TIMEOUT_S)
        except (TimeoutError, EOFError):
            err = self._stop_process()
            raise SandboxError(f"the code runner did not start ({self.level}): {err.strip()[-500:]}") from None
        if kind != b"E" or json.loads(payload).get("end") != "ready":
            raise SandboxError("the code runner sent an unexpected greeting")
        records: list[dict[str, Any]] = []
        self.run(_SELF_TEST, lambda record: records.append(record) or True, restart=False)
        if not (len(records) == 2 and records[1].get("s") == "ok" and records[1].get("v") == 1):
            self._stop_process()
            raise SandboxError(f"programs cannot run in the {self.level} sandbox ({records[-1:]}); can uid "
                               f"{self.uid} read the interpreter {PYTHON}?")

    def _stop_process(self) -> str:
        """Kill the runner (and with bubblewrap everything in its pid namespace); return its stderr."""
        proc, self._proc = self._proc, None
        if proc is None:
            return ""
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, 9)
        proc.kill()
        proc.communicate()
        self._stderr.seek(0)
        err = self._stderr.read()[-4000:].decode(errors="replace")
        self._stderr.close()
        return err

    def restart(self) -> None:
        self._stop_process()
        self._start()

    def close(self) -> None:
        self._stop_process()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- protocol -----------------------------------------------------------------------------------------
    def _fill(self, n: int, deadline: float) -> None:
        """Read from the runner until at least `n` bytes are buffered (TimeoutError, EOFError)."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while len(self._buffer) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not self._poller.poll(left * 1000):
                raise TimeoutError
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise EOFError
            self._buffer += chunk

    def _frame(self, deadline: float) -> tuple[bytes, bytes]:
        self._fill(5, deadline)
        kind, size = bytes(self._buffer[:1]), struct.unpack(">I", self._buffer[1:5])[0]
        self._fill(5 + size, deadline)
        payload = bytes(self._buffer[5:5 + size])
        del self._buffer[:5 + size]
        return kind, payload

    def _send(self, data: bytes) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(data)
        self._proc.stdin.flush()

    def run(self, job: dict[str, Any], on_record: Callable[[dict[str, Any]], bool],
            restart: bool = True) -> dict[str, Any]:
        """Run one program. `on_record(record)` returns False to stop the program early.

        Returns the runner's end message ({"end": done | timeout | output | stopped | died, "signal", "code"});
        a runner that stops answering is restarted (or, with restart=False, SandboxError is raised) and the
        program counts as timed out (or died).
        """
        if self._proc is None:
            self._start()
        self._jobs += 1
        job = dict(job, workdir=f"{self.workdir_base}/run-{self._jobs}", nproc=self.limits.nproc + 2,
                   memory_mb=self.limits.memory_mb, file_mb=self.limits.file_mb)
        if job["key"] == self._cached_key:
            job.pop("inputs")
        data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        deadline = time.monotonic() + job["startup_s"] + job["total_s"] + WATCHDOG_SLACK_S
        stopped = False
        try:
            self._send(b"J" + struct.pack(">Q", len(data)) + data)
            self._cached_key = job["key"]
            while True:
                kind, payload = self._frame(deadline)
                if kind == b"E":
                    return json.loads(payload)
                try:
                    record = json.loads(payload)
                except (ValueError, RecursionError):
                    record = {"s": "error", "m": "unreadable record"}
                if not isinstance(record, dict):
                    record = {"s": "error", "m": "unreadable record"}
                if not on_record(record) and not stopped:
                    stopped = True
                    self._send(b"S")
        except (TimeoutError, EOFError, OSError) as exc:
            if not restart:
                raise SandboxError(f"the code runner stopped answering ({type(exc).__name__})") from None
            self.restart()
            return {"end": "timeout" if isinstance(exc, TimeoutError) else "died", "signal": 0, "code": 0}


def isolation() -> str:
    """The strongest level at which programs run on this machine, probed once per process (see the module doc).

    Raises UserError, naming the fix, when programs cannot run at any level.
    """
    global _level
    with _level_lock:
        if _level is None:
            _level = _probe()
        return _level


def _probe() -> str:
    if shutil.which("bwrap") is not None:
        try:
            Sandbox(level=BUBBLEWRAP).close()
            return BUBBLEWRAP
        except (SandboxError, OSError) as exc:
            LOG.debug("bubblewrap probe failed: %s", exc)
    level = fallback_level()
    LOG.warning("bubblewrap is not usable here: generated code runs under resource limits only (%s), without "
                "file-system or network isolation (install the `bubblewrap` package)", level)
    return level


def fallback_level() -> str:
    """The first level without bubblewrap under which the self-test program runs (UserError when none does)."""
    failures = []
    for level in FALLBACKS if os.geteuid() == 0 else (RLIMITS,):
        try:
            Sandbox(level=level).close()
            return level
        except (SandboxError, OSError, subprocess.SubprocessError) as exc:
            failures.append(f"{level}: {str(exc).strip()[-300:]}")
    raise UserError("generated programs cannot run on this machine: " + "; ".join(failures) + ". Fix: install "
                    "bubblewrap (`apt-get install bubblewrap`), or use a Python installation that other users can "
                    f"read (the sandbox's unprivileged uid cannot read {', '.join(hidden_paths()) or PYTHON})")
