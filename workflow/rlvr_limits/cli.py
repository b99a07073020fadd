"""`python -m rlvr_limits <stage> ...`: one subcommand per workflow stage, each runnable by hand.

Subcommand modules are imported lazily so that, e.g., `verify-math` never imports torch or vLLM.
Each module exposes `configure(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from rlvr_limits.errors import UserError
from rlvr_limits.progress import LOG, setup_logging

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "problems": ("rlvr_limits.data.problems", "download a benchmark (pinned, checksummed) and normalize it"),
    "model": ("rlvr_limits.models.fetch", "resolve a model (local dir or hub id@revision) and record it"),
    "check": ("rlvr_limits.check", "before any GPU job: every model x benchmark renders, stops and fits"),
    "plan": ("rlvr_limits.plan", "jobs, tokens and GPU-hours of a configuration, before anything runs"),
    "sample": ("rlvr_limits.sampling.stage", "draw one block of samples with the hf, vllm or server engine"),
    "serve": ("rlvr_limits.sampling.serve", "start a vLLM server for engine server and wait until it answers"),
    "import": ("rlvr_limits.sampling.import_stage", "samples another harness drew, as a block of the samples table"),
    "export": ("rlvr_limits.sampling.export_stage", "a run's samples in the plain exchange format (JSON Lines)"),
    "verify": ("rlvr_limits.verify.stage", "verify every sample of a (model, benchmark)"),
    "verify-math": ("rlvr_limits.verify.math.cli", "verify one math response against a gold answer"),
    "passk": ("rlvr_limits.analysis.passk_stage", "unbiased pass@k with bootstrap CIs"),
    "agreement": ("rlvr_limits.analysis.agreement", "imported samples: the source's grades against ours"),
    "guessed": ("rlvr_limits.analysis.guess_stage", "problems a direct-answer run guesses (the AIME filter)"),
    "compare": ("rlvr_limits.analysis.compare_stage", "paired pass@k differences, crossover, coverage"),
    "tables": ("rlvr_limits.analysis.tables_stage", "summary tables (CSV) of a comparison for the report"),
    "explore": ("rlvr_limits.explorer.stage", "a comparison problem by problem, as an offline page"),
    "entropy": ("rlvr_limits.analysis.entropy_stage", "temperature at which a model's entropy matches a reference"),
    "perplexity": ("rlvr_limits.analysis.perplexity_stage", "perplexity of one model's responses under another"),
    "figures": ("rlvr_limits.figures.stage", "draw a figure (svg, png, vl.json, html)"),
    "provenance": ("rlvr_limits.provenance", "record versions, revisions, hashes and hardware of a run"),
    "toy-data": ("rlvr_limits.toy.data_stage", "generate the miniature's arithmetic task and corpora"),
    "toy-tokenizer": ("rlvr_limits.toy.tokenizer", "build the miniature's tokenizer"),
    "toy-pretrain": ("rlvr_limits.toy.pretrain", "pretrain the miniature's base model"),
    "toy-rl": ("rlvr_limits.toy.rl", "RLVR (GRPO) from the miniature's base model"),
    "toy-distill": ("rlvr_limits.toy.distill", "distil a teacher strategy into the miniature's base model"),
    "toy-vl-model": ("rlvr_limits.toy.vl_model", "build the vision-language miniature's tiny Qwen2.5-VL model"),
    "toy-vl-data": ("rlvr_limits.toy.vl_data", "draw the vision-language miniature's picture problems"),
}


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """All subcommands; only `chosen` gets its full options, so other stages' modules are not imported."""
    parser = argparse.ArgumentParser(prog="python -m rlvr_limits", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="STAGE", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--log", help="also append log lines to this file (the rule's log:)")
        p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
        p.set_defaults(_module=module)
        if name == chosen:
            importlib.import_module(module).configure(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The stages report progress in their own log lines; library progress bars only clutter the rule logs.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    setup_logging(args.log, args.verbose)
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except UserError as exc:
        LOG.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        LOG.error("interrupted; finished work is kept and a rerun resumes from it")
        return 130
