"""The sympy path: scalars the fast parser refused, parsed with latex2sympy2_extended and compared by sympy.

This module runs only inside worker processes (see pool.py), where a hard deadline and a memory cap contain
whatever sympy does. It still refuses inputs that are hopeless before parsing (exponent towers, huge
factorials and literals, deep nesting), because a refused input costs nothing while a killed worker costs a
restart. Parses are full-string only: latex2sympy2_extended raises on any token it cannot place (its grammar
ends in EOF), so `1-\\frac{1}{\\mathrm{e}}` is never read as `1`.

Comparison: structural equality, then numbers evaluated at two precisions (relative error, no chop), variables
probed at the same deterministic points as the fast path, and `simplify(a - b) == 0` only as the last resort.
"""

from __future__ import annotations

import re
from fractions import Fraction

import mpmath
import sympy
from latex2sympy2_extended import latex2sympy
from latex2sympy2_extended.latex2sympy2 import ConversionConfig
from latex2sympy2_extended.math_normalization import NormalizationConfig
from sympy.core.function import AppliedUndef

from rlvr_limits.verify.math import evaluate
from rlvr_limits.verify.math.compare import MIN_SIGFIGS, Refused, Rules

MAX_CHARS = 600
MAX_NESTING = 20
_NORMALIZATION = NormalizationConfig(basic_latex=True, units=False, malformed_operators=True, nits=False,
                                     boxed="none", equations=False)
_CONVERSION = ConversionConfig(interpret_as_mixed_fractions=True, interpret_simple_eq_as_assignment=False,
                               interpret_contains_as_eq=True, lowercase_symbols=False)
_BIG_FACTORIAL = re.compile(r"(?<!\d)\d{4,}+\s*+!")
_LONG_NUMBER = re.compile(r"\d{200,}")
_LARGE_EXPONENT = re.compile(r"\^\{?[^{}^]*\d{3}")
_SCALES = {"": sympy.Integer(1), "\\frac{1}{100}": sympy.Rational(1, 100), "100": sympy.Integer(100),
           "\\frac{180}{\\pi}": 180 / sympy.pi, "\\frac{\\pi}{180}": sympy.pi / 180}
_LOW_DIGITS, _HIGH_DIGITS = 30, 60
_CTX = mpmath.MPContext()
_CTX.prec = 256


def _exponent_depth(text: str) -> int:
    """How deeply superscripts nest (`a^{b^{c}}` is 2)."""
    depth = deepest = 0
    stack: list[bool] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "{":
            is_exponent = i > 0 and text[i - 1] == "^"
            stack.append(is_exponent)
            depth += is_exponent
            deepest = max(deepest, depth)
        elif c == "}" and stack:
            depth -= stack.pop()
        elif c == "^" and i + 1 < len(text) and text[i + 1] != "{":
            deepest = max(deepest, depth + 1)
        i += 1
    return deepest


def guard(text: str) -> None:
    """Refuse what sympy would choke on, before it sees it."""
    if len(text) > MAX_CHARS:
        raise Refused(f"expression too long for the symbolic path ({len(text)} characters)")
    depth = 0
    for c in text:
        depth += c in "({["
        depth -= c in ")}]"
        if depth > MAX_NESTING:
            raise Refused("expression nested too deeply")
    if _exponent_depth(text) >= 3 or (_exponent_depth(text) == 2 and _LARGE_EXPONENT.search(text)):
        raise Refused("exponent tower")
    if _BIG_FACTORIAL.search(text) or _LONG_NUMBER.search(text):
        raise Refused("number too large for the symbolic path")


