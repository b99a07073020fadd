"""Without bubblewrap: resource limits only, said once, and still no process or file left behind."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import pytest

from rlvr_limits.verify.code import CodeTask, check
from rlvr_limits.verify.code import sandbox as sandbox_module
from rlvr_limits.verify.code.sandbox import RLIMITS, Limits, Sandbox


def _alive(marker: str) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    return True
            except OSError:
                continue
    return False


def test_missing_bubblewrap_is_reported_once(monkeypatch, caplog):
    monkeypatch.setattr(sandbox_module, "_level", None)
    monkeypatch.setattr(sandbox_module.shutil, "which", lambda name: None)
    with caplog.at_level(logging.WARNING, logger="rlvr_limits"):
        assert sandbox_module.isolation() == RLIMITS
        assert sandbox_module.isolation() == RLIMITS
    assert sum("bubblewrap is not usable" in r.getMessage() for r in caplog.records) == 1


def _readable_by_others(path: str) -> bool:
    return all(os.stat(p).st_mode & 0o005 == 0o005 for p in [path, *map(str, Path(path).parents)])


@pytest.fixture
def interpreter(monkeypatch):
    """As root, programs run as an unprivileged uid: the interpreter must be readable by it."""
    if os.geteuid() == 0 and not _readable_by_others(os.path.realpath(sys.executable)):
        if not os.path.exists("/usr/bin/python3"):
            pytest.skip("no interpreter readable by unprivileged users")
        monkeypatch.setattr(sandbox_module, "PYTHON", "/usr/bin/python3")


def test_unreadable_interpreter_is_refused():
    """A root caller whose interpreter lives in a private directory: programs could not import anything."""
    if os.geteuid() != 0 or _readable_by_others(os.path.realpath(sys.executable)):
        pytest.skip("needs a root caller with an interpreter in a private directory")
    with pytest.raises(sandbox_module.SandboxError, match="readable by other users"):
        Sandbox(level=RLIMITS)


def test_rlimits_only_runner_grades_and_cleans_up(interpreter):
    marker = "654.32123"
    task = CodeTask.functional("f", [((2,), 4), ((3,), 9)], 2.0)
    program = f"import subprocess\ndef f(x):\n    subprocess.Popen(['sleep', '{marker}'])\n" \
              "    open('scratch', 'w').write('x')\n    return x * x\n"
    with Sandbox(Limits(memory_mb=256, nproc=16), level=RLIMITS) as box:
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
