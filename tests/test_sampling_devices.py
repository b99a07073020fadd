"""GPU claiming on a multi-GPU box: concurrent jobs get disjoint devices; SLURM allocations are left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlvr_limits.sampling import devices


@pytest.fixture(autouse=True)
def release_locks(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(devices, "_HELD", [])
    yield
    for handle in devices._HELD:
        handle.close()


def test_claims_are_disjoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    first = devices.claim(2, tmp_path)
    second = devices.claim(1, tmp_path)
    third = devices.claim(1, tmp_path)
    assert sorted(first + second + third) == ["0", "1", "2", "3"]


def test_pin_narrows_visible_devices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5")
    monkeypatch.setattr(devices.tempfile, "gettempdir", lambda: str(tmp_path))
    devices.pin_devices(1)
    assert devices.visible_devices() in (["4"], ["5"])


def test_slurm_allocation_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    devices.pin_devices(1)
    assert devices.visible_devices() == ["0", "1"]


def test_waits_until_a_device_is_released(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    held = devices.claim(1, tmp_path)
    handle = devices._HELD.pop()
    monkeypatch.setattr(devices.time, "sleep", lambda _s: handle.close())
    assert devices.claim(1, tmp_path) == held
