"""A small recursive-descent parser for the LaTeX notation of competition answers (the fast path's front end).

It reads numbers, `+ - * / ^`, `\\frac`, `\\sqrt`, `\\binom`, `!`, `\\pi`, `e`, `i`, Greek and subscripted
variables, `\\sin`..`\\ln`/`\\log`, `| |`, floor/ceil, implicit multiplication and mixed numbers such as
`2\\frac{1}{2}`, and refuses (`Unsupported`) whatever is ambiguous: `2^10`, `\\sin 2x`, `a/bc`, two
numbers separated by a space. A letter applied to one token (`f(x)`, `I(0)`) is an unknown function.
Refused expressions go to the sympy path. Trees are plain tuples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache


class Unsupported(Exception):
    """The expression is outside the fast parser's notation (the sympy path may still read it)."""


MAX_NESTING = 40
MAX_LENGTH = 2000

_TOKEN = re.compile(r"(\d+(?:\.\d*)?|\.\d+)|(\\[a-zA-Z]+|\\.)|([a-zA-Z])|(\s+)|(.)", re.S)
_LITERAL = re.compile(
    r"([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+)|(?:\\times|\\cdot|\*)10\^(?:\{([+-]?\d+)\}|(\d)))?")
GREEK = frozenset((
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu",
    "xi", "omicron", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega", "Gamma", "Delta", "Theta",
    "Lambda", "Xi", "Upsilon", "Phi", "Psi", "Omega"))
FUNCTIONS = frozenset(("sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh",
                       "tanh", "ln", "log", "exp"))
_MULTIPLY = frozenset({"*", "\\cdot", "\\times"})
_DIVIDE = frozenset({"/", "\\div"})

Node = tuple


@dataclass(frozen=True)
class Literal:
    """A number as printed: its exact value, the size of one unit in its last printed digit, and its significant
    figures (an integer's trailing zeros are not counted: `100` has one, as `1\times10^{2}` does; `1.00` has three)."""

    value: Fraction
    unit: Fraction
    sigfigs: int
    is_decimal: bool  # printed with a decimal point or an exponent (so it may be a rounded value)


@lru_cache(maxsize=1 << 14)
def literal(text: str) -> Literal | None:
    """`-1.50`, `4.5e33`, `6.02\\times10^{23}`, `300` → Literal; anything else → None."""
    match = _LITERAL.fullmatch(text)
    if match is None:
        return None
    sign, digits, exp_e, exp_braced, exp_digit = match.groups()
    exponent_text = exp_e or exp_braced or exp_digit
    exponent = int(exponent_text) if exponent_text is not None else 0
    if abs(exponent) > 10000 or len(digits) > 10000:
        return None
    whole, _, decimals = digits.partition(".")
    mantissa = int((whole + decimals) or "0")
    places = len(decimals)
    is_decimal = "." in digits or exponent_text is not None
    significant = (whole + decimals).lstrip("0")
    if not is_decimal:
        significant = significant.rstrip("0")
    scale = Fraction(10) ** (exponent - places)
    value = mantissa * scale * (-1 if sign == "-" else 1)
    return Literal(value, scale, max(len(significant), 1), is_decimal)


# ---------------------------------------------------------------------------------------------- parsing