#: Answer shapes parsed at worker start: latex2sympy's ANTLR parser is slow on the first sentence of each shape
#: it meets, so a worker pays that here, in the background, instead of on a timed check.
_WARM_UP = (
    ("\\frac{x^2-1}{x+1}", "x-1"), ("\\sqrt{2}\\cos(2t-\\pi/4)", "\\cos(2t)+\\sin(2t)"),
    ("I(0)e^{-\\frac{t}{RC}}", "I(0)\\exp(-t/(RC))"), ("\\ln 2+i\\pi/3", "\\log_{10}(x_{1})"),
    ("\\lfloor\\frac{2n}{3}\\rfloor+1", "\\binom{2n}{n}"), ("(0,1]\\cup[2,3)", "\\{1,2\\}"),
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\arcsin(\\theta_{w})"),
    ("m_{p}c^{2}(\\gamma^{2}-1)\\sin^{2}\\theta", "\\hbar\\omega(v+1/2)-\\frac{E_{0}^{2}e^{2}}{2m\\omega^{2}}"),
    ("x^8+x^7+x^6+x^5+x^4+x^3+x^2+x+1", "(n-2)2^{n}+1"), ("-2+2\\sqrt{3}i", "41.9"),
    ("\\frac{d x}{d t}=k x-a", "y^{\\prime}+r y-r x(t)=0"), ("\\sqrt[3]{7}", "2\\sqrt{5}"),
    ("\\frac{\\pi}{2}", "90^{\\circ}"), ("\\text{odd}", "\\lceil n/2\\rceil"),
    ("\\dot{x}_{0}\\sin(\\omega t)", "s^{2}+b s+1"),
)


def warm_up() -> None:
    """Fill the LaTeX grammar's prediction caches and sympy's caches at worker start, not on a timed check."""
    for gold, pred in _WARM_UP:
        symbolic_equal(gold, pred, Rules(), ("",))


def parse(text: str) -> sympy.Basic | None:
    """The sympy object for the whole of `text`, or None when it does not parse."""
    guard(text)
    try:
        return latex2sympy(text, normalization_config=_NORMALIZATION, conversion_config=_CONVERSION)
    except (MemoryError, RecursionError):
        raise
    except Exception:  # latex2sympy raises bare Exceptions for syntax errors
        return None


def _mpc(value: sympy.Basic, digits: int) -> object:
    number = sympy.N(value, digits)
    real, imag = number.as_real_imag()
    if not (real.is_number and imag.is_number):
        raise ValueError("not a number")
    return _CTX.mpc(_CTX.mpf(sympy.Float(real, digits)._mpf_), _CTX.mpf(sympy.Float(imag, digits)._mpf_))


def _values(expr: sympy.Basic, env: dict[sympy.Symbol, sympy.Rational]) -> tuple[object, object]:
    substituted = expr.subs(env) if env else expr
    return _mpc(substituted, _LOW_DIGITS), _mpc(substituted, _HIGH_DIGITS)


def _probe_envs(symbols: set[sympy.Symbol]) -> list[dict[sympy.Symbol, sympy.Rational]]:
    if not symbols:
        return [{}]
    envs = []
    for k in range(evaluate.PROBES):
        env = {}
        for symbol in symbols:
            value = evaluate.probe_value(_name(symbol), k)
            env[symbol] = sympy.Rational(value.numerator, value.denominator)
        envs.append(env)
    return envs


def _name(symbol: sympy.Symbol) -> str:
    return str(symbol).replace("{", "").replace("}", "")


def _numeric_same(gold: sympy.Expr, pred: sympy.Expr) -> bool | None:
    agreed = 0
    envs = _probe_envs(gold.free_symbols | pred.free_symbols)
    for env in envs:
        try:
            g1, g2 = _values(gold, env)
            p1, p2 = _values(pred, env)
        except (ValueError, TypeError, ZeroDivisionError, ArithmeticError):
            continue
        result = evaluate.agree(_CTX, (g1, p1), (g2, p2))
        if result is False:
            return False
        if result:
            agreed += 1
    return True if agreed >= min(2, len(envs)) else None


def _real_constant(expr: sympy.Basic) -> object | None:
    if not isinstance(expr, sympy.Expr) or expr.free_symbols:
        return None
    try:
        value = _mpc(expr, _HIGH_DIGITS)
    except (ValueError, TypeError, ArithmeticError):
        return None
    if _CTX.im(value) and abs(_CTX.im(value)) > abs(value) * _CTX.ldexp(1, -150):
        return None
    return _CTX.re(value)


def _within(expr: sympy.Basic, center: Fraction, half: Fraction) -> bool:
    value = _real_constant(expr)
    if value is None:
        return False
    return bool(abs(value - _CTX.mpf(center.numerator) / center.denominator)
                <= _CTX.mpf(half.numerator) / half.denominator)


