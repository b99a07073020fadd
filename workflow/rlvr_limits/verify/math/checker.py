"""`verify`: extraction, the in-process fast path, and the sympy path in worker processes when needed."""

from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache

from rlvr_limits.progress import LOG
from rlvr_limits.verify.math import evaluate
from rlvr_limits.verify.math.compare import NeedSympy, Refused, Rules, Symbolic, equal
from rlvr_limits.verify.math.extract import extract_answer
from rlvr_limits.verify.math.normalize import clean
from rlvr_limits.verify.math.pool import Pool, cpu_count
from rlvr_limits.verify.math.structure import Atom, Node, parse_answer
from rlvr_limits.verify.math.verdict import CORRECT, ERROR, NO_ANSWER, TIMEOUT, WRONG, Verdict

#: Benchmarks whose numeric golds are rounded values, matched at their printed significant figures.
APPROXIMATE_BENCHMARKS = frozenset({"minerva_math"})
MAX_ANSWER_CHARS = 4000
DEFAULT_TIMEOUT_S = 2.0
DEFAULT_MEMORY_MB = 1024
_MEMO_SIZE = 1 << 16


@dataclass(frozen=True)
class Gold:
    """A gold answer parsed once: its structure, whether it is a plain number, and the comparison rules."""

    text: str
    benchmark: str | None
    tolerance: Fraction | None
    node: Node
    numeric: bool
    rules: Rules

    @property
    def key(self) -> tuple[str, str | None, Fraction | None]:
        return self.text, self.benchmark, self.tolerance


@lru_cache(maxsize=1 << 13)
def parse_gold(gold: str, benchmark: str | None = None, tolerance: Fraction | None = None) -> Gold:
    """Parse a gold answer once. `tolerance`: an absolute error allowed on a numeric gold (OlympiadBench)."""
    node = parse_answer(clean(gold))
    numeric = isinstance(node, Atom) and evaluate.literal(node.core) is not None
    rules = Rules(approximate=benchmark in APPROXIMATE_BENCHMARKS, tolerance=tolerance)
    return Gold(gold, benchmark, tolerance, node, numeric, rules)


def _squash(text: str) -> str:
    return "".join(text.split())


def canonical(answer: str) -> str | None:
    """The cleaned answer used as a cache key (None when it is too long to normalize)."""
    return clean(answer) if len(answer) <= MAX_ANSWER_CHARS else None


def judge(gold: Gold, answer: str, symbolic: Symbolic | None = None) -> tuple[str, str]:
    """(status, reason) for an extracted answer; raises NeedSympy when `symbolic` is None and it is needed."""
    if len(answer) > max(MAX_ANSWER_CHARS, 4 * len(gold.text)):
        if _squash(answer) == _squash(gold.text):
            return CORRECT, ""
        return ERROR, f"answer too long to compare ({len(answer)} characters)"
    pred = clean(answer)
    if not pred:
        return NO_ANSWER, "empty answer"
    rules = gold.rules if symbolic is None else replace(gold.rules, symbolic=symbolic)
    try:
        return (CORRECT, "") if equal(gold.node, parse_answer(pred), rules) else (WRONG, "")
    except Refused as exc:
        return ERROR, str(exc)
    except RecursionError:
        return ERROR, "answer nested too deeply"


class Checker:
    """Verifies responses; owns the worker pool for the sympy path and a memo of verdicts. Thread-safe."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, memory_mb: int = DEFAULT_MEMORY_MB,
                 workers: int | None = None, warm_up: bool = False) -> None:
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.workers = workers or min(2, cpu_count())
        self.warm_up = warm_up
        self._pool: Pool | None = None
        self._lock = threading.Lock()
        self._memo: dict[tuple[object, ...], tuple[str, str]] = {}

    @property
    def pool(self) -> Pool:
        with self._lock:
            if self._pool is None:
                self._pool = Pool(self.workers, self.memory_mb, self.warm_up)
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def slow(self, gold: Gold, answer: str) -> tuple[str, str]:
        """The sympy path in a worker, under the deadline."""
        return self.pool.run((*gold.key, answer), self.timeout_s)

    def judge(self, gold: Gold, answer: str) -> tuple[str, str]:
        key = (*gold.key, answer)
        found = self._memo.get(key)
        if found is not None:
            return found
        try:
            result = judge(gold, answer)
        except NeedSympy:
            result = self.slow(gold, answer)
        if result[0] != TIMEOUT:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = result
        return result

    def verify(self, response: str, gold: str, benchmark: str | None = None, *, truncated: bool = False) -> Verdict:
        """Judge one response against one gold answer; never raises. `truncated`: the response was cut at the
        token limit (then the last number in it is not taken as its answer)."""
        try:
            parsed = parse_gold(gold, benchmark)
            answer = extract_answer(response, parsed.numeric, truncated)
            if answer is None:
                return Verdict(NO_ANSWER)
            status, reason = self.judge(parsed, answer)
            return Verdict(status, answer, reason)
        except Exception as exc:  # a verifier bug must cost one verdict, not a training run
            LOG.warning("math verifier internal error on gold %r: %s: %s", gold[:80], type(exc).__name__, exc)
            return Verdict(ERROR, None, f"internal error: {type(exc).__name__}: {exc}")


_DEFAULT: Checker | None = None
_DEFAULT_LOCK = threading.Lock()


def default_checker() -> Checker:
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Checker()
            atexit.register(_DEFAULT.close)
        return _DEFAULT


def verify(response: str, gold: str, benchmark: str | None = None, *, truncated: bool = False) -> Verdict:
    """Verify `response` against the benchmark's `gold` answer (LaTeX or plain, already extracted).
    `truncated`: the response was cut at the token limit (finish_reason "length")."""
    return default_checker().verify(response, gold, benchmark, truncated=truncated)

