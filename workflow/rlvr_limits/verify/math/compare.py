"""Equivalence of a gold answer and a predicted answer, both already split into structure (see structure.py).

Everything here runs in the caller's process and is bounded. When a scalar needs a parser we do not have
(`evaluate` refused it), `equal` raises `NeedSympy` unless `Rules.symbolic` is set; the checker then repeats
the whole comparison in a worker process where `Rules.symbolic` is the guarded sympy comparison.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

from rlvr_limits.verify.math import evaluate, normalize
from rlvr_limits.verify.math.structure import Atom, Group, Matrix, Node, Relation, Seq, Text, Time, Union, is_name


class NeedSympy(Exception):
    """The fast path cannot decide; the comparison must be repeated with the sympy path."""


class Refused(Exception):
    """A guard refused to evaluate an answer (too large, too long, too deeply nested)."""


#: symbolic(gold_core, pred_core, rules, pred_scales) -> bool, the sympy comparison of two scalars.
Symbolic = Callable[[str, str, "Rules", tuple[str, ...]], bool]


@dataclass(frozen=True)
class Rules:
    """How to compare: `approximate` golds (Minerva) are matched at their printed significant figures;
    `tolerance` is an absolute error allowed around a numeric gold (OlympiadBench's `error` field)."""

    approximate: bool = False
    tolerance: Fraction | None = None
    symbolic: Symbolic | None = None


_INTEGER = re.compile(r"-?\d+")
_BASED = re.compile(r"(?<!\d)(\d++)_\{?+(\d++)\}?+")
_PROSE = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{8,}")
_DEGREES_TO_RADIANS = "\\frac{\\pi}{180}"
MIN_SIGFIGS = 3
#: names of arbitrary constants an answer may choose differently from the gold (`K` for `k`, `c_1` for `C_1`): the
#: letters C and K in either case, numbered from 1 (`I_0`, `V_0` name given quantities, not constants)
_CONSTANT = re.compile(r"[CcKk](?:_[1-9]\d*+)?")
MAX_RENAMED = 4  # at most 4! renamings are tried


def equal(gold: Node, pred: Node, rules: Rules) -> bool:
    """Whether `pred` answers `gold` (see the package docstring for the policy)."""
    if gold.text == pred.text:
        return True
    if isinstance(gold, Relation) or isinstance(pred, Relation):
        return _relation_equal(gold, pred, rules)
    if isinstance(gold, Time) or isinstance(pred, Time):
        return isinstance(gold, Time) and isinstance(pred, Time) and gold.same(pred)
    if isinstance(gold, Text) or isinstance(pred, Text):
        return _text(gold) == _text(pred)
    if isinstance(gold, Atom):
        return isinstance(pred, Atom) and scalar_equal(gold, pred, rules)
    if isinstance(gold, Group):
        return isinstance(pred, Group) and _unordered(gold.items, pred.items, rules)
    if isinstance(gold, Seq):
        if isinstance(pred, Seq):
            return (gold.opening, gold.closing) == (pred.opening, pred.closing) and _ordered(
                gold.items, pred.items, rules)
        if isinstance(pred, Group) and not pred.braced:  # `3, \frac{\pi}{2}` for the point (3, \frac{\pi}{2})
            return _ordered(gold.items, pred.items, rules)
        return isinstance(pred, Matrix) and _vector_equal(pred, gold, rules)
    if isinstance(gold, Union):
        return isinstance(pred, Union) and _unordered(gold.parts, pred.parts, rules)
    if isinstance(gold, Matrix):
        if isinstance(pred, Seq):
            return _vector_equal(gold, pred, rules)
        return isinstance(pred, Matrix) and [len(r) for r in gold.rows] == [len(r) for r in pred.rows] and (
            _ordered(tuple(c for r in gold.rows for c in r), tuple(c for r in pred.rows for c in r), rules))
    return False


def _text(node: Node) -> str:
    if isinstance(node, Text):
        return node.form
    return normalize.text_form(node.text)


def _vector_equal(matrix: Matrix, seq: Seq, rules: Rules) -> bool:
    """A one-column or one-row matrix is the same vector as the parenthesized tuple of its entries."""
    if seq.opening != "(" and seq.opening != "\\langle":
        return False
    if len(matrix.rows) == 1:
        cells = matrix.rows[0]
    elif all(len(row) == 1 for row in matrix.rows):
        cells = tuple(row[0] for row in matrix.rows)
    else:
        return False
    return _ordered(cells, seq.items, rules)


def _ordered(gold: tuple[Node, ...], pred: tuple[Node, ...], rules: Rules) -> bool:
    """Element-wise; a definite mismatch anywhere wins over an element that needs the sympy path."""
    if len(gold) != len(pred):
        return False
    pending: NeedSympy | None = None
    for g, p in zip(gold, pred, strict=True):
        try:
            if not equal(g, p, rules):
                return False
        except NeedSympy as exc:
            pending = exc
    if pending is not None:
        raise pending
    return True


def _unordered(gold: tuple[Node, ...], pred: tuple[Node, ...], rules: Rules) -> bool:
    """Multiset match (items are already de-duplicated): every gold item equals a distinct pred item."""
    if len(gold) != len(pred):
        return False
    unmatched = list(pred)
    pending: NeedSympy | None = None
    for g in gold:
        for index, p in enumerate(unmatched):
            try:
                if equal(g, p, rules):
                    del unmatched[index]
                    break
            except NeedSympy as exc:
                pending = exc
        else:
            if pending is not None:
                raise pending
            return False
    return True


# ---------------------------------------------------------------------------------------------- relations

_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "!=": "!="}


