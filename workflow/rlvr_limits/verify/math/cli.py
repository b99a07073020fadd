"""`python -m rlvr_limits verify-math --gold G --response R [--benchmark B]`: one verdict as JSON on stdout."""

from __future__ import annotations

import argparse
import json
import sys

from rlvr_limits.errors import UserError
from rlvr_limits.verify.math.checker import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, Checker
from rlvr_limits.verify.math.verdict import VERSION


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gold", required=True, help="the gold answer (LaTeX or plain), e.g. '\\frac{1}{2}'")
    parser.add_argument("--response", required=True,
                        help="the model response (the final answer is extracted from it); '-' reads stdin")
    parser.add_argument("--benchmark", default=None,
                        help="benchmark name; minerva_math compares numeric golds at their significant figures")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help=f"deadline of the whole verification in seconds (default {DEFAULT_TIMEOUT_S:g})")


def run(args: argparse.Namespace) -> int:
    if not args.gold.strip():
        raise UserError("--gold: the gold answer is empty")
    if args.timeout <= 0:
        raise UserError(f"--timeout: must be positive, got {args.timeout:g}")
    response = sys.stdin.read() if args.response == "-" else args.response
    checker = Checker(timeout_s=args.timeout, memory_mb=DEFAULT_MEMORY_MB)
    try:
        verdict = checker.verify(response, args.gold, args.benchmark)
    finally:
        checker.close()
    print(json.dumps({**verdict.to_dict(), "version": VERSION}, ensure_ascii=False))
    return 0