def _opaque(expr: sympy.Basic) -> sympy.Basic:
    """Unknown function applications (`u(t)`, `I(0)`) as plain symbols, so that numbers can be probed."""
    calls = expr.atoms(AppliedUndef)
    return expr.xreplace({call: sympy.Symbol(f"{call}") for call in calls}) if calls else expr


def _same(gold: sympy.Basic, pred: sympy.Basic) -> bool:
    if gold == pred:
        return True
    if isinstance(gold, sympy.MatrixBase) or isinstance(pred, sympy.MatrixBase):
        return (isinstance(gold, sympy.MatrixBase) and isinstance(pred, sympy.MatrixBase)
                and gold.shape == pred.shape and all(_same(a, b) for a, b in zip(gold, pred, strict=True)))
    if isinstance(gold, sympy.Set) or isinstance(pred, sympy.Set):
        if not (isinstance(gold, sympy.Set) and isinstance(pred, sympy.Set)):
            return False
        return bool(sympy.Complement(gold, pred) == sympy.EmptySet and sympy.Complement(pred, gold)
                    == sympy.EmptySet)
    if isinstance(gold, sympy.Tuple) or isinstance(pred, sympy.Tuple):
        return (isinstance(gold, sympy.Tuple) and isinstance(pred, sympy.Tuple) and len(gold) == len(pred)
                and all(_same(a, b) for a, b in zip(gold, pred, strict=True)))
    if isinstance(gold, sympy.core.relational.Relational) or isinstance(pred, sympy.core.relational.Relational):
        if type(gold) is not type(pred):
            return False
        if isinstance(gold, sympy.Eq):
            return _ratio(gold.lhs - gold.rhs, pred.lhs - pred.rhs)
        return _same(gold.lhs - gold.rhs, pred.lhs - pred.rhs)
    if not (isinstance(gold, sympy.Expr) and isinstance(pred, sympy.Expr)):
        return False
    gold, pred = _opaque(gold), _opaque(pred)
    numeric = _numeric_same(gold, pred)
    if numeric is not None:
        return numeric
    return sympy.simplify(gold - pred) == 0


def _ratio(gold: sympy.Basic, pred: sympy.Basic) -> bool:
    """Equations given as lhs - rhs: equal when one is a nonzero constant multiple of the other."""
    if not (isinstance(gold, sympy.Expr) and isinstance(pred, sympy.Expr)) or pred == 0 or gold == 0:
        return gold == pred
    symbols = gold.free_symbols | pred.free_symbols
    if not symbols:
        return False
    ratios = []
    for env in _probe_envs(symbols):
        try:
            g, p = _mpc(gold.subs(env), _HIGH_DIGITS), _mpc(pred.subs(env), _HIGH_DIGITS)
        except (ValueError, TypeError, ArithmeticError):
            continue
        if not p or not g:
            if g or p:
                return False
            continue
        ratios.append(g / p)
    if len(ratios) < 2:
        return sympy.simplify(gold / pred).free_symbols == set()
    return all(abs(r - ratios[0]) <= abs(ratios[0]) * _CTX.ldexp(1, -100) for r in ratios)


def symbolic_equal(gold_text: str, pred_text: str, rules: Rules, scales: tuple[str, ...]) -> bool:
    """The sympy comparison of two scalar LaTeX strings (the `Rules.symbolic` of worker processes)."""
    gold = parse(gold_text)
    pred = parse(pred_text)
    if gold is None or pred is None:
        return False
    if scales == ("ratio",):
        return _ratio(gold, pred)
    gold_literal = evaluate.literal(gold_text)
    pred_literal = evaluate.literal(pred_text)
    for scale in scales:
        candidate = pred * _SCALES[scale] if scale else pred
        if rules.tolerance is not None and gold_literal is not None:
            if _within(candidate, gold_literal.value, rules.tolerance):
                return True
            continue
        if rules.approximate and gold_literal is not None and gold_literal.is_decimal:
            if _within(candidate, gold_literal.value, gold_literal.unit / 2):
                return True
            continue
        if not scale and pred_literal is not None and pred_literal.is_decimal:
            if pred_literal.sigfigs >= MIN_SIGFIGS and _within(gold, pred_literal.value, pred_literal.unit / 2):
                return True
            continue
        if _same(gold, candidate):
            return True
    return False
