"""`toy-pretrain`: the miniature's base model, trained from scratch on the noisy mixed-strategy corpus.

The corpus mixes accumulation orders and carries slips, so the base comes out broad but unreliable: it can
reach most answers by some path, yet any single sample is often wrong, which is the regime the paper studies.
"""

from __future__ import annotations

import argparse
import time

from transformers import AutoTokenizer

from rlvr_limits.io import read_parquet, write_parquet
from rlvr_limits.progress import LOG
from rlvr_limits.toy import model as toy_model
from rlvr_limits.toy import train

CORPUS_COLUMNS = ("question", "completion", "m")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="pretrain.parquet from toy-data")
    parser.add_argument("--tokenizer", required=True, help="folder from toy-tokenizer")
    parser.add_argument("--out", required=True, help="folder to save the base model in")
    parser.add_argument("--metrics", required=True, help="parquet of per-step loss, entropy, lr")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--steps", type=int, default=1700)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--curriculum-steps", type=int, default=1200,
                        help="first steps that train only on problems with at most --curriculum-m operands")
    parser.add_argument("--curriculum-m", type=int, default=3)
    toy_model.add_size_arguments(parser)


def run(args: argparse.Namespace) -> int:
    toy_model.seed_everything(args.seed)
    t0, c0 = time.monotonic(), time.process_time()
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    data = train.encode(tokenizer, read_parquet(args.data, required=CORPUS_COLUMNS))
    model = toy_model.init(toy_model.size_from_args(args), tokenizer, args.seed)
    LOG.info("pretraining a %d-parameter model for %d steps of %d", model.num_parameters(), args.steps,
             args.batch)
    metrics = train.supervised(model, data, steps=args.steps, batch=args.batch, lr=args.lr, warmup=args.warmup,
                               seed=args.seed, pad_id=tokenizer.pad_token_id, label="pretrain",
                               curriculum=train.Curriculum(args.curriculum_steps, args.curriculum_m))
    toy_model.save(model, tokenizer, args.out)
    write_parquet(metrics, args.metrics)
    LOG.info("base model saved to %s (final loss %.3f) in %.0f s wall, %.0f s CPU", args.out,
             metrics["loss"][-1], time.monotonic() - t0, time.process_time() - c0)
    return 0
