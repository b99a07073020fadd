"""`verify`: each response verified in a worker process under one deadline; sympy, when needed, in another.

A response's whole verification (finding its answer, normalizing it, the fast comparison) runs in a `responses`
worker (pool.py), so no input, and no future regression of a regex, can hold up the caller longer than the
deadline: past it the verdict is `timeout` and the next response goes on in a fresh worker. What the fast path
cannot decide goes to a `symbolic` worker with whatever is left of the same deadline.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

from rlvr_limits.progress import LOG, Progress
from rlvr_limits.verify.math import evaluate, latex, normalize
from rlvr_limits.verify.math.compare import NeedSympy, Refused, Rules, Symbolic, equal
from rlvr_limits.verify.math.extract import extract_answer
from rlvr_limits.verify.math.normalize import clean
from rlvr_limits.verify.math.pool import Pool, cpu_count
from rlvr_limits.verify.math.structure import Atom, Group, Node, parse_answer
from rlvr_limits.verify.math.verdict import CORRECT, ERROR, NO_ANSWER, TIMEOUT, WRONG, Verdict

#: Benchmarks whose numeric golds are rounded values, matched at their printed significant figures.
APPROXIMATE_BENCHMARKS = frozenset({"minerva_math"})
MAX_ANSWER_CHARS = 4000
DEFAULT_TIMEOUT_S = 2.0  # the deadline of one whole verification
DEFAULT_MEMORY_MB = 1024
_MEMO_SIZE = 1 << 16
#: the status of a first pass that only the symbolic path can decide (never a verdict)
NEEDS_SYMBOLIC = "symbolic"

#: (response, gold, benchmark, tolerance, truncated): one verification
Task = tuple[str, str, str | None, Fraction | None, bool]


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
    def parts(self) -> int:
        """How many answers a bare list gold asks for (`0.125, 0.4`: 2); 1 for anything else."""
        return len(self.node.items) if isinstance(self.node, Group) and not self.node.braced else 1

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


class Outcome(NamedTuple):
    """One verification: its status (after the first pass in a worker, possibly NEEDS_SYMBOLIC), the answer
    found, `key` the cleaned answer (the memo key of the symbolic check), and the seconds it took. Workers send
    it as a plain tuple (a quarter of the pickling cost)."""

    status: str
    reason: str = ""
    answer: str | None = None
    key: str | None = None
    seconds: float = 0.0


_FIRST_PASS_MEMO: dict[tuple[object, ...], tuple[str, str]] = {}


def clear_caches() -> None:
    """Forget every memo and cache of the fast path (what a verification that can reuse nothing costs)."""
    _FIRST_PASS_MEMO.clear()
    normalize.clean.cache_clear()
    latex.literal.cache_clear()
    evaluate._parse_cached.cache_clear()
    evaluate._LOCAL.cache.clear()


def first_pass(task: tuple[object, ...]) -> Outcome:
    """task = (*Task, cache): extraction and the fast comparison of one response; never raises. With `cache`
    false every memo is cleared first."""
    started = time.perf_counter()
    try:
        response, gold_text, benchmark, tolerance, truncated, cache = task
        if not cache:
            clear_caches()
        gold = parse_gold(str(gold_text), None if benchmark is None else str(benchmark),
                          tolerance if isinstance(tolerance, Fraction) else None)
        answer = extract_answer(str(response), gold.numeric, bool(truncated), gold.parts)
        if answer is None:
            return Outcome(NO_ANSWER, seconds=time.perf_counter() - started)
        key = canonical(answer) or answer
        memo_key = (*gold.key, key)
        found = _FIRST_PASS_MEMO.get(memo_key)
        if found is None:
            try:
                found = judge(gold, answer)
            except NeedSympy:
                found = (NEEDS_SYMBOLIC, "")
            if len(_FIRST_PASS_MEMO) >= _MEMO_SIZE:
                _FIRST_PASS_MEMO.clear()
            _FIRST_PASS_MEMO[memo_key] = found
        return Outcome(found[0], found[1], answer, key, time.perf_counter() - started)
    except Exception as exc:  # a verifier bug must cost one verdict, not a training run
        return Outcome(ERROR, f"internal error: {type(exc).__name__}: {exc}", None, None,
                       time.perf_counter() - started)


class Checker:
    """Verifies responses in worker processes under a deadline; memoizes symbolic checks. Thread-safe."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, memory_mb: int = DEFAULT_MEMORY_MB,
                 workers: int | None = None, warm_up: bool = False, cache: bool = True) -> None:
        """`timeout_s`: the deadline of one whole verification; `workers`: processes of each kind; `warm_up`:
        symbolic workers parse typical answers before they report ready (slower start, faster first checks);
        `cache=False` verifies every response from scratch (to measure what that costs)."""
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.workers = workers or min(2, cpu_count())
        self.warm_up = warm_up
        self.cache = cache
        self._pools: dict[str, Pool] = {}
        self._lock = threading.Lock()
        self._memo: dict[tuple[object, ...], tuple[str, str]] = {}

    def _pool(self, kind: str) -> Pool:
        with self._lock:
            if kind not in self._pools:
                if kind == "responses":
                    self._pools[kind] = Pool("responses", self.workers, self.memory_mb, self._failed_outcome,
                                             "verification")
                else:
                    self._pools[kind] = Pool("symbolic-warm" if self.warm_up else "symbolic", self.workers,
                                             self.memory_mb, lambda status, reason: (status, reason),
                                             "symbolic check")
            return self._pools[kind]

    def _failed_outcome(self, status: str, reason: str) -> Outcome:
        return Outcome(status, reason, seconds=self.timeout_s if status == TIMEOUT else 0.0)

    @property
    def responses(self) -> Pool:
        """The workers that verify whole responses."""
        return self._pool("responses")

    @property
    def symbolic(self) -> Pool:
        """The workers of the sympy path."""
        return self._pool("symbolic")

    def warm(self) -> None:
        """Start every worker now, so that no verification waits for one to start."""
        self.responses.warm()
        self.symbolic.warm()

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def _symbolic_check(self, task: Task, outcome: Outcome) -> tuple[tuple[str, str], float]:
        """((status, reason), seconds) of the sympy comparison, with what is left of the deadline."""
        _, gold, benchmark, tolerance, _ = task
        key = (gold, benchmark, tolerance, outcome.key)
        found = self._memo.get(key)
        if found is not None:
            return found, 0.0
        left = self.timeout_s - outcome.seconds
        if left <= 0:
            return (TIMEOUT, f"verification exceeded {self.timeout_s:g} s"), 0.0
        started = time.perf_counter()
        result = self.symbolic.run((gold, benchmark, tolerance, outcome.answer), left)
        if result[0] == TIMEOUT:
            result = (TIMEOUT, f"verification exceeded {self.timeout_s:g} s (in the symbolic check)")
        elif self.cache:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = result
        return result, time.perf_counter() - started

    def verify_many(self, tasks: Sequence[Task], label: str | None = None) -> list[Outcome]:
        """Verify every task (in order); `label` turns on progress lines. Never raises."""
        fast = Progress(f"{label} (fast path)", len(tasks), "samples") if label else None
        warming = threading.Thread(target=self._warm_symbolic, daemon=True)

        def seen(batch: list[tuple[object, ...]]) -> None:
            if fast is not None:
                fast.update(len(batch))
            if self.warm_up and warming.ident is None and any(result[0] == NEEDS_SYMBOLIC for result in batch):
                warming.start()  # the symbolic workers start beside the rest of the fast path

        outcomes = [Outcome._make(result) for result in
                    self.responses.map([(*task, self.cache) for task in tasks], self.timeout_s, seen)]
        pending: dict[tuple[object, ...], list[int]] = {}
        for index, (task, outcome) in enumerate(zip(tasks, outcomes, strict=True)):
            if outcome.status == NEEDS_SYMBOLIC:
                pending.setdefault((*task[1:4], outcome.key), []).append(index)
            elif outcome.reason.startswith("internal error"):
                LOG.warning("math verifier %s on gold %r", outcome.reason, str(task[1])[:80])
        if not pending:
            return outcomes
        if warming.ident is not None:
            warming.join()
        slow = Progress(f"{label} (symbolic checks)", len(pending), "checks") if label else None
        with ThreadPoolExecutor(max_workers=self.workers) as executor:
            futures = {key: executor.submit(self._symbolic_check, tasks[indices[0]], outcomes[indices[0]])
                       for key, indices in pending.items()}
            for key, future in futures.items():
                (status, reason), seconds = future.result()
                for rank, index in enumerate(pending[key]):
                    outcomes[index] = outcomes[index]._replace(
                        status=status, reason=reason, seconds=outcomes[index].seconds + (seconds if rank == 0 else 0.0))
                if slow is not None:
                    slow.update()
        return outcomes

    def _warm_symbolic(self) -> None:
        try:
            self.symbolic.warm()
        except (RuntimeError, OSError) as exc:  # the symbolic checks will report it, one verdict at a time
            LOG.warning("math verifier: %s", exc)

    def verify(self, response: str, gold: str, benchmark: str | None = None, *, truncated: bool = False) -> Verdict:
        """Judge one response against one gold answer within the deadline; never raises. `truncated`: the
        response was cut at the token limit (then the last number in it is not taken as its answer)."""
        try:
            outcome = self.verify_many([(response, gold, benchmark, None, truncated)])[0]
            return Verdict(outcome.status, outcome.answer, outcome.reason)
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

