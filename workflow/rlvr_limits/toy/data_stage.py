"""`toy-data`: the miniature's held-out benchmark and its training corpora, all from one seed.

Writes to `--out`:
- `test.jsonl`: the benchmark (`problem_id`, `question`, `answer`, `meta`), read like any other benchmark;
  `meta.solution` is the teacher's error-free solution, the reference response of the perplexity analysis;
- `pretrain.parquet`: the base model's "web" corpus, a mix of strategies with human-like slips;
- `distill.parquet`: the teacher's traces, in the split-step strategy the web corpus never uses;
- `rl.parquet`: the RL prompts with their gold answers (no solutions).
No training problem is a reordering of a test problem.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from rlvr_limits.errors import UserError
from rlvr_limits.io import write_parquet
from rlvr_limits.progress import LOG
from rlvr_limits.toy import task

#: The base corpus: accumulation orders in these proportions, every step in the direct form.
WEB_STRATEGIES = {"l2r": 0.5, "r2l": 0.25, "tree": 0.25}


def _ms(text: str, what: str) -> list[int]:
    try:
        ms = sorted({int(x) for x in text.split(",")})
    except ValueError:
        raise UserError(f"{what}: expected comma-separated operand counts such as 2,3,4, got {text!r}") from None
    if not ms or ms[0] < 2 or ms[-1] > 12:
        raise UserError(f"{what}: operand counts must lie in 2..12, got {text!r}")
    return ms


def _weights(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name not in WEB_STRATEGIES:
            raise UserError(f"--web-strategies: unknown strategy {name!r}; the web corpus mixes "
                            f"{sorted(WEB_STRATEGIES)} (split steps are the teacher's alone)")
        try:
            out[name] = float(value)
        except ValueError:
            raise UserError(f"--web-strategies: {part!r} is not name=weight") from None
    if sum(out.values()) <= 0 or min(out.values()) < 0:
        raise UserError(f"--web-strategies: weights must be non-negative and not all zero, got {text!r}")
    return out


def test_rows(problems: Sequence[task.Problem]) -> list[dict]:
    counters: dict[int, int] = {}
    rows = []
    no_slips = random.Random(0)  # never drawn from at slip rate 0
    for p in problems:
        i = counters[p.m] = counters.get(p.m, -1) + 1
        solution = task.render(task.solve(p, "split", no_slips, slip_rate=0.0))
        rows.append({"problem_id": f"toy-m{p.m}-{i:03d}", "question": p.question, "answer": str(p.answer),
                     "meta": {"m": p.m, "operands": list(p.operands), "solution": solution}})
    return rows


def solutions_frame(items: list[tuple[task.Problem, str, list[task.Step]]]) -> pl.DataFrame:
    return pl.DataFrame({
        "question": [p.question for p, _, _ in items],
        "completion": [task.render(steps) for _, _, steps in items],
        "answer": [str(p.answer) for p, _, _ in items],
        "m": [p.m for p, _, _ in items],
        "strategy": [s for _, s, _ in items],
        "clean": [steps[-1].result == p.answer and all(st.result == st.a + st.b for st in steps)
                  for p, _, steps in items],
    }, schema_overrides={"m": pl.Int32})


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="folder for test.jsonl and the training corpora")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--test-m", default="2,3,4,5", help="operand counts of the test split")
    parser.add_argument("--test-per-m", type=int, default=25, help="test problems per operand count")
    parser.add_argument("--train-m", default="2,3,4,5,6", help="operand counts of pretraining and distillation")
    parser.add_argument("--pretrain-examples", type=int, default=96_000)
    parser.add_argument("--web-strategies", default="l2r=0.5,r2l=0.25,tree=0.25",
                        help="strategy mix of the pretraining corpus")
    parser.add_argument("--slip-rate", type=float, default=0.1, help="probability that an addition slips")
    parser.add_argument("--distill-examples", type=int, default=20_000)
    parser.add_argument("--rl-m", default="2,3,4", help="operand counts of the RL prompts")
    parser.add_argument("--rl-examples", type=int, default=2_000)


def run(args: argparse.Namespace) -> int:
    test_m, train_m, rl_m = _ms(args.test_m, "--test-m"), _ms(args.train_m, "--train-m"), _ms(args.rl_m, "--rl-m")
    if not 0 <= args.slip_rate < 1:
        raise UserError(f"--slip-rate: must lie in [0, 1), got {args.slip_rate}")
    for name in ("test_per_m", "pretrain_examples", "distill_examples", "rl_examples"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')}: must be at least 1")
    web = _weights(args.web_strategies)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    test = task.test_problems(args.seed, test_m, args.test_per_m)
    held_out = {p.key for p in test}
    rows = test_rows(test)
    tmp = out / ".test.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    tmp.replace(out / "test.jsonl")

    pre = task.draw_problems(args.seed, "pretrain", train_m, args.pretrain_examples, exclude=held_out)
    items = task.corpus(args.seed, "pretrain", pre, list(web), list(web.values()), args.slip_rate)
    frame = solutions_frame(items)
    write_parquet(frame, out / "pretrain.parquet")
    LOG.info("pretraining corpus: %d solutions, %.1f%% with a slip", frame.height,
             100 * (1 - frame["clean"].mean()))

    dis = task.draw_problems(args.seed, "distill", train_m, args.distill_examples, exclude=held_out)
    write_parquet(solutions_frame(task.corpus(args.seed, "distill", dis, ["split"], [1.0], 0.0)),
                  out / "distill.parquet")

    rl = task.draw_problems(args.seed, "rl", rl_m, args.rl_examples, exclude=held_out)
    write_parquet(pl.DataFrame({"question": [p.question for p in rl], "answer": [str(p.answer) for p in rl],
                                "m": [p.m for p in rl]}, schema_overrides={"m": pl.Int32}),
                  out / "rl.parquet")
    LOG.info("wrote %d test problems (m in %s), %d distillation traces and %d RL prompts to %s",
             len(rows), test_m, len(dis), len(rl), out)
    return 0
