"""Values of the expressions read by latex.py, for the fast path, with size guards.

Values are exact `Fraction`s when the expression is rational (so `1/2004! != 1/2006!` exactly), otherwise
mpmath numbers evaluated twice (at 100 and 200 bits): two expressions are equal when their difference is below
the noise that the second evaluation reveals, which is relative error without `chop`. Expressions with variables
are compared at deterministic probe points. Every operation is bounded (exponent and factorial sizes, nesting),
so evaluation runs in the caller's thread and never needs a timeout. Contexts and caches are thread-local.
"""

from __future__ import annotations

import math
import threading
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

import mpmath

from rlvr_limits.verify.math.latex import MAX_LENGTH, MAX_NESTING, Literal, Node, Parser, Unsupported, literal, nesting


class TooLarge(Exception):
    """A number in the expression is too large to compute (exponent tower, huge factorial ...)."""


class Undefined(Exception):
    """The expression has no value (division by zero ...)."""


MAX_BITS = 1 << 20          # largest exact integer we build (about 315 000 digits)
MAX_EXPONENT_BITS = 1 << 24  # |log2 x| of an approximate value
MAX_FACTORIAL = 5000
LOW_BITS, HIGH_BITS = 100, 200
#: Probe points: ranges a variable's value is drawn from (wide, so floor/ceil and powers are told apart).
_PROBE_RANGES = ((Fraction(11, 10), Fraction(29, 10)), (Fraction(31, 10), Fraction(69, 10)),
                 (Fraction(73, 10), Fraction(197, 10)), (Fraction(13, 100), Fraction(97, 100)),
                 (Fraction(231, 10), Fraction(579, 10)))
PROBES = len(_PROBE_RANGES)


# ---------------------------------------------------------------------------------------------- values


def _symbols(node: Node, out: set[str]) -> None:
    tag = node[0]
    if tag == "s":
        out.add(node[1])
    elif tag in ("+", "*"):
        for child in node[1]:
            _symbols(child, out)
    elif tag in ("f", "call"):
        _symbols(node[2], out)
    elif tag not in ("n", "c"):
        for child in node[1:]:
            _symbols(child, out)


def _renamed_node(node: Node, mapping: dict[str, str]) -> Node:
    tag = node[0]
    if tag == "s":
        return ("s", mapping.get(node[1], node[1]))
    if tag in ("+", "*"):
        return (tag, tuple(_renamed_node(child, mapping) for child in node[1]), *node[2:])
    if tag in ("f", "call"):
        return (tag, node[1], _renamed_node(node[2], mapping), *node[3:])
    if tag in ("n", "c"):
        return node
    return (tag, *(_renamed_node(child, mapping) for child in node[1:]))


def renamed(expr: Expr, mapping: dict[str, str]) -> Expr:
    """`expr` with some of its variables renamed (its values are cached under a text of its own)."""
    label = ",".join(f"{a}->{b}" for a, b in sorted(mapping.items()))
    return Expr(f"{expr.text}\x00{label}", _renamed_node(expr.node, mapping),
                frozenset(mapping.get(name, name) for name in expr.symbols), expr.exact, expr.literal)


def _exact(node: Node) -> Fraction:
    """The exact rational value, or Unsupported when the value is not (provably) rational."""
    tag = node[0]
    if tag == "n":
        return node[1]
    if tag == "+":
        return sum((_exact(child) for child in node[1]), Fraction(0))
    if tag == "*":
        product = Fraction(1)
        for child in node[1]:
            product *= _exact(child)
        return product
    if tag == "neg":
        return -_exact(node[1])
    if tag == "/":
        numerator, denominator = _exact(node[1]), _exact(node[2])
        if denominator == 0:
            raise Undefined("division by zero")
        return numerator / denominator
    if tag == "^":
        return _exact_power(_exact(node[1]), _exact(node[2]))
    if tag == "root":
        index = _exact(node[2])
        if index.denominator != 1 or not 1 <= index <= 64:
            raise Unsupported("root index")
        return _exact_power(_exact(node[1]), Fraction(1, int(index)))
    if tag == "!":
        value = _exact(node[1])
        if value.denominator != 1 or value < 0:
            raise Unsupported("factorial of a non-integer")
        if value > MAX_FACTORIAL:
            raise TooLarge(f"factorial of {value}")
        return Fraction(math.factorial(int(value)))
    if tag == "binom":
        top, bottom = _exact(node[1]), _exact(node[2])
        if top.denominator != 1 or bottom.denominator != 1 or top < 0:
            raise Unsupported("binomial of non-integers")
        if top > 100 * MAX_FACTORIAL:
            raise TooLarge(f"binomial of {top}")
        return Fraction(math.comb(int(top), int(bottom))) if bottom >= 0 else Fraction(0)
    if tag == "abs":
        return abs(_exact(node[1]))
    if tag == "floor":
        return Fraction(math.floor(_exact(node[1])))
    if tag == "ceil":
        return Fraction(math.ceil(_exact(node[1])))
    raise Unsupported("not rational")


