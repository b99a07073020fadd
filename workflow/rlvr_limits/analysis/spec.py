"""Parsing of the `--spec` JSON that Snakemake rules pass to the analysis stages.

The rules build the spec from the config, but a hand-run command can carry a typo; each key is checked for
presence and type so the message names the key instead of failing deep inside the statistics.
"""

from __future__ import annotations

import json
from typing import Any

from rlvr_limits.errors import UserError


def parse_spec(text: str, stage: str) -> dict[str, Any]:
    """The spec as a dict, or a UserError naming the JSON problem."""
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{stage} --spec: invalid JSON at column {exc.colno} ({exc.msg})") from None
    if not isinstance(spec, dict):
        raise UserError(f"{stage} --spec: expected a JSON object, got {type(spec).__name__}")
    return spec


def _check(spec: dict[str, Any], key: str, stage: str, kind: type | tuple[type, ...], what: str) -> Any:
    if key not in spec:
        raise UserError(f"{stage} --spec: missing key {key!r} ({what})")
    value = spec[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise UserError(f"{stage} --spec: key {key!r} must be {what}, got {value!r}")
    if not isinstance(value, kind):
        raise UserError(f"{stage} --spec: key {key!r} must be {what}, got {value!r}")
    return value


def get_int(spec: dict[str, Any], key: str, stage: str, minimum: int = 0) -> int:
    value = _check(spec, key, stage, int, f"an integer >= {minimum}")
    if value < minimum:
        raise UserError(f"{stage} --spec: key {key!r} must be an integer >= {minimum}, got {value}")
    return value


def get_str(spec: dict[str, Any], key: str, stage: str) -> str:
    value = _check(spec, key, stage, str, "a non-empty string")
    if not value:
        raise UserError(f"{stage} --spec: key {key!r} must be a non-empty string")
    return value


def get_str_list(spec: dict[str, Any], key: str, stage: str) -> list[str]:
    value = _check(spec, key, stage, list, "a non-empty list of names")
    if not value or not all(isinstance(v, str) and v for v in value):
        raise UserError(f"{stage} --spec: key {key!r} must be a non-empty list of names, got {value!r}")
    return value


def get_ci(spec: dict[str, Any], stage: str, key: str = "ci") -> float:
    value = _check(spec, key, stage, (int, float), "a number between 0 and 1, e.g. 0.95")
    if not 0.0 < value < 1.0:
        raise UserError(f"{stage} --spec: key {key!r} must lie strictly between 0 and 1, got {value}")
    return float(value)


def get_float(spec: dict[str, Any], key: str, stage: str, default: float) -> float:
    if key not in spec:
        return default
    return float(_check(spec, key, stage, (int, float), "a number"))
