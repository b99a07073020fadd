"""Without bubblewrap: resource limits only, said once, and still no process or file left behind.

A root caller drops programs to an unprivileged uid; where that uid cannot read the interpreter (a simulated
Python under a home of mode 700), programs still run, never as root, or the verifier stops naming the fix.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from rlvr_limits.errors import UserError
from rlvr_limits.verify.code import CodeTask, check
from rlvr_limits.verify.code import sandbox as sandbox_module
from rlvr_limits.verify.code.batch import sidecar
from rlvr_limits.verify.code.sandbox import FALLBACKS, INTERPRETER_COPY, MOUNT_NAMESPACE, RLIMITS, Limits, Sandbox


def _alive(marker: str) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    return True
            except OSError:
                continue
    return False


ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs a root caller: only root drops programs to "
                                                           "an unprivileged uid that may not read the interpreter")
IMPORTS = "import colorsys, textwrap, os\ndef f(x):\n    return [x * x, os.getuid()]\n"


def test_missing_bubblewrap_is_reported_once(monkeypatch, tmp_path, caplog):
    monkeypatch.setattr(sandbox_module, "_level", None)
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    with caplog.at_level(logging.WARNING, logger="rlvr_limits"):
        assert sandbox_module.isolation() in FALLBACKS
        assert sandbox_module.isolation() in FALLBACKS
    assert sum("bubblewrap is not usable" in r.getMessage() for r in caplog.records) == 1


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


@pytest.fixture(scope="module")
def private_interpreter(tmp_path_factory) -> tuple[Path, str]:
    """This interpreter installed again inside a home directory of mode 700 (as /root is on many machines)."""
    home = tmp_path_factory.mktemp("home")
    home.chmod(0o700)
    (home / "secret").write_text("private")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    prefix = home / "python"
    (prefix / "bin").mkdir(parents=True)
    executable = prefix / "bin" / version
    shutil.copy2(os.path.realpath(sys._base_executable), executable)
    shutil.copytree(sysconfig.get_paths()["stdlib"],
                    prefix / "lib" / version, copy_function=_link_or_copy,
                    ignore=shutil.ignore_patterns("site-packages", "dist-packages", "test", "idlelib", "tkinter",
                                                  "turtledemo", "ensurepip", "lib2to3"))
    probe = subprocess.run([executable, "-S", "-c", "import sys, colorsys; print(sys.prefix)"],
                           capture_output=True, text=True)
    if probe.returncode != 0 or probe.stdout.strip() != str(prefix):
        pytest.skip(f"this interpreter does not run from a copy of its installation: {probe.stderr[-300:]}")
    return home, str(executable)


@pytest.fixture
def simulated(private_interpreter, monkeypatch):
    """Programs run by the private interpreter; no level probed yet and no interpreter copy made yet."""
    home, executable = private_interpreter
    monkeypatch.setattr(sandbox_module, "PYTHON", executable)
    monkeypatch.setattr(sandbox_module, "_level", None)
    monkeypatch.setattr(sandbox_module, "_copies", None)
    return home


def _grades(level: str) -> None:
    task = CodeTask.functional("f", [((3,), [9, 0])], 2.0)
    with Sandbox(Limits(memory_mb=256, nproc=16), level=level) as box:
        verdict = check(IMPORTS, task, sandbox=box)
        assert verdict.status == "wrong"  # runs and imports, but never as uid 0
        assert check(IMPORTS.replace("os.getuid()", "os.getuid() > 0"), CodeTask.functional(
            "f", [((3,), [9, True])], 2.0), sandbox=box).correct


@ROOT_ONLY
def test_unreadable_interpreter_is_refused_under_plain_rlimits(simulated):
    assert sandbox_module.hidden_paths()
    with pytest.raises(sandbox_module.SandboxError, match="No module named 'colorsys'"):
        Sandbox(level=RLIMITS)


@ROOT_ONLY
def test_unreadable_interpreter_gets_a_working_level(simulated, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # bubblewrap unavailable
    level = sandbox_module.isolation()
    assert level in (MOUNT_NAMESPACE, INTERPRETER_COPY)
    assert sidecar()["isolation"] == level
    _grades(level)


def _mount_namespace_or_skip() -> None:
    try:
        Sandbox(level=MOUNT_NAMESPACE).close()
    except sandbox_module.SandboxError as exc:
        if "unshare" not in str(exc):
            raise
        pytest.skip(f"mount namespaces are refused here: {exc}")


@ROOT_ONLY
def test_mount_namespace_shows_only_the_interpreter(simulated):
    _mount_namespace_or_skip()
    _grades(MOUNT_NAMESPACE)
    home = simulated
    task = CodeTask.functional("f", [((), ["python"])], 2.0)
    program = f"import os\ndef f():\n    return sorted(os.listdir({str(home)!r}))\n"
    with Sandbox(level=MOUNT_NAMESPACE) as box:
        assert check(program, task, sandbox=box).correct  # the secret beside it is not there
    assert str(home) not in Path("/proc/self/mountinfo").read_text()  # the host's mounts are untouched


@ROOT_ONLY
def test_interpreter_copy_runs_programs(simulated):
    _grades(INTERPRETER_COPY)
    copies = sandbox_module.interpreter_copy()
    assert set(copies) == set(sandbox_module.hidden_paths())
    assert all(_readable_by_others(copy) for copy in copies.values())


@ROOT_ONLY
def test_nothing_working_stops_with_the_fix(simulated, monkeypatch):
    monkeypatch.setitem(sandbox_module._SELF_TEST, "program", "import no_such_module_anywhere\n")
    with pytest.raises(UserError, match="apt-get install bubblewrap") as caught:
        sandbox_module.fallback_level()
    assert all(level in str(caught.value) for level in FALLBACKS)


def _readable_by_others(path: str) -> bool:
    return all(os.stat(p).st_mode & 0o005 == 0o005 for p in [path, *map(str, Path(path).parents)])


def test_rlimits_only_runner_grades_and_cleans_up():
    marker = "654.32123"
    task = CodeTask.functional("f", [((2,), 4), ((3,), 9)], 2.0)
    program = f"import subprocess\ndef f(x):\n    subprocess.Popen(['sleep', '{marker}'])\n" \
              "    open('scratch', 'w').write('x')\n    return x * x\n"
    with Sandbox(Limits(memory_mb=256, nproc=16), level=sandbox_module.fallback_level()) as box:
        base = Path(box.workdir_base)
        assert check(program, task, sandbox=box).correct
        assert check("def f(x):\n    return x + x\n", task, sandbox=box).status == "wrong"
        assert check("def f(x):\n    return len(bytearray(400 * 2**20))\n", task, sandbox=box).status == "memory"
        assert list(base.iterdir()) == []
    assert not base.exists()
    deadline = time.monotonic() + 5
    while _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(marker)
