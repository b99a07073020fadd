"""The result of one verification, and the verifier version that keys every cached verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: Bumped whenever a change can alter a verdict, so cached verdicts of an older verifier are never reused.
VERSION = "math-1.2.1"

CORRECT = "correct"
WRONG = "wrong"
NO_ANSWER = "no_answer"
TIMEOUT = "timeout"
ERROR = "error"
STATUSES = (CORRECT, WRONG, NO_ANSWER, TIMEOUT, ERROR)


@dataclass(frozen=True, slots=True)
class Verdict:
    """`status` is one of STATUSES; `extracted` is the answer taken from the response (None when there is
    none); `reason` says in a few words why a response was not judged correct or wrong (guard, timeout ...)."""

    status: str
    extracted: str | None = None
    reason: str = ""

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "correct": self.correct}