def _as_interval(node: Relation) -> Seq | None:
    """`x > 2` → (2, \\infty); `1 \\le x < 3` → [1, 3); None unless one side is a lone variable."""
    parts, ops = node.parts, node.ops
    if not all(op in ("<", "<=", ">", ">=") for op in ops) or len(parts) not in (2, 3):
        return None
    if len(parts) == 3:
        if not (is_name(parts[1]) and isinstance(parts[1], Atom)) or len(set(op[0] for op in ops)) != 1:
            return None
        if ops[0][0] == ">":
            parts, ops = parts[::-1], tuple(_FLIP[op] for op in ops[::-1])
        low, high = parts[0], parts[2]
        return Seq(node.text, "[" if ops[0] == "<=" else "(", "]" if ops[1] == "<=" else ")", (low, high))
    left, right = parts
    op = ops[0]
    if is_name(right) and not is_name(left):
        left, right, op = right, left, _FLIP[op]
    if not (isinstance(left, Atom) and is_name(left)) or is_name(right):
        return None
    infinity = Atom("\\infty", "\\infty")
    minus_infinity = Atom("-\\infty", "-\\infty")
    if op in (">", ">="):
        return Seq(node.text, "[" if op == ">=" else "(", ")", (right, infinity))
    return Seq(node.text, "(", "]" if op == "<=" else ")", (minus_infinity, right))


def _relation_equal(gold: Node, pred: Node, rules: Rules) -> bool:
    for side in (gold, pred):
        if isinstance(side, Relation) and not side.is_equation:
            interval = _as_interval(side)
            if interval is not None:
                if side is gold:
                    gold = interval
                else:
                    pred = interval
    if not isinstance(gold, Relation) and not isinstance(pred, Relation):
        return equal(gold, pred, rules)
    if isinstance(gold, Relation) and gold.is_equation:
        if isinstance(pred, Relation) and pred.is_equation:
            if is_name(gold.parts[0]) and is_name(pred.parts[0]):
                return equal(gold.parts[0], pred.parts[0], rules) and equal(gold.parts[-1], pred.parts[-1], rules)
            return _equation_equal(gold, pred, rules)
        return is_name(gold.parts[0]) and equal(gold.parts[-1], pred, rules)
    if isinstance(pred, Relation) and pred.is_equation:  # `x = 5`, `x = 2+3 = 5`, `\frac{3}{4} = 0.75`
        if isinstance(gold, Relation) or not (is_name(pred.parts[0]) or all(_is_constant(p) for p in pred.parts)):
            return False
        return equal(gold, pred.parts[-1], rules)
    if not (isinstance(gold, Relation) and isinstance(pred, Relation)):
        return False
    g_parts, g_ops = _oriented(gold)
    p_parts, p_ops = _oriented(pred)
    return g_ops == p_ops and _ordered(g_parts, p_parts, rules)


