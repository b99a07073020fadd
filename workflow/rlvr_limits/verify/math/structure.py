"""Split a cleaned answer into its structure: lists, tuples/intervals, sets, unions, matrices, relations, atoms.

The split works on the string with a bracket-depth scan, so it never calls a parser and costs time linear in
the answer. Atoms (the scalar pieces) keep their text; their percent sign, degree sign and units are split off
here (see normalize), and their value is computed later, only when a comparison needs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rlvr_limits.verify.math import normalize

MAX_DEPTH = 12  # structure nesting followed (deeper pieces stay atoms)


@dataclass(frozen=True, slots=True)
class Atom:
    """A scalar answer piece; `core` is `text` without percent sign, degree sign and units."""

    text: str
    core: str
    percent: bool = False
    degrees: bool = False


@dataclass(frozen=True, slots=True)
class Text:
    """A word answer (`\\text{Evelyn}`, `\\text{(C)}`), compared case- and punctuation-insensitively."""

    text: str
    form: str


@dataclass(frozen=True, slots=True)
class Time:
    """A time of day (`7:45`, `7:45\\text{p.m.}`, `6am`): hour and minute, and am/pm when written."""

    text: str
    hour: int
    minute: int
    half: str | None

    def same(self, other: Time) -> bool:
        """The same time; without am/pm on one side, the same reading of a 12-hour clock."""
        if self.minute != other.minute:
            return False
        if self.half and other.half:
            return (self.hour % 12, self.half) == (other.hour % 12, other.half)
        return self.hour % 12 == other.hour % 12


@dataclass(frozen=True, slots=True)
class Seq:
    """A bracketed sequence: tuple, point, vector or interval (the brackets are part of the answer)."""

    text: str
    opening: str
    closing: str
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Group:
    """Answers whose order does not matter: a bare list `1, 2` or a set `\\{1, 2\\}`."""

    text: str
    items: tuple[Node, ...]
    braced: bool


@dataclass(frozen=True, slots=True)
class Union:
    """`A \\cup B`: parts compared without order."""

    text: str
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Matrix:
    text: str
    rows: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True, slots=True)
class Relation:
    """`a = b = c`, `x \\le 3`, `1 < x < 2`: parts and the operators between them."""

    text: str
    parts: tuple[Node, ...]
    ops: tuple[str, ...]

    @property
    def is_equation(self) -> bool:
        return all(op == "=" for op in self.ops)


Node = Atom | Text | Time | Seq | Group | Union | Matrix | Relation

_RELATIONS = ("\\approx", "\\le", "\\ge", "\\ne", "=", "<", ">")
_LIST_SEPARATORS = (",", ";")
#: every separator the structure split looks for (longer spellings first where one is a prefix of another)
SEPARATORS = (*_LIST_SEPARATORS, "\\cup", *_RELATIONS, "\\pm", "\\mp", "&", "\\\\")
_FIRST_CHARS = frozenset(sep[0] for sep in SEPARATORS)
_BY_FIRST_CHAR = {c: tuple(sep for sep in SEPARATORS if sep[0] == c) for c in _FIRST_CHARS}
_RELATION_SET = frozenset(_RELATIONS)
_RELATION_OPS = {"\\approx": "=", "\\le": "<=", "\\ge": ">=", "\\ne": "!=", "=": "=", "<": "<", ">": ">"}
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_MATRIX_BEGIN, _MATRIX_END = "\\begin{pmatrix}", "\\end{pmatrix}"
_IN_PREFIX = re.compile(r"(?:[a-zA-Z]|\\[a-zA-Z]+)(?:_\{?\w+\}?)?\\in(?![a-zA-Z])")
_NAME = re.compile(r"(?:[A-Za-z]|\\[a-zA-Z]+)(?:_(?:\{[^{}]*\}|[A-Za-z0-9]))?'*(?:\([^()]*\))?"
                   r"|(?:[A-Za-z]|\\[a-zA-Z]+)(?:_(?:\{[^{}]*\}|[A-Za-z0-9]))?\^(?:\{-?\w+\}|[A-Za-z])\([^()]*\)")
#: a set written by its condition: `\{x \mid 1 < x \le 4\}`, `\{x | ...\}`, `\{x : ...\}`
_SET_BUILDER = re.compile(r"\A((?:[A-Za-z]|\\[a-zA-Z]++)(?:\\in[^|:]*+)?+)(?:\\mid|\||:)(.+)")
_TIME = re.compile(r"(\d{1,2})(?::(\d{2}))?(?:\\text\{)?(?:([aApP])\.?[mM]\.?)?\}?")
_ORDINAL = re.compile(r"(?<!\d)(\d++)(st|nd|rd|th)")
_ORDINAL_WORDS = {word: n for n, word in enumerate((
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
    "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth",
    "twentieth"), start=1)}
_NUMBER_WORDS = {word: n for n, word in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"))}
#: nouns an ordinal may name (`\text{Ninth grade}`, `3rd place`)
_COUNTED = ("", "grade", "place", "term", "day", "floor", "row", "round", "year", "position", "time", "century")


def _scan(s: str) -> list[tuple[int, str]]:
    """Positions and spellings of every separator (SEPARATORS) found at bracket depth 0, in one pass."""
    found: list[tuple[int, str]] = []
    depth = 0
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        step = 1
        if c == "\\":
            following = s[i + 1:i + 2]
            if following == "{" or s.startswith("\\langle", i):
                depth += 1
            elif following == "}" or s.startswith("\\rangle", i):
                depth -= 1
            step = 2 if following and not following.isalpha() else 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if depth == 0 and c in _FIRST_CHARS:
            for sep in _BY_FIRST_CHAR[c]:
                if s.startswith(sep, i) and not (sep[0] == "\\" and s[i + len(sep):i + len(sep) + 1].isalpha()):
                    found.append((i, sep))
                    step = len(sep)
                    break
        i += step
    return found


def _split(s: str, found: list[tuple[int, str]], wanted: frozenset[str] | tuple[str, ...]) -> tuple[
        list[str], list[str]]:
    """Pieces of `s` between the `wanted` separators of `found` (from _scan), and those separators."""
    pieces, seps = [], []
    start = 0
    for position, sep in found:
        if sep in wanted:
            pieces.append(s[start:position].strip())
            seps.append(sep)
            start = position + len(sep)
    pieces.append(s[start:].strip())
    return pieces, seps


def _wrapped(s: str) -> tuple[str, str, str] | None:
    """(opening, closing, inside) when brackets enclose the whole string, e.g. `(1,2]` or `\\{1,2\\}`."""
    if s.startswith("\\{"):
        opening = "\\{"
    elif s.startswith("\\langle"):
        opening = "\\langle"
    elif s[:1] in ("(", "["):
        opening = s[0]
    else:
        return None
    depth = 0
    i, n = 0, len(s)
    while i < n:
        if s.startswith("\\langle", i) or s.startswith("\\{", i):
            depth += 1
            i += 7 if s[i + 1] == "l" else 2
        elif s.startswith("\\rangle", i) or s.startswith("\\}", i):
            depth -= 1
            i += 7 if s[i + 1] == "r" else 2
        else:
            c = s[i]
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
            i += 1
        if depth == 0:
            if i != n:
                return None
            closing = s[-1] if opening in ("(", "[") else ("\\}" if opening == "\\{" else "\\rangle")
            if (opening == "\\{" and not s.endswith("\\}")) or (opening == "\\langle" and not s.endswith(
                    "\\rangle")):
                return None
            return opening, closing, s[len(opening):n - len(closing)]
    return None


def _atom(s: str) -> Node:
    time = _TIME.fullmatch(s[6:-1] if s.startswith("\\text{") and s.endswith("}") else s)
    if time is not None and (time.group(2) or time.group(3)):
        hour, minute, half = int(time.group(1)), int(time.group(2) or 0), time.group(3)
        if hour <= 24 and minute < 60:
            return Time(s, hour, minute, f"{half.lower()}m" if half else None)
    core, percent = normalize.split_percent(s)
    core, degrees = normalize.split_degrees(core)
    core = normalize.split_units(core)
    ordinal = _ORDINAL.fullmatch(core)
    if ordinal is not None and _ordinal_suffix(int(ordinal.group(1))) == ordinal.group(2):
        return Atom(s, ordinal.group(1))
    if normalize.is_text(core):
        form = normalize.text_form(core)
        number = _counted_number(form)
        return Atom(s, str(number)) if number is not None else Text(s, form)
    return Atom(s, core, percent, degrees)


def _ordinal_suffix(n: int) -> str:
    if n % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _counted_number(form: str) -> int | None:
    """The number a word answer states: a number word (`seven`), or an ordinal alone or before the noun it
    counts (`ninth`, `ninthgrade`); text forms have no spaces, so the noun is matched as a suffix."""
    if form in _NUMBER_WORDS:
        return _NUMBER_WORDS[form]
    for word, n in _ORDINAL_WORDS.items():
        if form.startswith(word) and form[len(word):] in _COUNTED:
            return n
    return None


def _group(s: str, items: list[Node], braced: bool) -> Node:
    unique: dict[str, Node] = {}
    for item in items:
        if isinstance(item, Group) and not item.braced:  # `1 \pm 2` inside a list adds two answers
            for inner in item.items:
                unique.setdefault(inner.text, inner)
        else:
            unique.setdefault(item.text, item)
    if len(unique) == 1 and not braced:
        return next(iter(unique.values()))
    return Group(s, tuple(unique.values()), braced)


def parse_answer(s: str, depth: int = 0) -> Node:
    """The structure of a cleaned answer string."""
    if depth > MAX_DEPTH:
        return Atom(s, s)
    if "," in s and s[:1] not in "([\\" and "," not in _THOUSANDS.sub("", s):
        s = _THOUSANDS.sub("", s)  # 1,000 or 1,000\text{dollars}
    if s.startswith(_MATRIX_BEGIN) and s.endswith(_MATRIX_END) and len(s) >= len(_MATRIX_BEGIN + _MATRIX_END):
        body = s[len(_MATRIX_BEGIN):len(s) - len(_MATRIX_END)]
        found = _scan(body)
        rows = [row for row in _split(body, found, ("\\\\",))[0] if row]
        return Matrix(s, tuple(tuple(parse_answer(cell, depth + 1) for cell in _split(row, _scan(row), ("&",))[0])
                               for row in rows))
    prefix = _IN_PREFIX.match(s)
    if prefix is not None and prefix.end() < len(s):
        return parse_answer(s[prefix.end():], depth + 1)
    found = _scan(s)
    kinds = {sep for _, sep in found}
    if "," in kinds or ";" in kinds:
        return _list(s, [p for p in _split(s, found, _LIST_SEPARATORS)[0] if p], depth)
    if "\\cup" in kinds:
        return Union(s, tuple(parse_answer(p, depth + 1) for p in _split(s, found, ("\\cup",))[0]))
    if s in ("\\emptyset", "\\{\\}"):
        return Group(s, (), True)
    wrapped = _wrapped(s)
    if wrapped is not None:
        opening, closing, inside = wrapped
        items = [p for p in _split(inside, _scan(inside), _LIST_SEPARATORS)[0] if p]
        if opening == "\\{":
            builder = _SET_BUILDER.fullmatch(inside)
            if builder is not None and len(items) == 1 and _scan(builder.group(2)):
                return parse_answer(builder.group(2), depth + 1)  # the set of the condition's solutions
            return _group(s, [parse_answer(p, depth + 1) for p in items], braced=True)
        if len(items) > 1 or opening == "\\langle":
            return Seq(s, opening, closing, tuple(parse_answer(p, depth + 1) for p in items))
        if (opening, closing) in (("(", ")"), ("[", "]")) and items:
            return parse_answer(items[0], depth + 1)
    if kinds & _RELATION_SET:
        pieces, ops = _split(s, found, _RELATION_SET)
        if all(pieces):
            return Relation(s, tuple(parse_answer(p, depth + 1) for p in pieces),
                            tuple(_RELATION_OPS[op] for op in ops))
    for sign in ("\\pm", "\\mp"):
        if sign in kinds:
            pieces, _ = _split(s, found, (sign,))
            if len(pieces) == 2:
                head, tail = pieces
                first, second = ("+", "-") if sign == "\\pm" else ("-", "+")
                return _group(s, [_atom(f"{head}{first}({tail})"), _atom(f"{head}{second}({tail})")],
                              braced=False)
    return _atom(s)


def _list(s: str, pieces: list[str], depth: int) -> Node:
    """A top-level list; `x = 1, 2` is read as x ∈ {1, 2} (the name applies to every value)."""
    nodes = [parse_answer(p, depth + 1) for p in pieces]
    first = nodes[0]
    if (isinstance(first, Relation) and first.is_equation and len(first.parts) == 2 and is_name(first.parts[0])
            and not any(isinstance(n, Relation) for n in nodes[1:])):
        nodes[0] = first.parts[1]
    return _group(s, nodes, braced=False)


def is_name(node: Node) -> bool:
    """Whether a left-hand side names the answer (`x`, `f(x)`, `a_1`, `\\text{Area}`, `(x, y)`)."""
    if isinstance(node, Text):
        return True
    if isinstance(node, Seq):
        return all(is_name(item) for item in node.items)
    return isinstance(node, Atom) and _NAME.fullmatch(node.text) is not None
