"""Math answer verification: `verify(response, gold, benchmark=None, *, truncated=False) -> Verdict`.

Layers: extract the final answer (extract.py), normalize its spelling (normalize.py), split it into structure
(structure.py), compare exactly with integers/fractions or numerically with a small bounded evaluator
(latex.py, evaluate.py, compare.py), and only for notation that evaluator refuses, compare with
latex2sympy2_extended + sympy (symbolic.py). All of it runs in killable worker processes with a memory cap
(pool.py, worker.py) under one deadline per response (`timeout_s`, default 2 s): extraction and the fast
comparison in a `responses` worker, which streams one verdict per response, the sympy comparison in a
`symbolic` worker with what is left of the deadline. Every regex is linear in its input (possessive
repetitions, no nested unbounded ones), so the deadline is a second line of defence, not the first.
Verdicts are memoized by (gold, cleaned answer); `verify` is safe to call from threads.

Policy choices, and why:

- Percent: a `%` is a unit. `50\\%` matches `50` (the question asked for a percentage) and also `0.5` (they
  are the same number); an answer without `%` is never multiplied or divided by 100 otherwise, so `800` does
  not match a gold `8` (the Qwen grader's leniency is a measured source of false positives).
- Degrees: `^\\circ` is a unit too. `90^\\circ` matches `90` and `\\frac{\\pi}{2}` (x° is xπ/180 exactly); a
  plain `90` never matches `\\frac{\\pi}{2}`, since nothing says it is an angle.
- `5` vs `x=5`: a left-hand side that only names the answer (a variable, `f(x)`, `Q^d(p)`, `(x, y)`, a word) is dropped
  on either side, so `x=5`, `5` and `x = 2+3 = 5` (the last member of a chain that starts with a name) all
  answer `5`, `f(x)=2x` answers `2x`, and a chain of numbers `\\frac{3}{4} = 0.75` answers `0.75`. Two named
  equations must use the same name. Other equations (`5x-7y+11z+4=0`) are equal when one is a nonzero
  multiple of the other, and an equation is never the answer to a gold that is not one.
- Multiple answers: a bare list (`1, -2`, adjacent boxes, `\\pm`) or a set `\\{..\\}` is unordered and must
  hold exactly the gold's answers (duplicates ignored): a superset is wrong, and so is a subset.
- Order of solutions: order matters only inside brackets. `(1, 2)` is an ordered pair or an interval, and its
  brackets count (`(0,9)` is not `[0,9)`); a bare list is accepted for a bracketed gold in the same order; a
  one-column or one-row matrix equals the parenthesized tuple of its entries. Unions are unordered.
- Numbers: integers, fractions and decimals compare exactly (no relative tolerance, so `1000001` is not
  `1000000`, and `1/2004!` is not `1/2006!`). A decimal answer to an exact gold is accepted when it is the
  gold rounded at the answer's printed precision and has at least 3 significant figures (`0.333` for `1/3`,
  `3.14` for `\\pi`; not `0.33`). OlympiadBench's `error` field (batch only) is an absolute tolerance around
  the gold.
- Minerva's numeric golds are rounded physics values (computed with other constants, rounded hard): an answer
  is right when it rounds to the gold at the gold's printed precision, integer golds of two significant figures
  or more included (`1.62` for `1.6`, `31.2` for `31`, `927.5` for `928`, `5.4\\times10^{31}` for `5e31`), or
  when the two are roundings of one value, each at its own printed precision, their rounding intervals
  overlapping (not only touching), with the answer printed to at least 3 significant figures or as many as the
  gold (`0.482` for `0.4821`; not `0.48`, and `4.6e33` not for `4.5e33`); an integer's trailing zeros are not
  significant. An integer gold of one significant figure (`4`, `10`, `100`) is exact: in Minerva it is a count,
  an exact result or a power of ten, and a neighbouring value is another answer (`99.9`, the damped frequency of
  the next subproblem, is not the natural frequency `100`). No further relative tolerance: on Minerva's 187
  numeric golds, 1% would let another problem's gold pass for 28 problems (0.5%: 16), and constants that differ
  past the printed figures make a different number.
- Inequalities in one variable are intervals (`x \\ge 2` is `[2, \\infty)`); `x \\in S` is `S`.
- Word answers (`\\text{Evelyn}`, `\\text{(C)}`) compare without case, spaces or punctuation.
- Base-n numbers (`52_8`) must have the same digits; the base may be omitted.
- Units are dropped: any trailing `\\text{...}`, unit words after a plain number (`18 dollars`, `31.2\\mu m`),
  a unit word of a known unit or of three letters or more after any expression (`144\\pi\\;cm^{2}`, in golds
  too), a one-letter upright symbol that ends the answer (`10^{-6}\\,\\mathrm{H}`; not the upright e, i, d) and
  the ångström sign (`\\AA`).
- Times of day (`7:45\\text{ p.m.}`, `6am`, `16:30`) compare as clock readings: am/pm must agree when both sides
  state it; without it on one side, the 12-hour reading must.
- Ordinals and number words answer an integer gold: `9th` (with its own suffix: not `9st`), `\\text{ninth}`,
  `\\text{Ninth grade}` (an ordinal before the noun it counts), `\\text{seven}`.
- Notation: `C_{50}^{3}` and `C^{3}_{50}` are `\\binom{50}{3}`; `V(0)` (a quantity applied to 0) is `V_0`; a set
  written by its condition, `\\{x \\mid 1 < x \\le 4\\}` (or `|`, `:`), is that condition's set, so it equals
  `(1, 4]` whatever the bound variable.
- Arbitrary constants: an expression that differs from the gold only in the names of its arbitrary constants
  (the letters C and K in either case, numbered from 1: `K` for `k`, `c_2` for `C_1`) is the same answer; other
  letters name given quantities (`V_0` is not `I_0`).
- A multi-part gold (`0.125, 0.4`) is answered by the last boxes of the response, one per part, wherever they
  stand, when its last box holds a single part.
- `f(x)`, `I(0)`: a letter applied to one argument is an unknown function (equal only to itself applied to an
  equal argument); `x(x+1)` is a product.
- The last number of a response is its answer only when the gold is a plain number, the response was not
  cut at the token limit (`truncated`, finish_reason "length": there it is a step of unfinished work), and
  the number stands alone: not part of a word (`AZYUK2A`), a LaTeX expression (`\\frac{1+\\sqrt{5}}{2}`,
  `2^{10}`, `x_2`, `5\\pi`) or an arithmetic one (`3 + 4`); `= 7`, `**42**`, `42 apples`, `50\\%` are alone.
- Whatever a guard refuses (exponent towers, huge factorials, answers over 4000 characters) is `error`;
  a verification past its deadline is `timeout`. Neither is ever `correct`.
"""

from rlvr_limits.verify.math.checker import Checker, verify
from rlvr_limits.verify.math.verdict import VERSION, Verdict

__all__ = ["VERSION", "Checker", "Verdict", "verify"]
