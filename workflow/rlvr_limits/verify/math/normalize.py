"""String normalization of LaTeX answers, before any parsing.

`clean` maps the many spellings of one answer to one string (`\\dfrac`→`\\frac`, `\\left(`→`(`, thin spaces,
`\\mathrm{e}`→`e`, text commands→`\\text{}`, `\\leq`→`\\le`, `^{\\circ}`→`^\\circ`, `\\$` dropped, spaces
removed except where they separate a command from a letter or two digits). The cleaned string is the cache key
of a prediction, so everything here is cheap, linear and pure (thread-safe).

The atom-level helpers split off what is a unit rather than mathematics: a trailing `%`, a degree sign, and
units (any trailing `\\text{}`; a bare unit word only after a plain number).
"""

from __future__ import annotations

import re
from functools import lru_cache

_UNICODE = str.maketrans({
    "\u2212": "-", "\u2013": "-", "\u2014": "-", "\u00d7": "\\times ", "\u22c5": "\\cdot ",
    "\u00b7": "\\cdot ", "\u00f7": "\\div ", "\u03c0": "\\pi ", "\u221a": "\\sqrt", "\u00b0": "^\\circ ",
    "\u221e": "\\infty ", "\u2264": "\\le ", "\u2265": "\\ge ", "\u2260": "\\ne ", "\u00a0": " ",
    "\u2009": " ", "\u202f": " ", "\u3000": " ", "\uff1a": ":", "\uff0c": ",", "\u2032": "'",
})

_DELIMITERS = re.compile(r"\\\$|\$|\\\(|\\\)|(?<!\\)\\\[|(?<!\\)\\\]|"
                         r"\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits)(?![a-zA-Z])")
_THOUSANDS_MARK = re.compile(r"(?<=\d)(?:,\\!\s*|\\,|\{,\}|\\!)(?=\d{3}(?!\d))")
_SPACING = re.compile(r"(?<!\\)\\[!,;:> ]|~|\\q?quad(?![a-zA-Z])|\\(?:hspace|hskip|vspace)\*?\{[^{}]*\}")
_SIZING = re.compile(r"\\(?:left|right)\.|\\(?:left|right|[bB]igg?[lr]?|middle)(?![a-zA-Z])")
_MATRIX_ENV = re.compile(r"\\(begin|end)\{(?:bmatrix|Bmatrix|matrix|smallmatrix|array)\}(?:\{[lcr|]*\})?")
_TEXT_COMMANDS = re.compile(
    r"\\(text|textbf|textit|textrm|textsf|texttt|textup|textnormal|mbox|hbox|mathrm|mathbf|mathit|mathsf|"
    r"mathtt|mathnormal|boldsymbol|bm|operatorname|vec|overline|overrightarrow)\s*\{")
_TEXT_LIKE = frozenset({"text", "textbf", "textit", "textrm", "textsf", "texttt", "textup", "textnormal",
                        "mbox", "hbox"})
