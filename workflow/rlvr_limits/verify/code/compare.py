"""Output comparators: evalplus's for functional tasks, LiveCodeBench's for stdin/stdout tasks.

Return values arrive from the sandbox in the typed JSON encoding of `runner.encode` and are decoded here into
plain built-in values, so comparing them never runs code the program supplied (no custom `__eq__`).

Functional rule (evalplus `untrusted_check`, plus LiveCodeBench's tuple tolerance): tuples are compared as
lists, at any depth; values must be equal, or, when the task has a tolerance (`atol` not None) and either
`atol > 0` or the expected value is a float or a non-empty list of floats, they must be of the same type and
length and close with `rtol = 1e-7`, `atol = max(atol, 1e-6)` (numpy.allclose, NaN never equal).
`atol=None` (LiveCodeBench) means exact equality only. The special oracles reproduce evalplus's
`_special_oracle.py` for the HumanEval+/MBPP+ tasks whose outputs are not unique.

stdin rule (LiveCodeBench `grade_stdio`): strip both outputs, split into lines, strip each line; the line
counts must agree, and each line must match exactly or, token by token, as `Decimal` numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

RTOL = 1e-7
MIN_FLOAT_ATOL = 1e-6


class Opaque:
    """A returned object without a faithful encoding: equal to another of the same type name and repr."""

    __slots__ = ("text", "type_name")

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name, self.text = type_name, text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and (self.type_name, self.text) == (other.type_name, other.text)

    def __hash__(self) -> int:
        return hash((self.type_name, self.text))

    def __repr__(self) -> str:
        return f"<{self.type_name} {self.text}>"


def decode(value: Any) -> Any:
    """Inverse of `runner.encode` (raises ValueError/TypeError/KeyError on malformed data)."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag, body = value["~"], value["v"]
    if tag == "t":
        return tuple(decode(v) for v in body)
    if tag == "s":
        return {decode(v) for v in body}
    if tag == "f":
        return frozenset(decode(v) for v in body)
    if tag == "d":
        return {decode(k): decode(v) for k, v in body}
    if tag == "i":
        return int(body, 16)
    if tag == "F":
        return float(body)
    if tag == "c":
        return complex(decode(body[0]), decode(body[1]))
    if tag == "b":
        return bytes.fromhex(body)
    if tag == "r":
        return Opaque(str(body[0]), str(body[1]))
    raise ValueError(f"unknown tag {tag!r}")


def lists(value: Any) -> Any:
    """Tuples become lists, at any depth (inside lists, tuples and dict values)."""
    if isinstance(value, list | tuple):
        return [lists(v) for v in value]
    if isinstance(value, dict):
        return {k: lists(v) for k, v in value.items()}
    return value


def is_floats(value: Any) -> bool:
    """evalplus's `is_floats`: a float, or a non-empty list/tuple of floats only."""
    if isinstance(value, float):
        return True
    return isinstance(value, list | tuple) and bool(value) and all(isinstance(v, float) for v in value)


def _real(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, complex)


def allclose(out: Any, exp: Any, atol: float, rtol: float = RTOL) -> bool:
    """numpy.allclose(out, exp, rtol, atol) for numbers and equally shaped (nested) sequences of numbers."""
    if isinstance(out, list | tuple) and isinstance(exp, list | tuple):
        return len(out) == len(exp) and all(allclose(a, b, atol, rtol) for a, b in zip(out, exp, strict=True))
    if not (_real(out) and _real(exp)):
        return False
    a, b = float(out), float(exp)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(b)


# -- evalplus special oracles ---------------------------------------------------------------------------------

def _surface_area(base_edge: float, height: float) -> float:
    """Mbpp/581: the reference reading of 'height' (perpendicular from base to apex), rounded."""
    slant = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 4 * (base_edge * slant) / 2)


def _digit_distance(num1: int, num2: int) -> int:
    """Mbpp/558: digits compared after zero-padding to the same length."""
    a, b = str(num1), str(num2)
    width = max(len(a), len(b))
    return sum(abs(int(x) - int(y)) for x, y in zip(a.zfill(width), b.zfill(width), strict=True))


def _poly(xs: list[float], x: float) -> float:
    return sum(coeff * math.pow(x, i) for i, coeff in enumerate(xs))


Oracle = Callable[[Any, Any, tuple[Any, ...], float], bool]

ORACLES: dict[str, Oracle] = {
    # MBPP+: the reference's output is one of several right answers.
    "always": lambda out, exp, args, atol: True,
    "or_zero": lambda out, exp, args, atol: out == exp or out == 0,
    "surface_area": lambda out, exp, args, atol: out == exp or abs(out - _surface_area(*args)) <= atol,
    "digit_distance": lambda out, exp, args, atol: out == exp or out == _digit_distance(*args),
    "set_eq": lambda out, exp, args, atol: set(out) == set(exp),
    # MBPP+: only whether a value is returned is checked (the reference returns a match object).
    "not_none": lambda out, exp, args, atol: out == exp if isinstance(out, bool) else exp == (out is not None),
}

#: HumanEval/32 `find_zero`: any x with |poly(x)| <= atol is a root; the float rule does not apply after it.
FIND_ZERO = "find_zero"


def match_functional(out: Any, exp: Any, args: tuple[Any, ...], atol: float | None,
                     oracle: str | None) -> bool:
    """Whether a decoded return value passes (see the module docstring)."""
    try:
        if oracle == FIND_ZERO:
            return abs(_poly(*args, out)) <= (atol or 0.0)
        out_l, exp_l = lists(out), lists(exp)
        match = ORACLES[oracle](out, exp, args, atol or 0.0) if oracle else out_l == exp_l
        if match or atol is None:
            return bool(match)
        if atol == 0 and is_floats(exp):
            atol = MIN_FLOAT_ATOL
        if atol == 0:
            return False
        return type(out_l) is type(exp_l) and allclose(out_l, exp_l, atol)
    except (TypeError, ValueError, ArithmeticError, RecursionError):
        return False


def _stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in line.split()]
    except (InvalidOperation, ValueError):
        return None


def match_stdio(out: str, exp: str) -> bool:
    """LiveCodeBench's stdout rule (see the module docstring)."""
    got, want = _stripped_lines(out), _stripped_lines(exp)
    if len(got) != len(want):
        return False
    for a, b in zip(got, want, strict=True):
        if a == b:
            continue
        da, db = _decimals(a), _decimals(b)
        if da is None or db is None or da != db:
            return False
    return True
