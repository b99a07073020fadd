"""`toy-distill`: supervised fine-tuning of the base model on a teacher's correct traces.

The teacher solves every problem with split steps (`152+36=182+6=188`, tens then ones), a strategy the base
model's corpus never shows. Fine-tuning on its traces is the miniature's counterpart of distilling a strong
reasoning model into a small one: unlike RL, it can put a new pattern into the model.
"""

from __future__ import annotations

import argparse
import time

from rlvr_limits.io import read_parquet, write_parquet
from rlvr_limits.progress import LOG
from rlvr_limits.toy import model as toy_model
from rlvr_limits.toy import train
from rlvr_limits.toy.strict import check

TRACE_COLUMNS = ("question", "completion", "answer", "m")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", required=True, help="the base model folder (toy-pretrain)")
    parser.add_argument("--data", required=True, help="distill.parquet from toy-data (the teacher's traces)")
    parser.add_argument("--out", required=True, help="folder for the distilled model")
    parser.add_argument("--metrics", required=True, help="parquet of per-step loss, entropy, lr")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=20)


def run(args: argparse.Namespace) -> int:
    toy_model.seed_everything(args.seed)
    t0, c0 = time.monotonic(), time.process_time()
    traces = read_parquet(args.data, required=TRACE_COLUMNS)
    keep = [check(q, a, c).correct for q, a, c in traces.select("question", "answer", "completion").iter_rows()]
    correct = traces.filter(keep)
    LOG.info("teacher traces: %d of %d are correct under the strict verifier and used", correct.height,
             traces.height)
    model, tokenizer = toy_model.load(args.base)
    data = train.encode(tokenizer, correct)
    metrics = train.supervised(model, data, steps=args.steps, batch=args.batch, lr=args.lr, warmup=args.warmup,
                               seed=args.seed, pad_id=tokenizer.pad_token_id, label="distill")
    toy_model.save(model, tokenizer, args.out)
    write_parquet(metrics, args.metrics)
    LOG.info("distilled model saved to %s (final loss %.3f) in %.0f s wall, %.0f s CPU", args.out,
             metrics["loss"][-1], time.monotonic() - t0, time.process_time() - c0)
    return 0