def _root(value: int, n: int) -> int | None:
    """The exact integer n-th root of value >= 0, or None."""
    if value < 2:
        return value
    if n == 2:
        guess = math.isqrt(value)
    elif value.bit_length() < 100:
        guess = round(value ** (1.0 / n))
    else:
        return None
    for candidate in (guess - 1, guess, guess + 1):
        if candidate >= 0 and candidate ** n == value:
            return candidate
    return None


def _exact_power(base: Fraction, exponent: Fraction) -> Fraction:
    if base in (0, 1):
        if base == 0 and exponent <= 0:
            raise Undefined("zero to a non-positive power")
        return base
    if base == -1 and exponent.denominator == 1:
        return Fraction(-1) if exponent.numerator % 2 else Fraction(1)
    bits = max(base.numerator.bit_length(), base.denominator.bit_length())
    if abs(exponent) * bits > MAX_BITS:
        raise TooLarge("power too large")
    if exponent.denominator == 1:
        return base ** int(exponent)
    q = exponent.denominator
    if base < 0 or q > 64:
        raise Unsupported("irrational power")
    numerator, denominator = _root(base.numerator, q), _root(base.denominator, q)
    if numerator is None or denominator is None:
        raise Unsupported("irrational power")
    return Fraction(numerator, denominator) ** exponent.numerator


class _Contexts(threading.local):
    def __init__(self) -> None:
        self.by_bits: dict[int, mpmath.ctx_mp.MPContext] = {}
        self.cache: dict[tuple[str, int, int], object] = {}

    def get(self, bits: int) -> mpmath.ctx_mp.MPContext:
        ctx = self.by_bits.get(bits)
        if ctx is None:
            ctx = mpmath.MPContext()
            ctx.prec = bits
            self.by_bits[bits] = ctx
        return ctx


_LOCAL = _Contexts()


def _check_magnitude(ctx: mpmath.ctx_mp.MPContext, value: object) -> object:
    if value and ctx.isfinite(value) and abs(ctx.mag(value)) > MAX_EXPONENT_BITS:
        raise TooLarge("value out of range")
    return value


def _approx(node: Node, ctx: mpmath.ctx_mp.MPContext, env: dict[str, object]) -> object:
    tag = node[0]
    if tag == "n":
        return _mpf(ctx, node[1])
    if tag == "s":
        return env[node[1]]
    if tag == "c":
        return {"pi": ctx.pi, "e": ctx.e, "i": ctx.j, "inf": ctx.inf}[node[1]]
    if tag == "+":
        return ctx.fsum(_approx(child, ctx, env) for child in node[1])
    if tag == "*":
        product = ctx.mpf(1)
        for child in node[1]:
            product = _check_magnitude(ctx, product * _approx(child, ctx, env))
        return product
    if tag == "neg":
        return -_approx(node[1], ctx, env)
    if tag == "/":
        denominator = _approx(node[2], ctx, env)
        if not denominator:
            raise Undefined("division by zero")
        return _check_magnitude(ctx, _approx(node[1], ctx, env) / denominator)
    if tag in ("^", "root"):
        base = _approx(node[1], ctx, env)
        index = None
        if tag == "root":
            index = _approx(node[2], ctx, env)
            if not index:
                raise Undefined("zeroth root")
            exponent = 1 / index
        else:
            exponent = _approx(node[2], ctx, env)
        if not base:
            if ctx.re(exponent) <= 0:
                raise Undefined("zero to a non-positive power")
            return ctx.mpf(0)
        if ctx.isfinite(base) and ctx.isfinite(exponent):
            size = abs(exponent) * max(abs(ctx.log(abs(base), 2)), 1)
            if size > MAX_EXPONENT_BITS:
                raise TooLarge("power too large")
        if index is not None and ctx.im(base) == 0 and base < 0 and _odd_integer(ctx, index):
            return -ctx.power(-base, exponent)  # real odd root of a negative number
        return ctx.power(base, exponent)
    if tag == "!":
        value = _approx(node[1], ctx, env)
        if abs(value) > 10 * MAX_FACTORIAL:
            raise TooLarge("factorial too large")
        return ctx.factorial(value)
    if tag == "binom":
        top, bottom = _approx(node[1], ctx, env), _approx(node[2], ctx, env)
        if abs(top) > 100 * MAX_FACTORIAL:
            raise TooLarge("binomial too large")
        return ctx.binomial(top, bottom)
    if tag == "abs":
        return abs(_approx(node[1], ctx, env))
    if tag in ("floor", "ceil"):
        value = _approx(node[1], ctx, env)
        if ctx.im(value):
            raise Undefined("floor of a complex number")
        return ctx.floor(value) if tag == "floor" else ctx.ceil(value)
    if tag == "logb":
        argument, base = _approx(node[1], ctx, env), _approx(node[2], ctx, env)
        if not argument or not base:
            raise Undefined("logarithm of zero")
        return ctx.log(argument) / ctx.log(base)
    if tag == "f":
        return _function(ctx, node[1], _approx(node[2], ctx, env))
    if tag == "call":
        return _unknown_function(ctx, node[1], _approx(node[2], ctx, env))
    raise Unsupported(f"node {tag}")