def _is_constant(node: Node) -> bool:
    """A number we can evaluate (so an equation chain of such numbers is a computation, not an equation)."""
    if not isinstance(node, Atom):
        return False
    expr = evaluate.parse(node.core)
    return not isinstance(expr, str) and expr.is_constant


def _oriented(node: Relation) -> tuple[tuple[Node, ...], tuple[str, ...]]:
    """The relation written with `<`/`<=` rather than `>`/`>=` (so `x \\ge 2` and `2 \\le x` agree)."""
    if any(op in (">", ">=") for op in node.ops):
        return node.parts[::-1], tuple(_FLIP[op] for op in node.ops[::-1])
    return node.parts, node.ops


def _equation_equal(gold: Relation, pred: Relation, rules: Rules) -> bool:
    """Two equations are the same when (lhs - rhs) of one is a nonzero constant multiple of the other's."""
    if len(gold.parts) != 2 or len(pred.parts) != 2:
        return False
    sides = (*gold.parts, *pred.parts)
    if not all(isinstance(side, Atom) for side in sides):
        return False
    texts = [f"({a.core})-({b.core})" for a, b in ((sides[0], sides[1]), (sides[2], sides[3]))]
    g_expr, p_expr = evaluate.parse(texts[0]), evaluate.parse(texts[1])
    if isinstance(g_expr, str) or isinstance(p_expr, str):
        reason = g_expr if isinstance(g_expr, str) else p_expr
        if reason.startswith("too large"):
            raise Refused(reason)
        if reason.startswith("unsupported"):
            if rules.symbolic is None:
                raise NeedSympy(reason)
            return rules.symbolic(texts[0], texts[1], rules, ("ratio",))
        return False
    result = evaluate.proportional(g_expr, p_expr)
    if result is None:
        if rules.symbolic is None:
            raise NeedSympy("equation")
        return rules.symbolic(texts[0], texts[1], rules, ("ratio",))
    return result


# ---------------------------------------------------------------------------------------------- scalars


def _canonical_integer(text: str) -> str:
    negative = text.startswith("-")
    digits = text.lstrip("-").lstrip("0") or "0"
    return "-" + digits if negative and digits != "0" else digits


def _scales(gold: Atom, pred: Atom) -> tuple[str, ...]:
    """Factors (as LaTeX) by which the prediction may be multiplied: percent and degree signs are units."""
    scales = [""]
    if pred.percent and not gold.percent:
        scales.append("\\frac{1}{100}")
    if gold.percent and not pred.percent:
        scales.append("100")
    if gold.degrees and not pred.degrees:
        scales.append("\\frac{180}{\\pi}")
    if pred.degrees and not gold.degrees:
        scales.append(_DEGREES_TO_RADIANS)
    return tuple(scales)


def scalar_equal(gold: Atom, pred: Atom, rules: Rules) -> bool:
    if gold.core == pred.core:
        return True
    based, pred_based = _BASED.fullmatch(gold.core), _BASED.fullmatch(pred.core)
    if based is not None:  # 52_8: the same digits, with or without the base
        return pred.core == based.group(1) or (pred_based is not None and pred_based.groups() == based.groups())
    if pred_based is not None or not _readable(pred.core) or not _readable(gold.core):
        return False  # prose is equal only to itself
    if (_INTEGER.fullmatch(gold.core) and _INTEGER.fullmatch(pred.core)
            and (gold.percent, gold.degrees) == (pred.percent, pred.degrees)):
        return _canonical_integer(gold.core) == _canonical_integer(pred.core)  # any size, no conversion
    g_expr = _parsed(gold.core, is_gold=True)
    p_expr = _parsed(pred.core, is_gold=False)
    scales = _scales(gold, pred)
    if g_expr is None or p_expr is None:
        if rules.symbolic is None:
            raise NeedSympy("unsupported notation")
        return rules.symbolic(gold.core, pred.core, rules, scales)
    if isinstance(g_expr, bool) or isinstance(p_expr, bool):
        return False  # undefined answers (division by zero ...)
    undecided = False
    for scale in scales:
        candidate = p_expr if not scale else evaluate.parse(f"({pred.core})\\cdot{scale}")
        if isinstance(candidate, str):
            continue
        result = _numbers_equal(g_expr, candidate, rules, None if scale else p_expr.literal)
        if result:
            return True
        undecided = undecided or result is None
    if undecided:
        if rules.symbolic is None:
            raise NeedSympy("numerically undecided")
        return rules.symbolic(gold.core, pred.core, rules, scales)
    return any(_numbers_equal(g_expr, candidate, rules, None) for candidate in _renamings(g_expr, p_expr))


