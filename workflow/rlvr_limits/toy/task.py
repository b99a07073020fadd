"""The miniature's task family: sums of m two-digit numbers, solved by a short chain of partial sums.

A problem is written `23+58+71+36?`; a solution is a chain of steps ending in a boxed answer, for example
`23+58=81;81+71=152;152+36=188;\\boxed{188}`. Solutions come in several strategies (the order in which
numbers are added, and the form of a step), so a model trained on a mix of them has several ways to reach an
answer, and noisy solutions carry human-like slips (a forgotten carry, an off-by-one) that propagate through
the rest of the chain. Everything is drawn from `random.Random` seeded by strings, so the same seed gives the
same problems and traces on every platform and under every `PYTHONHASHSEED`.

Strategies:
- `l2r`: left to right, `a+b=c;c+d=e;...`
- `r2l`: right to left, starting from the last number
- `tree`: pairwise, adjacent numbers first, then their sums, level by level
- `split`: left to right, each step adds the tens and then the ones, `152+36=182+6=188`; it is the teacher's
  strategy and is never part of the base model's corpus
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BOXED = "\\boxed{"
STRATEGIES = ("l2r", "r2l", "tree", "split")
#: Slip offsets and their weights: carry errors (±10) are the most common, then off-by-one/two, then
#: digit confusions (±9, ±11, ±20).
SLIP_OFFSETS = (10, -10, 1, -1, 2, -2, 9, -9, 11, -11, 20, -20)
SLIP_WEIGHTS = (3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1)
LOW, HIGH = 10, 99


@dataclass(frozen=True)
class Problem:
    """A problem: its operands in question order."""

    operands: tuple[int, ...]

    @property
    def question(self) -> str:
        return "+".join(map(str, self.operands)) + "?"

    @property
    def answer(self) -> int:
        return sum(self.operands)

    @property
    def m(self) -> int:
        return len(self.operands)

    @property
    def key(self) -> tuple[int, ...]:
        """Identity up to reordering: two problems with the same multiset of operands are the same sum."""
        return tuple(sorted(self.operands))


@dataclass(frozen=True)
class Step:
    """One addition `a+b=result`; a split step also shows the tens partial sum `a+b=mid+ones=result`."""

    a: int
    b: int
    result: int
    mid: int | None = None

    def text(self) -> str:
        if self.mid is None:
            return f"{self.a}+{self.b}={self.result}"
        return f"{self.a}+{self.b}={self.mid}+{self.b % 10}={self.result}"


def parse_question(question: str) -> tuple[int, ...] | None:
    """The operands of a question `a+b+...?`, or None when the text is not a question of this task."""
    if not question.endswith("?"):
        return None
    parts = question[:-1].split("+")
    if len(parts) < 2 or not all(p.isdigit() and len(p) <= 4 for p in parts):
        return None
    return tuple(int(p) for p in parts)


def render(steps: Sequence[Step]) -> str:
    """The completion text for `steps` (without the end-of-sequence token)."""
    final = steps[-1].result
    return "".join(step.text() + ";" for step in steps) + BOXED + str(final) + "}"


def _slip(value: int, rng: random.Random, rate: float) -> int:
    if rate <= 0 or rng.random() >= rate:
        return value
    return max(0, value + rng.choices(SLIP_OFFSETS, SLIP_WEIGHTS)[0])


def _add(a: int, b: int, rng: random.Random, slip_rate: float, split: bool) -> Step:
    if not split:
        return Step(a, b, _slip(a + b, rng, slip_rate))
    mid = _slip(a + b - b % 10, rng, slip_rate)
    return Step(a, b, _slip(mid + b % 10, rng, slip_rate), mid)


def solve(problem: Problem, strategy: str, rng: random.Random, slip_rate: float = 0.0) -> list[Step]:
    """A chain of steps for `problem` in `strategy`; each addition slips with probability `slip_rate`."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {STRATEGIES}")
    ops = list(problem.operands)
    steps: list[Step] = []
    if strategy == "tree":
        level = ops
        while len(level) > 1:
            nxt = []
            for i in range(0, len(level) - 1, 2):
                steps.append(_add(level[i], level[i + 1], rng, slip_rate, split=False))
                nxt.append(steps[-1].result)
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        return steps
    if strategy == "r2l":
        ops.reverse()
    acc = ops[0]
    for x in ops[1:]:
        steps.append(_add(acc, x, rng, slip_rate, split=strategy == "split"))
        acc = steps[-1].result
    return steps


def draw_problem(rng: random.Random, m: int) -> Problem:
    return Problem(tuple(rng.randint(LOW, HIGH) for _ in range(m)))


def draw_problems(seed: int, purpose: str, ms: Sequence[int], count: int,
                  exclude: Iterable[tuple[int, ...]] = (), unique: bool = False) -> list[Problem]:
    """`count` problems with m drawn uniformly from `ms`, skipping any whose key is in `exclude`.

    `purpose` names an independent random stream, so adding problems to one split never changes another.
    With `unique`, no two returned problems share a key.
    """
    rng = random.Random(f"toy:{seed}:{purpose}")
    banned = set(exclude)
    out: list[Problem] = []
    while len(out) < count:
        problem = draw_problem(rng, rng.choice(list(ms)))
        if problem.key in banned:
            continue
        if unique:
            banned.add(problem.key)
        out.append(problem)
    return out


def test_problems(seed: int, ms: Sequence[int], per_m: int) -> list[Problem]:
    """The held-out test split: `per_m` distinct problems for each m, in order of m."""
    out: list[Problem] = []
    seen: set[tuple[int, ...]] = set()
    for m in ms:
        out += draw_problems(seed, f"test:m{m}", [m], per_m, exclude=seen, unique=True)
        seen.update(p.key for p in out)
    return out


def corpus(seed: int, purpose: str, problems: Sequence[Problem], strategies: Sequence[str],
           weights: Sequence[float], slip_rate: float) -> list[tuple[Problem, str, list[Step]]]:
    """One solution per problem, its strategy drawn with `weights`, with slips at `slip_rate` per addition."""
    rng = random.Random(f"toy:{seed}:{purpose}:solutions")
    out = []
    for problem in problems:
        strategy = rng.choices(strategies, weights)[0]
        out.append((problem, strategy, solve(problem, strategy, rng, slip_rate)))
    return out