def _mpf(ctx: mpmath.ctx_mp.MPContext, value: Fraction) -> object:
    return ctx.mpf(value.numerator) / value.denominator


def _unknown_function(ctx: mpmath.ctx_mp.MPContext, name: str, x: object) -> object:
    """A fixed, arbitrary smooth function per name: `u(t)` equals `u(t)`, and almost surely nothing else."""
    a, b, c = (_mpf(ctx, probe_value(f"{name}()", k)) for k in range(3))
    return ctx.sin(a * x + b) + c


def _odd_integer(ctx: mpmath.ctx_mp.MPContext, value: object) -> bool:
    return ctx.im(value) == 0 and ctx.isint(value) and int(value) % 2 == 1


def _function(ctx: mpmath.ctx_mp.MPContext, name: str, x: object) -> object:
    if name in ("ln", "log"):
        if not x:
            raise Undefined("logarithm of zero")
        return ctx.log(x) if name == "ln" else ctx.log(x, 10)
    if name == "exp":
        if ctx.re(x) > MAX_EXPONENT_BITS:
            raise TooLarge("exponential too large")
        return ctx.exp(x)
    if name in ("cot", "sec", "csc"):
        inner = {"cot": ctx.tan, "sec": ctx.cos, "csc": ctx.sin}[name](x)
        if not inner:
            raise Undefined(f"{name} pole")
        return 1 / inner
    if name in ("sinh", "cosh", "tanh") and abs(ctx.re(x)) > MAX_EXPONENT_BITS:
        raise TooLarge("hyperbolic function too large")
    return getattr(ctx, {"arcsin": "asin", "arccos": "acos", "arctan": "atan"}.get(name, name))(x)


def probe_value(name: str, k: int) -> Fraction:
    """The deterministic value of variable `name` at probe point k: a rational drawn from the k-th range."""
    low, high = _PROBE_RANGES[k]
    seed = zlib.crc32(f"{name}:{k}".encode())
    return low + Fraction(seed % 1000003, 1000003) * (high - low)


# ---------------------------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Expr:
    """A parsed scalar expression: its tree, free variables and, when rational, its exact value."""

    text: str
    node: Node
    symbols: frozenset[str]
    exact: Fraction | None
    literal: Literal | None = field(default=None)

    @property
    def is_constant(self) -> bool:
        return not self.symbols

    def value(self, bits: int, k: int, names: tuple[str, ...]) -> object:
        """The approximate value at probe point k (names: every variable of the comparison)."""
        key = (self.text, bits, k if self.symbols else -1)
        cache = _LOCAL.cache
        found = cache.get(key)
        if found is None:
            if len(cache) > 100_000:
                cache.clear()
            ctx = _LOCAL.get(bits)
            env = {name: _mpf(ctx, probe_value(name, k))
                   for name in names}
            try:
                found = ("ok", _approx(self.node, ctx, env))
            except (Undefined, TooLarge, ZeroDivisionError, ValueError, OverflowError) as exc:
                found = ("undefined", str(exc))
            cache[key] = found
        if found[0] != "ok":
            raise Undefined(found[1])
        return found[1]


