"""Every module-level regex of `rlvr_limits.verify` runs in time linear in the length of the text it reads.

The regexes are found by introspection (every `re.Pattern` attribute of every module of the package), so a new
one is covered without being listed here. Each is attacked with strings built from its own syntax tree: a
prefix that starts a match, the text of one of its pieces (a repeated group, an alternative, the start of a
sequence) repeated n times, and a tail that makes the match fail at the end, which is where backtracking
blows up. `search` (the match tried at every position, as `findall` and `sub` do) and `fullmatch` are both
timed. A screening pass at a small n finds each pattern's slowest strings; those are then timed at n and 8n
(minimum of several runs, so a loaded machine does not fail the test) and must not take more than three times
the linear growth. A match that runs past a second at any size is interrupted (SIGALRM, which the regex engine
honours) and fails the test as exponential.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import signal
import time
from collections.abc import Iterator

import pytest

import rlvr_limits.verify

Parsed = re._parser.SubPattern  # type: ignore[attr-defined]
_C = re._constants  # type: ignore[attr-defined]

SCREEN_REPEATS = 300
SMALL, LARGE = 400, 3200
GROWTH_MARGIN = 3.0
KEPT_PER_PATTERN = 4
RUNS = 5
ALARM_S = 0.5
_CANDIDATE_CHARS = "a0 .x,{}\\$(Z_-+/^!\n\x01"
_CATEGORY_CHARS = {_C.CATEGORY_DIGIT: "0", _C.CATEGORY_NOT_DIGIT: "a", _C.CATEGORY_SPACE: " ",
                   _C.CATEGORY_NOT_SPACE: "a", _C.CATEGORY_WORD: "a", _C.CATEGORY_NOT_WORD: " ",
                   _C.CATEGORY_LINEBREAK: "\n", _C.CATEGORY_NOT_LINEBREAK: "a"}
_CATEGORY_REGEX = {category: re.compile(regex) for category, regex in (
    (_C.CATEGORY_DIGIT, r"\d"), (_C.CATEGORY_NOT_DIGIT, r"\D"), (_C.CATEGORY_SPACE, r"\s"),
    (_C.CATEGORY_NOT_SPACE, r"\S"), (_C.CATEGORY_WORD, r"\w"), (_C.CATEGORY_NOT_WORD, r"\W"),
    (_C.CATEGORY_LINEBREAK, r"\n"), (_C.CATEGORY_NOT_LINEBREAK, r"[^\n]"))}


def module_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """(module.NAME, pattern) for every compiled regex at module level in rlvr_limits.verify."""
    found: dict[str, re.Pattern[str]] = {}
    package = rlvr_limits.verify
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                found.setdefault(f"{info.name}.{name}", value)
    return sorted(found.items())


def _in_class(char: str, items: list) -> bool:
    hit = False
    for op, arg in items:
        if op is _C.NEGATE:
            continue
        if op is _C.LITERAL:
            hit |= ord(char) == arg
        elif op is _C.RANGE:
            hit |= arg[0] <= ord(char) <= arg[1]
        elif op is _C.CATEGORY:
            hit |= _CATEGORY_REGEX[arg].fullmatch(char) is not None
    return hit != (bool(items) and items[0][0] is _C.NEGATE)


def _one_char(op: object, arg: object) -> str:
    if op is _C.LITERAL:
        return chr(arg)
    if op is _C.NOT_LITERAL:
        return "a" if chr(arg) != "a" else "b"
    if op is _C.ANY:
        return "a"
    if op is _C.IN:
        return next((c for c in _CANDIDATE_CHARS if _in_class(c, arg)), "a")
    if op is _C.CATEGORY:
        return _CATEGORY_CHARS[arg]
    return ""


def _sample(items: Parsed | list) -> str:
    """A short string the pattern piece matches (or nearly: look-arounds and anchors are ignored)."""
    out = []
    for op, arg in items:
        if op in (_C.LITERAL, _C.NOT_LITERAL, _C.ANY, _C.IN, _C.CATEGORY):
            out.append(_one_char(op, arg))
        elif op is _C.BRANCH:
            out.append(_sample(arg[1][0]))
        elif op is _C.SUBPATTERN:
            out.append(_sample(arg[3]))
        elif op is _C.ATOMIC_GROUP:
            out.append(_sample(arg))
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
            low, _, body = arg
            out.append(_sample(body) * (low if 0 < low <= 8 else 1))
    return "".join(out)


def _pieces(items: Parsed | list) -> Iterator[str]:
    """The start of every sequence in the tree (each prefix of its items), and each repeated body."""
    items = list(items)
    for end in range(1, len(items) + 1):
        yield _sample(items[:end])
    for op, arg in items:
        if op is _C.BRANCH:
            for alternative in arg[1]:
                yield from _pieces(alternative)
        elif op is _C.SUBPATTERN:
            yield from _pieces(arg[3])
        elif op is _C.ATOMIC_GROUP:
            yield from _pieces(arg)
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
            yield from _pieces(arg[2])
        elif op in (_C.ASSERT, _C.ASSERT_NOT):
            yield from _pieces(arg[1])


def attacks(pattern: re.Pattern[str]) -> list[tuple[str, str, str]]:
    """(prefix, body, tail): the string prefix + body * n + tail for growing n."""
    tree = re._parser.parse(pattern.pattern, pattern.flags)  # type: ignore[attr-defined]
    top = list(tree)
    prefixes = list(dict.fromkeys(["", *(_sample(top[:end]) for end in range(1, len(top)))]))[:10]
    bodies = [b for b in dict.fromkeys(_pieces(tree)) if b][:120]
    return [(p, b, t) for p in prefixes for b in bodies for t in ("", "\x00")]


class Alarm(Exception):
    pass


def _ring(signum: int, frame: object) -> None:
    raise Alarm


def timed(call, text: str, runs: int = 1, enough: float = 0.0) -> float:
    """Minimum wall time of `call(text)` over `runs` runs (stopping once one is below `enough`); inf when one
    runs past ALARM_S."""
    best = float("inf")
    previous = signal.signal(signal.SIGALRM, _ring)
    try:
        for _ in range(runs):
            signal.setitimer(signal.ITIMER_REAL, ALARM_S)
            try:
                started = time.perf_counter()
                call(text)
                best = min(best, time.perf_counter() - started)
            except Alarm:
                return float("inf")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if best < enough:
                break
    finally:
        signal.signal(signal.SIGALRM, previous)
    return best


def superlinear(pattern: re.Pattern[str]) -> str | None:
    """How `pattern` fails to run in linear time, or None when no attack shows it."""
    for method in (pattern.search, pattern.fullmatch):
        screened = []
        for prefix, body, tail in attacks(pattern):
            seconds = timed(method, prefix + body * SCREEN_REPEATS + tail)
            if seconds == float("inf"):
                return (f"{method.__name__}({prefix!r} + {body!r} * {SCREEN_REPEATS} + {tail!r}) runs past "
                        f"{ALARM_S:g} s")
            screened.append((seconds, (prefix, body, tail)))
        screened.sort(key=lambda entry: entry[0], reverse=True)
        for _, (prefix, body, tail) in screened[:KEPT_PER_PATTERN]:
            small = timed(method, prefix + body * SMALL + tail, RUNS)
            allowed = GROWTH_MARGIN * (LARGE / SMALL) * max(small, 1e-6)
            large = timed(method, prefix + body * LARGE + tail, RUNS, enough=allowed)
            if large > allowed:
                return (f"{method.__name__}({prefix!r} + {body!r} * n + {tail!r}): {small * 1e3:.3f} ms at "
                        f"n={SMALL}, {large * 1e3:.3f} ms at n={LARGE}")
    return None


PATTERNS = module_patterns()
#: regexes that backtrack without bound: the attacks must find each of them (else the test proves nothing)
CATASTROPHIC = {
    "nested repetition": r"(?:a+)+b",
    "overlapping runs under search": r"\s*x",
    "the unit regex that hung on prose in a box": (
        r"\{?([+-]?(?:\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\}?"
        r"((?:[a-zA-Z]+(?:\^\{?-?\d\}?)?|/|\\cdot|\.)+)"),
}


def test_the_regexes_are_found() -> None:
    names = {name.rsplit(".", 1)[-1] for name, _ in PATTERNS}
    assert {"_NUMBER_WITH_UNITS", "_NUMBER", "_MATH_SPAN", "_FENCE"} <= names, names
    assert len(PATTERNS) >= 40


@pytest.mark.parametrize("name", list(CATASTROPHIC))
def test_the_attacks_find_catastrophic_backtracking(name: str) -> None:
    assert superlinear(re.compile(CATASTROPHIC[name])) is not None


@pytest.mark.parametrize("name", [name for name, _ in PATTERNS])
def test_regex_runs_in_linear_time(name: str) -> None:
    pattern = dict(PATTERNS)[name]
    problem = superlinear(pattern)
    assert problem is None, f"{name} ({pattern.pattern!r}) grows faster than linearly: {problem}"
