"""The code sandbox against hostile programs: each gets the right verdict and leaves the host unchanged.

The fork bomb and the memory bomb only run after a harmless probe has shown, in the same sandbox, that the
process and address-space limits hold.
"""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path

import pytest

from rlvr_limits.verify.code import CodeTask, check
from rlvr_limits.verify.code.check import run_reference
from rlvr_limits.verify.code.sandbox import BUBBLEWRAP, RUNNER, Limits, Sandbox, isolation

REPO = Path(__file__).resolve().parent.parent
SENTINEL = REPO / "tests" / "data" / "code" / "HumanEval.jsonl.gz"
LIMITS = Limits(memory_mb=256, nproc=24, file_mb=8, tmp_mb=32)

pytestmark = pytest.mark.skipif(isolation() != BUBBLEWRAP, reason="needs bubblewrap (apt-get install bubblewrap)")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _processes_of(uid: int | None) -> list[int]:
    if uid is None:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
            if str(uid) in uids:
                found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def box():
    with Sandbox(LIMITS) as sandbox:
        yield sandbox


@pytest.fixture
def host_unchanged(box, tmp_path):
    """Sentinel files on the host and in the project keep their content; no sandbox process survives."""
    outside = tmp_path / "keep.txt"
    outside.write_text("precious")
    before = _digest(SENTINEL)
    yield outside
    assert outside.read_text() == "precious"
    assert _digest(SENTINEL) == before
    assert not (REPO / "tests" / "data" / "code" / "pwned.txt").exists()
    assert not (RUNNER.parent / "pwned.py").exists()
    deadline = time.monotonic() + 5
    while _processes_of(box.uid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_of(box.uid) == []
    assert check("def f():\n    return 1\n", _task(1), sandbox=box).correct  # the sandbox still works


def _task(expected, time_limit_s: float = 2.0, args=()) -> CodeTask:
    return CodeTask.functional("f", [(args, expected)], time_limit_s)


def _verdict(box, program: str, expected, time_limit_s: float = 2.0):
    return check(program, _task(expected, time_limit_s), sandbox=box, retry_timeout=False)


FORK_PROBE = """
import os, time
def f():
    pids, failed = [], 0
    for _ in range(50):
        try:
            pid = os.fork()
        except OSError:
            failed += 1
            continue
        if pid == 0:
            time.sleep(0.3)
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    return len(pids)
"""


def test_process_limit_holds_then_fork_bomb_times_out(box, host_unchanged):
    forks, _ = run_reference(FORK_PROBE, CodeTask.functional("f", [((), None)], 10.0), box)
    assert 0 < forks[0] <= LIMITS.nproc + 2 < 50, f"process limit not enforced: {forks[0]} of 50 forks"

    bomb = "import os\ndef f():\n    while True:\n        try:\n            os.fork()\n        except OSError:\n" \
           "            pass\n"
    assert _verdict(box, bomb, None, time_limit_s=1.0).status == "timeout"


def test_memory_limit_holds_then_memory_bomb(box, host_unchanged):
    with Sandbox(Limits(memory_mb=20, nproc=8, file_mb=1, tmp_mb=4)) as small:
        probe = "def f():\n    return len(bytearray(50 * 1024 * 1024))\n"
        assert check(probe, _task(50 * 1024 * 1024), sandbox=small).status == "memory"
        assert check("def f():\n    return len(bytearray(5 * 1024 * 1024))\n", _task(5 * 1024 * 1024),
                     sandbox=small).correct
    bomb = "def f():\n    hog = []\n    while True:\n        hog.append(bytearray(10 ** 7))\n"
    assert _verdict(box, bomb, None).status == "memory"
    stdio = CodeTask.stdio([("", "1\n")], 2.0)
    assert check("hog = []\nwhile True:\n    hog.append(bytearray(10 ** 7))\n", stdio, sandbox=box).status == "memory"


def test_infinite_loop_times_out(box, host_unchanged):
    started = time.monotonic()
    assert _verdict(box, "def f():\n    while True:\n        pass\n", 1, time_limit_s=1.0).status == "timeout"
    assert time.monotonic() - started < 10


def test_stdin_program_that_never_ends(box, host_unchanged):
    task = CodeTask.stdio([("5\n", "5\n")], 1.0)
    assert check("print(input())\nwhile True:\n    pass\n", task, sandbox=box, retry_timeout=False).status == "timeout"


def test_loop_that_swallows_the_alarm_is_killed(box, host_unchanged):
    program = "def f():\n    while True:\n        try:\n            while True:\n                pass\n" \
              "        except BaseException:\n            pass\n"
    assert _verdict(box, program, 1, time_limit_s=1.0).status == "timeout"


def test_200_mb_of_stdout(box, host_unchanged):
    program = "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(200):\n    sys.stdout.write(chunk)\n"
    task = CodeTask.stdio([("", "x\n")], 5.0)
    assert check(program, task, sandbox=box, retry_timeout=False).status == "wrong"
    printing = "def f():\n    chunk = 'x' * (1 << 20)\n    for _ in range(200):\n        print(chunk)\n    return 3\n"
    assert _verdict(box, printing, 3, time_limit_s=10.0).correct  # a function's prints are discarded


def test_deleting_files_outside_its_tmp(box, host_unchanged):
    program = f"""
import os, shutil
def f():
    for path in ({str(host_unchanged)!r}, {str(SENTINEL)!r}, {str(RUNNER)!r}):
        try:
            os.remove(path)
        except OSError:
            pass
    shutil.rmtree({str(REPO / "tests")!r}, ignore_errors=True)
    open("scratch.txt", "w").write("mine")  # its own working directory is writable
    return os.path.exists({str(SENTINEL)!r}), open("scratch.txt").read()
"""
    assert _verdict(box, program, (False, "mine")).correct  # the project is not even visible


def test_writing_into_the_project_tree(box, host_unchanged):
    program = f"""
def f():
    written = 0
    for path in ({str(REPO / "tests" / "data" / "code" / "pwned.txt")!r}, {str(RUNNER.parent / "pwned.py")!r}):
        try:
            open(path, "w").write("x")
            written += 1
        except OSError:
            pass
    return written
"""
    assert _verdict(box, program, 0).correct


def test_opening_a_socket(box, host_unchanged):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.5)
        port = server.getsockname()[1]
        program = f"import socket\ndef f():\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n" \
                  "    return 'connected'\n"
        assert _verdict(box, program, "connected").status == "error"
        with pytest.raises(TimeoutError):
            server.accept()