class Parser:
    """Recursive descent over tokens; depth is bounded by MAX_NESTING before parsing starts."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        previous_number = False  # a number that is not a sub/superscript (`\log_2 8` is fine, `2 3` is not)
        space_after_number = False
        for match in _TOKEN.finditer(text):
            kind = match.lastindex
            value = match.group(kind)
            if kind == 4:
                space_after_number = previous_number
                continue
            if kind == 1 and space_after_number:
                raise Unsupported("two numbers separated by a space")
            previous_number = kind == 1 and not (self.tokens and self.tokens[-1][1] in ("_", "^"))
            space_after_number = False
            self.tokens.append((("", "num", "cmd", "letter", "", "char")[kind], value))
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        if self.take()[1] != value:
            raise Unsupported(f"expected {value}")

    def parse(self) -> Node:
        node = self.expr()
        if self.pos != len(self.tokens):
            raise Unsupported(f"unexpected {self.peek()[1]!r}")
        return node

    def expr(self) -> Node:
        terms = [self.term()]
        while self.peek()[1] in ("+", "-"):
            sign = self.take()[1]
            term = self.term()
            terms.append(("neg", term) if sign == "-" else term)
        return terms[0] if len(terms) == 1 else ("+", tuple(terms))

    def term(self) -> Node:
        node = self.unary()
        divided = False
        while True:
            kind, value = self.peek()
            if value in _MULTIPLY:
                self.take()
                node = ("*", (node, self.unary()))
            elif value in _DIVIDE:
                self.take()
                node = ("/", node, self.unary())
                divided = True
            elif self.starts_atom():
                if divided:
                    raise Unsupported("implicit product after a slash")
                if kind == "num" and self.tokens[self.pos - 1][1] != ")":  # (n-2) 2^n is fine, x2 is not
                    raise Unsupported("number after a factor")
                node = ("*", (node, self.power()))
            else:
                return node

    def starts_atom(self) -> bool:
        kind, value = self.peek()
        if kind in ("num", "letter"):
            return True
        if kind == "cmd":
            name = value[1:]
            return name in ("frac", "sqrt", "binom", "pi", "infty", "lfloor", "lceil") or name in GREEK or (
                name in FUNCTIONS)
        return value in ("(", "{", "[")

    def unary(self) -> Node:
        value = self.peek()[1]
        if value == "-":
            self.take()
            return ("neg", self.unary())
        if value == "+":
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.peek()[1] == "^":
            self.take()
            exponent = self.exponent()
            if self.peek()[1] == "^":
                raise Unsupported("double superscript")
            return ("^", base, exponent)
        return base

    def exponent(self) -> Node:
        kind, value = self.peek()
        if value == "{":
            return self.group("{", "}")
        if value == "(":
            return self.group("(", ")")
        if value == "-":
            self.take()
            return ("neg", self.exponent())
        if kind == "num":
            if len(value) > 1:
                raise Unsupported("unbraced multi-digit exponent")
            self.take()
            return ("n", Fraction(value))
        if kind == "letter" or (kind == "cmd" and (value[1:] in GREEK or value == "\\pi")):
            return self.atom()
        raise Unsupported("exponent")

    def postfix(self) -> Node:
        node = self.atom()
        while self.peek()[1] == "!":
            self.take()
            if self.peek()[1] == "!":
                raise Unsupported("double factorial")
            node = ("!", node)
        return node

    def group(self, opening: str, closing: str) -> Node:
        self.expect(opening)
        node = self.expr()
        if opening == "{" and self.peek()[1] == "\\choose":  # {n \choose k}
            self.take()
            node = ("binom", node, self.expr())
        self.expect(closing)
        return node

    def argument(self) -> Node:
        """A macro argument: `{...}` or one token (`\\frac12` is 1/2, `\\sqrt3` is sqrt(3))."""
        kind, value = self.peek()
        if value == "{":
            return self.group("{", "}")
        if kind == "num":
            self.take()
            if len(value) > 1:  # \frac12: the first digit is the argument, the rest is the next token
                self.pos -= 1
                self.tokens[self.pos] = ("num", value[1:])
                value = value[0]
            if not value.isdigit():
                raise Unsupported("argument")
            return ("n", Fraction(value))
        if kind == "letter" or (kind == "cmd" and (value[1:] in GREEK or value == "\\pi")):
            self.take()
            return self.symbol(kind, value)
        raise Unsupported("argument")

    def symbol(self, kind: str, value: str) -> Node:
        name = value
        if kind == "letter" and value in ("e", "i") and self.peek()[1] != "_":
            return ("c", value)
        if kind == "cmd" and value == "\\pi":
            return ("c", "pi")
        if self.peek()[1] == "_":
            self.take()
            sub_kind, sub = self.take()
            if sub == "{":
                depth, parts = 1, []
                while depth:
                    token_kind, token = self.take()
                    if token_kind == "end":
                        raise Unsupported("subscript")
                    depth += {"{": 1, "}": -1}.get(token, 0)
                    if depth:
                        parts.append(token)
                sub = "".join(parts)
            elif sub_kind not in ("num", "letter"):
                raise Unsupported("subscript")
            else:
                if sub_kind == "num" and len(sub) > 1:
                    self.pos -= 1
                    self.tokens[self.pos] = ("num", sub[1:])
                    sub = sub[0]
            name = f"{value}_{sub}"
        if kind == "letter" and self.peek()[1] == "(" and self.pos + 2 < len(self.tokens) and (
                self.tokens[self.pos + 2][1] == ")" and self.tokens[self.pos + 1][0] in ("num", "letter", "cmd")):
            self.take()  # f(x), I(0), u(t): a function we know nothing about (x(x+1) stays a product)
            argument = self.atom()
            self.expect(")")
            return ("call", name, argument)
        return ("s", name)

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            number = ("n", Fraction(value))
            following = self.peek()
            if following[1] == "\\frac" and "." not in value:  # mixed number 2\frac{1}{2}
                start = self.pos
                self.take()
                numerator, denominator = self.argument(), self.argument()
                if numerator[0] == "n" and denominator[0] == "n":
                    return ("+", (number, ("/", numerator, denominator)))
                self.pos = start
            if following[1] == "_":
                raise Unsupported("number with a base subscript")
            return number
        if kind == "letter":
            return self.symbol(kind, value)
        if kind == "char":
            if value in ("(", "[", "{"):
                self.pos -= 1
                return self.group(value, {"(": ")", "[": "]", "{": "}"}[value])
            if value == "|":
                node = self.expr()
                self.expect("|")
                return ("abs", node)
            raise Unsupported(f"character {value!r}")
        if kind != "cmd":
            raise Unsupported("end of expression")
        name = value[1:]
        if name == "frac":
            return ("/", self.argument(), self.argument())
        if name == "binom":
            return ("binom", self.argument(), self.argument())
        if name == "sqrt":
            index: Node = ("n", Fraction(2))
            if self.peek()[1] == "[":
                index = self.group("[", "]")
            return ("root", self.argument(), index)
        if name == "pi":
            return ("c", "pi")
        if name == "infty":
            return ("c", "inf")
        if name in GREEK:
            return self.symbol(kind, value)
        if name in ("lfloor", "lceil"):
            node = self.expr()
            self.expect("\\rfloor" if name == "lfloor" else "\\rceil")
            return ("floor" if name == "lfloor" else "ceil", node)
        if name in FUNCTIONS:
            return self.function(name)
        raise Unsupported(f"command {value}")

    def function(self, name: str) -> Node:
        power: Node | None = None
        base: Node | None = None
        if name == "log" and self.peek()[1] == "_":
            self.take()
            base = self.argument()
        if self.peek()[1] == "^":
            self.take()
            power = self.exponent()
            if power == ("neg", ("n", Fraction(1))):
                raise Unsupported("inverse-function notation")
        kind, value = self.peek()
        if value in ("(", "{"):
            argument = self.group(value, ")" if value == "(" else "}")
        elif kind in ("num", "letter", "cmd"):
            argument = self.postfix()
            if self.starts_atom():
                raise Unsupported("ambiguous function argument")
        else:
            raise Unsupported("function argument")
        node: Node = ("f", name, argument) if base is None else ("logb", argument, base)
        return node if power is None else ("^", node, power)


def nesting(text: str) -> int:
    """Deepest bracket nesting of the text."""
    depth = deepest = 0
    for c in text:
        if c in "({[":
            depth += 1
            deepest = max(deepest, depth)
        elif c in ")}]":
            depth -= 1
    return deepest