@lru_cache(maxsize=1 << 15)
def _parse_cached(text: str) -> Expr | str:
    """The Expr for `text`, or the reason it is refused ("unsupported: ..." / "too large: ...")."""
    try:
        lit = literal(text)
        if lit is not None:
            return Expr(text, ("n", lit.value), frozenset(), lit.value, lit)
        if len(text) > MAX_LENGTH or nesting(text) > MAX_NESTING:
            return "unsupported: too long or too deeply nested"
        node = Parser(text).parse()
        names: set[str] = set()
        _symbols(node, names)
        exact = None
        if not names:
            try:
                exact = _exact(node)
            except Unsupported:
                exact = None
        return Expr(text, node, frozenset(names), exact)
    except Unsupported as exc:
        return f"unsupported: {exc}"
    except TooLarge as exc:
        return f"too large: {exc}"
    except Undefined as exc:
        return f"undefined: {exc}"
    except RecursionError:
        return "unsupported: too deeply nested"


def parse(text: str) -> Expr | str:
    """Parse an atom's text; a str result is the reason it cannot be evaluated here."""
    return _parse_cached(text)


def _difference(ctx: mpmath.ctx_mp.MPContext, a: object, b: object) -> object:
    if ctx.isinf(a) or ctx.isinf(b):
        return ctx.zero if a == b else ctx.inf
    return abs(a - b)


def approx_equal(gold: Expr, pred: Expr) -> bool | None:
    """Numeric equality of gold and pred at every probe point; None when it cannot be decided."""
    names = tuple(sorted(gold.symbols | pred.symbols))
    points = range(PROBES) if names else range(1)
    agreed = 0
    high = _LOCAL.get(HIGH_BITS)
    for k in points:
        try:
            g1, p1 = gold.value(LOW_BITS, k, names), pred.value(LOW_BITS, k, names)
            g2, p2 = gold.value(HIGH_BITS, k, names), pred.value(HIGH_BITS, k, names)
        except Undefined:
            continue
        result = agree(high, (g1, p1), (g2, p2))
        if result is None:
            if high.isnan(g2) or high.isnan(p2):
                continue
            return None
        if not result:
            return False
        agreed += 1
    if agreed >= min(2, len(points)):
        return True
    return None


def real_value(expr: Expr, bits: int = HIGH_BITS) -> object | None:
    """The value of a constant expression as a real mpf (None if it is complex or undefined)."""
    try:
        value = expr.value(bits, 0, ())
    except Undefined:
        return None
    ctx = _LOCAL.get(bits)
    if ctx.im(value) and abs(ctx.im(value)) > abs(value) * ctx.ldexp(1, 20 - bits):
        return None
    return ctx.re(value)


def within(expr: Expr, center: Fraction, half_width: Fraction) -> bool | None:
    """|expr - center| <= half_width, decided exactly when possible (None: expr has no real value)."""
    if expr.exact is not None:
        return abs(expr.exact - center) <= half_width
    value = real_value(expr)
    if value is None or not _LOCAL.get(HIGH_BITS).isfinite(value):
        return None
    ctx = _LOCAL.get(HIGH_BITS)
    distance = abs(value - _mpf(ctx, center))
    return bool(distance <= _mpf(ctx, half_width))


def agree(ctx: mpmath.ctx_mp.MPContext, low: tuple[object, object], high: tuple[object, object]) -> bool | None:
    """Whether two values are equal, given each evaluated at a low and a high precision (g, p)."""
    (g1, p1), (g2, p2) = low, high
    if ctx.isnan(g2) or ctx.isnan(p2):
        return None
    diff = _difference(ctx, g2, p2)
    if ctx.isinf(diff):
        return False
    noise = _difference(ctx, g1, g2) + _difference(ctx, p1, p2)
    magnitude = max(abs(g2), abs(p2))
    if ctx.isinf(magnitude) or diff <= noise * ctx.ldexp(1, -80) + magnitude * ctx.ldexp(1, -180):
        return True
    if noise > magnitude * ctx.ldexp(1, -30):
        return None  # too ill-conditioned to tell
    return False


def proportional(gold: Expr, pred: Expr) -> bool | None:
    """Whether gold = c * pred for one nonzero constant c at every probe point (equations as lhs - rhs)."""
    names = tuple(sorted(gold.symbols | pred.symbols))
    if not names:
        return None
    ctx = _LOCAL.get(HIGH_BITS)
    ratio = None
    agreed = 0
    for k in range(PROBES):
        try:
            g, p = gold.value(HIGH_BITS, k, names), pred.value(HIGH_BITS, k, names)
        except Undefined:
            continue
        if not (ctx.isfinite(g) and ctx.isfinite(p)):
            continue
        if not g or not p:
            if g or p:
                return False
            continue
        r = g / p
        if ratio is None:
            ratio = r
        elif abs(r - ratio) > abs(ratio) * ctx.ldexp(1, -100):
            return False
        agreed += 1
    return True if agreed >= 2 else None