def test_reading_etc_shadow(box, host_unchanged):
    program = "def f():\n    return open('/etc/shadow').read()\n"
    assert _verdict(box, program, "").status == "error"


def test_killing_its_parent(box, host_unchanged):
    functional = "import os, signal\ndef f():\n    for pid in (os.getppid(), 1, -1):\n        try:\n" \
                 "            os.kill(pid, signal.SIGKILL)\n        except OSError:\n            pass\n    return 1\n"
    # as root the runner is another uid and survives; otherwise it dies and the check is an error
    assert _verdict(box, functional, 1).status == ("correct" if box.uid is not None else "error")
    stdio = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint(1)\n"
    verdict = check(stdio, CodeTask.stdio([("", "1\n")], 2.0), sandbox=box, retry_timeout=False)
    assert verdict.status == "error"


def test_sys_exit_before_printing(box, host_unchanged):
    program = "import sys\nsys.exit(0)\nprint(42)\n"
    assert check(program, CodeTask.stdio([("", "42\n")], 2.0), sandbox=box).status == "wrong"
    assert _verdict(box, "import sys\ndef f():\n    sys.exit(0)\n", 42).status == "error"


def test_background_process_left_running(box, host_unchanged):
    marker = "987.654321"
    program = f"""
import os, subprocess
def f():
    subprocess.Popen(["sleep", "{marker}"])
    if os.fork() == 0:
        os.setsid()
        os.execvp("sleep", ["sleep", "{marker}"])
    return 7
"""
    assert _verdict(box, program, 7).correct
    deadline = time.monotonic() + 5
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker) == []


def test_programs_do_not_see_each_other(box, host_unchanged):
    write = "def f():\n    open('/tmp/left-behind', 'w').write('x')\n    return 1\n"
    read = "import os\ndef f():\n    return os.path.exists('/tmp/left-behind') or os.listdir('.') != []\n"
    assert _verdict(box, write, 1).correct
    assert _verdict(box, read, False).correct


def test_fresh_sandbox_per_check_is_cleaned_up():
    marker = "876.54321"
    program = f"import subprocess\ndef f():\n    subprocess.Popen(['sleep', '{marker}'])\n    return 1\n"
    assert check(program, _task(1), limits=LIMITS).correct
    time.sleep(0.2)
    assert _processes_with(marker) == []


def test_sandbox_environment_is_clean(box):
    program = "import os\ndef f():\n" \
              f"    return sorted(os.environ), os.getuid() != 0, os.path.exists({str(REPO / 'tests')!r})\n"
    names = sorted(["PATH", "PWD", "HOME", "LANG", "PYTHONUTF8", "PYTHONHASHSEED", "OMP_NUM_THREADS",
                    "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"])
    assert _verdict(box, program, (names, True, False)).correct


def test_runner_refuses_nothing_it_needs(box):
    """The interpreter's standard library and installed packages are usable inside."""
    program = "import json, re, collections, numpy\ndef f():\n    return int(numpy.arange(4).sum())\n"
    assert _verdict(box, program, 6).correct


def test_host_processes_are_invisible(box):
    program = "import os\ndef f():\n    return len([p for p in os.listdir('/proc') if p.isdigit()]) < 8\n"
    assert _verdict(box, program, True).correct  # bubblewrap's init, the runner, the program (and a helper)


def test_private_tmp_does_not_hide_an_interpreter_under_tmp(monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkout or venv under /tmp (as in many CI clones) is bound after the private /tmp is mounted."""
    from rlvr_limits.verify.code import sandbox

    monkeypatch.setattr(sandbox, "_python_roots", lambda: ["/tmp/clone/.venv"])
    argv = sandbox.bwrap_argv(Limits(), root=True)
    tmpfs = argv.index("--tmpfs")
    binds = [i for i, arg in enumerate(argv) if arg == "--ro-bind" and argv[i + 2] == "/tmp/clone/.venv"]
    assert argv[tmpfs + 1] == "/tmp" and binds and binds[0] > tmpfs