_UNWRAP = frozenset({"vec", "overline", "overrightarrow", "boldsymbol", "bm"})
_SINGLE_SYMBOL = re.compile(r"(?<!\s)\s*+(?:[a-zA-Z]|\\[a-zA-Z]++|(?<!\d)\d++(?:\.\d++)?+)\s*+")
_ALIASES = {
    "leq": "\\le", "leqslant": "\\le", "leqq": "\\le", "geq": "\\ge", "geqslant": "\\ge", "geqq": "\\ge",
    "neq": "\\ne", "lt": "<", "gt": ">", "infinity": "\\infty", "inf": "\\infty", "cdotp": "\\cdot",
    "ast": "*", "lbrace": "\\{", "rbrace": "\\}", "lbrack": "[", "rbrack": "]", "varnothing": "\\emptyset",
    "dfrac": "\\frac", "tfrac": "\\frac", "cfrac": "\\frac", "dbinom": "\\binom", "tbinom": "\\binom",
    "degree": "^\\circ", "lvert": "|", "rvert": "|", "vert": "|", "land": "\\wedge", "to": "\\rightarrow",
    "varepsilon": "\\epsilon", "varphi": "\\phi", "vartheta": "\\theta", "dots": "\\ldots",
    "cdots": "\\ldots",
}
_ALIAS = re.compile(r"\\(" + "|".join(sorted(_ALIASES, key=len, reverse=True)) + r")(?![a-zA-Z])")
_DEGREE_FORMS = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|(?<!\^)\\circ")
_AND_OR_TEXT = re.compile(r"\\text\{(?:and|or|,)\}")
_AND_OR_WORD = re.compile(r"(?<=[\w})\]])\s+(?:and|or)\s+(?=[\w\\({\[+-])")
_COMMAND_SPACE = re.compile(r"(\\[a-zA-Z]+)\s+(?=[a-zA-Z])")
_DIGIT_SPACE = re.compile(r"(?<=\d)\s+(?=\d)")
_WHITESPACE = re.compile(r"\s+")
_BRACE_TOKENS = re.compile(r"\\.|[{}]", re.S)
_UNBOX_OPENINGS = ("\\boxed{", "\\fbox{", "{")

#: Unit words of one or two letters are taken as units only from this list (else `5x` would lose its `x`).
_SHORT_UNITS = frozenset({"m", "cm", "mm", "km", "ft", "in", "yd", "mi", "g", "kg", "mg", "lb", "oz", "s",
                          "ms", "h", "hr", "l", "ml", "mL", "L", "cc", "J", "W", "V", "A", "N", "Pa", "K",
                          "eV", "Hz", "au", "pc", "ly", "yr"})
_TRAILING_TEXT = re.compile(r"\\text\{[^{}]*\}(?:\^\{?-?\d\}?)?$")
#: a number and the unit words after it; every repetition is possessive and a number starts only where no digit,
#: comma or point precedes it, so a failed match costs time linear in the text (prose inside a box included)
_NUMBER_WITH_UNITS = re.compile(
    r"\{?+([+-]?+(?<![\d,.])(?:\d{1,3}(?:,\d{3})++(?:\.\d*+)?+|\d++(?:\.\d*+)?+|\.\d++)(?:e[+-]?+\d++)?+)\}?+"
    r"((?:[a-zA-Z]++(?:\^\{?+-?+\d\}?+)?+|/|\\cdot|\\mu ?+|\.)++)")
_WORD = re.compile(r"[a-zA-Z]+")
#: a unit word after an expression that is not a plain number (`144\\pi\\;cm^{2}`, `\\frac{1}{2}cm`): cleaned
#: answers keep a space only after a command, and a word right after a closing brace is not a product's factor
_UNIT_AFTER_EXPRESSION = re.compile(r"(?: |(?<=\}))([a-zA-Z]{2,}+)(?:\^\{?+-?+\d\}?+)?+$")
#: `C_{50}^{3}` and `C^{3}_{50}` (the combinations notation of many textbooks) → `\binom{50}{3}`
_C_SUB_SUP = re.compile(r"(?<![A-Za-z\\])C_(\{[^{}]*+\}|\w)\^(\{[^{}]*+\}|\w)")
_C_SUP_SUB = re.compile(r"(?<![A-Za-z\\])C\^(\{[^{}]*+\}|\w)_(\{[^{}]*+\}|\w)")
#: the value of a quantity at time zero written as an application, `V(0)` or `\theta(0)`, → `V_{0}`
_AT_ZERO = re.compile(r"(?<![A-Za-z\\])([A-Za-z]|\\(?:alpha|beta|gamma|delta|epsilon|theta|lambda|mu|nu|rho|"
                      r"sigma|tau|phi|chi|psi|omega|Phi|Psi|Omega|Theta|Lambda))\(0\)")