def _renamings(gold: evaluate.Expr, pred: evaluate.Expr) -> Iterator[evaluate.Expr]:
    """`pred` with its arbitrary constants named as the gold's: when the two differ only in the names of such
    constants (`_CONSTANT`), every one-to-one renaming of them, the same letters ignoring case first."""
    only_gold = sorted(gold.symbols - pred.symbols)
    only_pred = sorted(pred.symbols - gold.symbols)
    if not only_gold or len(only_gold) != len(only_pred) or len(only_gold) > MAX_RENAMED:
        return
    if not all(_CONSTANT.fullmatch(name) for name in (*only_gold, *only_pred)):
        return
    same_letters = {p: g for p in only_pred for g in only_gold if p.lower() == g.lower()}
    first = [tuple(same_letters[p] for p in only_pred)] if len(same_letters) == len(only_pred) else []
    for order in dict.fromkeys([*first, *itertools.permutations(only_gold)]):
        yield evaluate.renamed(pred, dict(zip(only_pred, order, strict=True)))


def _readable(text: str) -> bool:
    """False for what no parser can read as mathematics: unbalanced braces, or prose (a run of 8 letters)."""
    return text.count("{") == text.count("}") and _PROSE.search(text) is None


def _parsed(text: str, is_gold: bool) -> evaluate.Expr | bool | None:
    """The Expr; None when only sympy can read it; False when it has no value. Guards raise Refused."""
    expr = evaluate.parse(text)
    if not isinstance(expr, str):
        return expr
    if expr.startswith("too large") or expr.startswith("unsupported: too long"):
        raise Refused(f"{'gold' if is_gold else 'answer'} {expr}")
    if expr.startswith("undefined"):
        return False
    return None


def _numbers_equal(gold: evaluate.Expr, pred: evaluate.Expr, rules: Rules,
                   printed: evaluate.Literal | None) -> bool | None:
    """Exact when both are rational; rounding rules for printed decimals; else numeric probing."""
    if gold.exact is not None and pred.exact is not None and gold.exact == pred.exact:
        return True
    if rules.tolerance is not None and gold.literal is not None and pred.is_constant:
        return bool(evaluate.within(pred, gold.literal.value, rules.tolerance))
    if rules.approximate and gold.literal is not None and pred.is_constant and (
            gold.literal.is_decimal or gold.literal.sigfigs >= 2):
        # A rounded gold (Minerva's physics values): right if the answer rounds to it at the gold's printed
        # precision, or if both are roundings of one value, each at its own printed precision, with the answer
        # printed to at least 3 significant figures (or as many as the gold has). An integer of one significant
        # figure (4, 10, 100) is exact: a count, an exact result or a power of ten.
        lit = gold.literal
        if evaluate.within(pred, lit.value, lit.unit / 2):
            return True
        if printed is not None and printed.sigfigs >= min(MIN_SIGFIGS, lit.sigfigs):
            # the two rounding intervals must overlap, not just touch (4.6 is not a rounding of 4.5's value)
            overlap = (lit.unit + printed.unit) / 2 - min(lit.unit, printed.unit) / 1000
            return bool(evaluate.within(pred, lit.value, overlap))
        return False
    if printed is not None and printed.is_decimal and gold.is_constant and (
            gold.exact is not None or evaluate.real_value(gold) is not None):
        return printed.sigfigs >= MIN_SIGFIGS and bool(evaluate.within(gold, printed.value, printed.unit / 2))
    if gold.exact is not None and pred.exact is not None:
        return False
    return evaluate.approx_equal(gold, pred)
