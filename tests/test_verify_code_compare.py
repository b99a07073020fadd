"""Comparators: evalplus's functional rule, LiveCodeBench's stdout rule, and the sandbox's value encoding."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlvr_limits.verify.code.compare import Opaque, allclose, decode, match_functional, match_stdio
from rlvr_limits.verify.code.runner import encode

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.binary() \
    | st.complex_numbers(allow_nan=False)
_hashable = st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                         lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3), max_leaves=8)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                       | st.sets(_hashable, max_size=4) | st.dictionaries(_hashable, inner, max_size=3),
                       max_leaves=20)


@given(_values)
def test_encoding_round_trips_through_json(value):
    back = decode(json.loads(json.dumps(encode(value), allow_nan=False)))
    assert back == value and type(back) is type(value)


def test_encoding_of_what_json_cannot_say():
    for value in (math.inf, -math.inf, 10**5000, -(2**70), b"\x00\xff", 1 + 2j, frozenset({(1, 2)})):
        assert decode(json.loads(json.dumps(encode(value)))) == value
    nan = decode(json.loads(json.dumps(encode(math.nan))))
    assert math.isnan(nan)
    opaque = decode(json.loads(json.dumps(encode(object))))
    assert isinstance(opaque, Opaque) and opaque == Opaque("type", "<class 'object'>")
    with pytest.raises(ValueError):
        decode({"~": "?", "v": 1})


@pytest.mark.parametrize(("out", "exp", "atol", "ok"), [
    ([1, [2, 3]], (1, (2, 3)), None, True),  # tuples compare as lists, at any depth
    ({"a": (1,)}, {"a": [1]}, None, True),
    (0.30000000000000004, 0.3, None, False),  # LiveCodeBench: exact
    (0.30000000000000004, 0.3, 0.0, True),  # evalplus: floats get atol 1e-6
    ([0.1 + 1e-9, 2.0], [0.1, 2.0], 0.0, True),
    ([0.1 + 1e-3, 2.0], [0.1, 2.0], 0.0, False),
    (3, 3.0000001, 0.0, False),  # different types are never close
    (5, 6, 0.0, False),  # ints: no tolerance unless the task has one
    (5, 6, 2.0, True),
    (math.nan, math.nan, 0.0, False),
    (math.inf, math.inf, 0.0, True),
    ([1.0], [1.0, 2.0], 0.0, False),
    ("1.0", 1.0, 0.0, False),
    (None, [1.0], 0.0, False),
])
def test_functional_rule(out, exp, atol, ok):
    assert match_functional(out, exp, (), atol, None) is ok


def test_special_oracles():
    assert match_functional([3, 1], (1, 3), (), 0.0, "set_eq")
    assert not match_functional([3], (1, 3), (), 0.0, "set_eq")
    assert match_functional(0, 5, (), 0.0, "or_zero") and not match_functional(4, 5, (), 0.0, "or_zero")
    assert match_functional(Opaque("Match", "<re.Match>"), True, (), 0.0, "not_none")
    assert not match_functional(None, True, (), 0.0, "not_none")
    assert match_functional(False, False, (), 0.0, "not_none")
    assert match_functional(-1.0, 2.0, ([1, 0, -1],), 1e-6, "find_zero")  # 1 - x^2 = 0 at -1 as well as 1
    assert not match_functional(0.5, 1.0, ([1, 0, -1],), 1e-6, "find_zero")
    assert match_functional(12, 13, (2, 1), 1.0, "surface_area")  # within atol of the reference formula
    assert match_functional(7, 99, (123, 256), 0.0, "digit_distance")
    assert match_functional("anything", None, (), 0.0, "always")


@pytest.mark.parametrize(("out", "exp", "ok"), [
    ("3\n2\n", "3\n2", True),
    ("  3 \n 2  \n\n\n", "3\n2\n", True),
    ("3\n\n2\n", "3\n2\n", False),  # the line count must agree
    ("1.50\n", "1.5\n", True),  # numbers compare as Decimals, token by token
    ("1.5 2\n", "1.50 2.0\n", True),
    ("50000000000000001\n", "50000000000000000\n", False),  # exactly, not with a float tolerance
    ("1.5\n", "1.4999999\n", False),
    ("Yes\n", "YES\n", False),
    ("", "", True),
    ("", "0\n", False),
])
def test_stdio_rule(out, exp, ok):
    assert match_stdio(out, exp) is ok


def test_allclose_shapes():
    assert allclose([[1.0, 2.0]], [[1.0, 2.0 + 1e-9]], 1e-6)
    assert not allclose([[1.0]], [[1.0, 2.0]], 1e-6)
    assert not allclose(1 + 1j, 1 + 1j, 1e-6)