_ANGSTROM = re.compile(r"\\AA(?![a-zA-Z])|\\mathring\{A\}|\\angstrom(?![a-zA-Z])")
_TRAILING_PER = re.compile(r"(?:/|\\cdot|\\text\{per\})$")
_DEGREE_WORDS = re.compile(r"(?:\\text\{(?:degrees?|deg)\}|degrees?)$")
_PERCENT_WORDS = re.compile(r"(?:%|\\text\{percent\}|percent)$")
_TEXT_CONTENT = re.compile(r"\\text\{([^{}]*)\}")
_NON_WORD = re.compile(r"[^0-9a-z]")


def match_brace(s: str, open_at: int) -> int:
    """Index of the `}` closing the `{` at `open_at` (escaped braces are content), or -1."""
    depth = 0
    for token in _BRACE_TOKENS.finditer(s, open_at):
        brace = token.group()
        if brace == "{":
            depth += 1
        elif brace == "}":
            depth -= 1
            if depth == 0:
                return token.start()
    return -1


def _closing_braces(s: str) -> dict[int, int]:
    """Position of each `{` → position of its `}`, in one pass."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for token in _BRACE_TOKENS.finditer(s):
        if token.group() == "{":
            stack.append(token.start())
        elif token.group() == "}" and stack:
            pairs[stack.pop()] = token.start()
    return pairs


def _unbox(s: str) -> str:
    """Drop boxes and groups of braces around the whole answer (`\\boxed{5}`, `{{5}}`), in linear time."""
    if not s.startswith(_UNBOX_OPENINGS):
        return s
    pairs = _closing_braces(s)
    start, end = 0, len(s)
    while True:
        for opening in _UNBOX_OPENINGS:
            if s.startswith(opening, start) and pairs.get(start + len(opening) - 1) == end - 1:
                start, end = start + len(opening), end - 1
                while start < end and s[start].isspace():
                    start += 1
                while end > start and s[end - 1].isspace():
                    end -= 1
                break
        else:
            return s[start:end]


def _text_commands(s: str) -> str:
    """`\\mathrm{cm}`, `\\mbox{ cm}` ... → `\\text{cm}`; one-symbol font wrappers (`\\mathrm{e}`) → the symbol."""
    out: list[str] = []
    pos = 0
    while True:
        match = _TEXT_COMMANDS.search(s, pos)
        if match is None:
            out.append(s[pos:])
            return "".join(out)
        close = match_brace(s, match.end() - 1)
        if close < 0:
            out.append(s[pos:])
            return "".join(out)
        name = match.group(1)
        content = _text_commands(s[match.end():close]).strip()
        out.append(s[pos:match.start()])
        # a one-letter upright symbol that ends an answer after a quantity is its unit (`10^{-6}\,\mathrm{H}`),
        # except the upright constants e, i and the differential d
        unit = (name == "mathrm" and len(content) == 1 and content.isalpha() and content not in "eid"
                and close == len(s) - 1 and s[:match.start()].strip() != "")
        if name == "operatorname" and content.isalpha():
            out.append("\\" + content + " ")
        elif not unit and (name in _UNWRAP or (_SINGLE_SYMBOL.fullmatch(content) and (
                name not in _TEXT_LIKE or content.replace(".", "").isdigit()))):
            out.append(content)
        elif content:
            out.append("\\text{" + _WHITESPACE.sub(" ", content) + "}")
        pos = close + 1


def _spaces(s: str) -> str:
    s = _COMMAND_SPACE.sub("\\1\x01", s)
    s = _DIGIT_SPACE.sub("\x02", s)
    return _WHITESPACE.sub("", s).replace("\x01", " ").replace("\x02", " ")


@lru_cache(maxsize=1 << 16)
def clean(text: str) -> str:
    """The canonical spelling of an answer string (see the module docstring)."""
    s = _unbox(text.translate(_UNICODE).strip())
    s = _DELIMITERS.sub(" ", s)
    s = _THOUSANDS_MARK.sub(",", s)
    s = _SPACING.sub(" ", s)
    s = _SIZING.sub("", s)
    s = _MATRIX_ENV.sub(lambda m: f"\\{m.group(1)}{{pmatrix}}", s)
    s = _ALIAS.sub(lambda m: _ALIASES[m.group(1)], s)
    if "C" in s:
        s = _C_SUB_SUP.sub(lambda m: f"\\binom{{{_braced(m.group(1))}}}{{{_braced(m.group(2))}}}", s)
        s = _C_SUP_SUB.sub(lambda m: f"\\binom{{{_braced(m.group(2))}}}{{{_braced(m.group(1))}}}", s)
    if "(0)" in s:
        s = _AT_ZERO.sub(r"\1_{0}", s)
    if "\\" in s:
        s = _ANGSTROM.sub(r"\\text{Å}", s)
        s = _text_commands(s)
    s = _AND_OR_TEXT.sub(",", s)
    s = _AND_OR_WORD.sub(",", s)
    s = _DEGREE_FORMS.sub("^\\\\circ", s)
    s = s.replace("\\%", "%").replace(">=", "\\ge ").replace("<=", "\\le ").replace("!=", "\\ne ")
    s = _spaces(s).rstrip(".,;").lstrip(",;")
    return _unbox(s)


def _braced(group: str) -> str:
    return group[1:-1] if group.startswith("{") else group


def split_percent(atom: str) -> tuple[str, bool]:
    """`50%` → (`50`, True)."""
    match = _PERCENT_WORDS.search(atom)
    if match is None or match.start() == 0:
        return atom, False
    return atom[:match.start()], True


_NUMBERISH_END = re.compile(r"[\d}).]$")


def split_degrees(atom: str) -> tuple[str, bool]:
    """`90^\\circ`, `90\\text{degrees}` → (`90`, True)."""
    if atom.endswith("^\\circ") and len(atom) > len("^\\circ"):
        return atom[:-len("^\\circ")], True
    match = _DEGREE_WORDS.search(atom)
    if match is not None and match.start() > 0 and _NUMBERISH_END.search(atom[:match.start()]):
        return atom[:match.start()], True
    return atom, False


def split_units(atom: str) -> str:
    """Drop trailing units: any `\\text{}` group (`5\\text{cm}^2`), unit words after a plain number
    (`18dollars`, `0.5978bits/s`; a word of one or two letters only if it is a known unit, so `5x` stays), and a
    unit word after an expression (`144\\pi cm^{2}`)."""
    core = atom
    for _ in range(4):
        match = _TRAILING_TEXT.search(core)
        if match is None:
            break
        head = _TRAILING_PER.sub("", core[:match.start()].rstrip())
        if not head or (head.startswith("\\text{") and _TRAILING_TEXT.fullmatch(head)):
            break
        core = head
    match = _NUMBER_WITH_UNITS.fullmatch(core)
    if match is not None and all(len(w) > 2 or w in _SHORT_UNITS
                                 for w in _WORD.findall(match.group(2).replace("\\mu", ""))):
        return match.group(1)
    match = _UNIT_AFTER_EXPRESSION.search(core)
    if match is not None and match.start() > 0 and (len(match.group(1)) > 2 or match.group(1) in _SHORT_UNITS):
        return core[:match.start()]
    return core


def is_text(atom: str) -> bool:
    """True when the atom is words only (`\\text{Evelyn}`, `\\text{(C)}`), not mathematics."""
    return atom.startswith("\\text{") and not _TEXT_CONTENT.sub("", atom).strip("()., ")


def text_form(atom: str) -> str:
    """Case- and punctuation-free form used to compare word answers and multiple-choice letters."""
    return _NON_WORD.sub("", _TEXT_CONTENT.sub(r"\1", atom).lower())
