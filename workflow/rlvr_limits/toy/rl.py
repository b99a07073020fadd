"""`toy-rl`: RLVR from the base model with GRPO-style group-normalised advantages and PPO clipping.

Each step samples `group` responses to each of `prompts` questions with the project's `hf` engine (the same
sampler that produces the benchmark samples, on the policy in memory), rewards each with the math verifier
(0/1), and normalises rewards within each question's group: A = (r - mean) / std. The policy then takes
`updates` AdamW steps on the PPO-clip objective, averaged over all response tokens of the batch (token-level
normalisation). By default there is no KL penalty and no entropy bonus, as in the paper's "zero" RL setting.

Groups whose responses all earn the same reward have zero advantage; without a KL term they contribute no
gradient, so they are left out of the update passes, which saves a large share of the compute.
"""

from __future__ import annotations

import argparse
import copy
import random
import time
from dataclasses import dataclass

import polars as pl
import torch

from rlvr_limits.errors import UserError
from rlvr_limits.io import read_parquet, write_parquet
from rlvr_limits.progress import LOG, Progress
from rlvr_limits.sampling.hf import HFEngine
from rlvr_limits.sampling.requests import Request, Sampling, sample_seed
from rlvr_limits.toy import model as toy_model
from rlvr_limits.toy.reward import reward
from rlvr_limits.toy.train import encode_texts, pad_batch, token_logprobs


@dataclass(frozen=True)
class Settings:
    """The RL hyper-parameters; the defaults are the miniature's (see the module docstring)."""

    steps: int = 100
    prompts: int = 16
    group: int = 16
    lr: float = 3e-4
    updates: int = 2
    clip: float = 0.2
    kl: float = 0.0
    temperature: float = 1.0
    max_tokens: int = 100


@dataclass
class Rollout:
    """One sampled response with its 0/1 reward and group-normalised advantage."""

    prompt_ids: list[int]
    response_ids: list[int]
    reward: float
    advantage: float
    m: int
    entropy: float  # mean entropy (nats) of the distributions the response tokens were drawn from


def rollouts(engine: HFEngine, questions: list[str], answers: list[str], ms: list[int], step: int,
             s: Settings, seed: int) -> list[Rollout]:
    """`s.group` samples per question, rewarded and given group-normalised advantages."""
    eos = engine.tokenizer.eos_token_id
    sampling = Sampling(max_tokens=s.max_tokens, temperature=s.temperature, stop_token_ids=(eos,))
    prompt_ids = encode_texts(engine.tokenizer, questions)
    requests = [Request(problem_id=f"{step}:{i}", sample_idx=j, prompt_ids=tuple(ids), sampling=sampling,
                        seed=sample_seed(seed, "toy-rl", "rollout", f"{step}:{i}", j))
                for i, ids in enumerate(prompt_ids) for j in range(s.group)]
    done = {c.key: c for c in engine.generate(requests)}
    out = []
    for i, (ids, gold, m) in enumerate(zip(prompt_ids, answers, ms, strict=True)):
        group = [done[(f"{step}:{i}", j)] for j in range(s.group)]
        rewards = torch.tensor([reward(c.text, gold) for c in group])
        std = rewards.std(unbiased=False)
        adv = (rewards - rewards.mean()) / std if std > 0 else torch.zeros_like(rewards)
        out += [Rollout(ids, list(c.token_ids), float(r), float(a), m, c.entropy)
                for c, r, a in zip(group, rewards, adv, strict=True)]
    return out


#: Rows per forward pass in an update. Rows are sorted by length first, so each pass pads little.
CHUNK_ROWS = 32


@dataclass
class _Chunk:
    ids: torch.Tensor
    mask: torch.Tensor
    adv: torch.Tensor
    ref: torch.Tensor | None
    old: torch.Tensor | None = None


def _chunks(batch: list[Rollout], reference: torch.nn.Module | None, pad_id: int) -> list[_Chunk]:
    order = sorted(batch, key=lambda r: len(r.prompt_ids) + len(r.response_ids))
    out = []
    for start in range(0, len(order), CHUNK_ROWS):
        rows = order[start:start + CHUNK_ROWS]
        ids, mask = pad_batch([r.prompt_ids + r.response_ids for r in rows], [len(r.prompt_ids) for r in rows],
                              pad_id)
        ref = None
        if reference is not None:
            with torch.no_grad():
                ref = token_logprobs(reference, ids)[0]
        out.append(_Chunk(ids, mask, torch.tensor([r.advantage for r in rows])[:, None], ref))
    return out


def update(policy: torch.nn.Module, reference: torch.nn.Module | None, optimizer: torch.optim.Optimizer,
           batch: list[Rollout], s: Settings, pad_id: int) -> dict[str, float]:
    """`s.updates` PPO-clip steps on `batch`; the first pass's log-probs are the behaviour policy's.

    The loss is the clipped objective summed over all response tokens of the batch and divided by their
    number (token-level normalisation); gradients of the length-sorted chunks add up before each step.
    """
    chunks = _chunks(batch, reference, pad_id)
    n_tokens = sum(int(c.mask.sum()) for c in chunks)
    policy.train()
    stats: dict[str, float] = {"loss": 0.0}
    for u in range(s.updates):
        optimizer.zero_grad(set_to_none=True)
        clipped = 0
        for c in chunks:
            logp = token_logprobs(policy, c.ids)[0]
            if c.old is None:
                c.old = logp.detach()
            ratio = torch.exp(logp - c.old)
            per_token = -torch.minimum(ratio * c.adv, ratio.clamp(1 - s.clip, 1 + s.clip) * c.adv)
            if c.ref is not None:
                delta = c.ref - logp
                per_token = per_token + s.kl * (torch.exp(delta) - delta - 1)  # k3 estimate of KL(policy||ref)
            loss = (per_token * c.mask).sum() / n_tokens
            loss.backward()
            stats["loss"] += float(loss.detach()) / s.updates
            clipped += int((((ratio.detach() - 1).abs() > s.clip) & c.mask).sum())
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        optimizer.step()
        if u > 0:
            stats["clip_frac"] = clipped / n_tokens
    policy.eval()
    return stats


def parse_steps(text: str, last: int) -> list[int]:
    if not text:
        return []
    try:
        steps = sorted({int(x) for x in text.split(",")})
    except ValueError:
        raise UserError(f"--checkpoints: expected comma-separated step numbers, got {text!r}") from None
    if steps[0] < 1 or steps[-1] > last:
        raise UserError(f"--checkpoints: steps must lie in 1..{last} (the number of RL steps), got {text!r}")
    return steps


def configure(parser: argparse.ArgumentParser) -> None:
    d = Settings()
    parser.add_argument("--base", required=True, help="the base model folder (toy-pretrain)")
    parser.add_argument("--data", required=True, help="rl.parquet from toy-data (question, answer, m)")
    parser.add_argument("--out", required=True, help="folder for the final RL model")
    parser.add_argument("--metrics", required=True, help="parquet of per-step reward, loss, entropy")
    parser.add_argument("--checkpoints", default="", help="comma-separated steps at which to keep a model")
    parser.add_argument("--checkpoint-dir", default=None,
                        help="folder holding one rl_step<N> model folder per checkpoint step")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--steps", type=int, default=d.steps)
    parser.add_argument("--prompts", type=int, default=d.prompts, help="questions per step")
    parser.add_argument("--group", type=int, default=d.group, help="responses per question")
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--updates", type=int, default=d.updates, help="PPO-clip passes per batch")
    parser.add_argument("--clip", type=float, default=d.clip, help="PPO clip range epsilon")
    parser.add_argument("--kl", type=float, default=d.kl, help="KL penalty coefficient to the base (k3)")
    parser.add_argument("--temperature", type=float, default=d.temperature, help="rollout temperature")
    parser.add_argument("--max-tokens", type=int, default=d.max_tokens, help="longest rollout response")


def run(args: argparse.Namespace) -> int:
    s = Settings(args.steps, args.prompts, args.group, args.lr, args.updates, args.clip, args.kl,
                 args.temperature, args.max_tokens)
    if min(s.steps, s.prompts, s.group, s.updates, s.max_tokens) < 1 or s.group < 2:
        raise UserError("toy-rl: steps, prompts, updates and max-tokens must be at least 1 and group at least 2")
    if s.kl < 0 or not 0 < s.clip < 1 or s.temperature <= 0:
        raise UserError("toy-rl: --kl must be >= 0, --clip in (0, 1) and --temperature > 0")
    checkpoints = parse_steps(args.checkpoints, s.steps)
    if checkpoints and not args.checkpoint_dir:
        raise UserError("toy-rl: --checkpoints needs --checkpoint-dir")
    toy_model.seed_everything(args.seed)
    t0, c0 = time.monotonic(), time.process_time()
    data = read_parquet(args.data, required=("question", "answer", "m"))
    policy, tokenizer = toy_model.load(args.base)
    reference = copy.deepcopy(policy).eval() if s.kl > 0 else None
    engine = HFEngine(policy, tokenizer, batch_rows=s.prompts * s.group)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=s.lr, betas=(0.9, 0.99), weight_decay=0.0)
    order = list(range(data.height))
    random.Random(f"toy:{args.seed}:rl-prompts").shuffle(order)
    questions, answers, ms = data["question"].to_list(), data["answer"].to_list(), data["m"].to_list()
    progress = Progress("rl", s.steps, "steps")
    rows = []
    for step in range(1, s.steps + 1):
        pick = [order[((step - 1) * s.prompts + i) % len(order)] for i in range(s.prompts)]
        batch = rollouts(engine, [questions[i] for i in pick], [answers[i] for i in pick],
                         [ms[i] for i in pick], step, s, args.seed)
        n_tokens = sum(len(r.response_ids) for r in batch)
        learn = batch if reference is not None else [r for r in batch if r.advantage != 0]
        stats = update(policy, reference, optimizer, learn, s, tokenizer.pad_token_id) if learn else {}
        row = {"step": step, "reward": sum(r.reward for r in batch) / len(batch),
               "learning_fraction": len(learn) / len(batch),
               "response_tokens": n_tokens / len(batch),
               "entropy": sum(r.entropy * len(r.response_ids) for r in batch) / max(1, n_tokens),
               "loss": stats.get("loss"), "clip_frac": stats.get("clip_frac")}
        for m in sorted(set(ms)):
            rs = [r.reward for r in batch if r.m == m]
            row[f"reward_m{m}"] = sum(rs) / len(rs) if rs else None
        rows.append(row)
        if step in checkpoints:
            toy_model.save(policy, tokenizer, f"{args.checkpoint_dir}/rl_step{step}")
        progress.update()
        if step % max(1, s.steps // 10) == 0:
            window = rows[-max(1, s.steps // 10):]
            LOG.info("rl step %d: mean reward %.3f, token entropy %.3f over the last %d steps", step,
                     sum(r["reward"] for r in window) / len(window),
                     sum(r["entropy"] for r in window) / len(window), len(window))
    toy_model.save(policy, tokenizer, args.out)
    metrics = pl.DataFrame(rows, infer_schema_length=None)
    write_parquet(metrics, args.metrics)
    LOG.info("RL model saved to %s; reward %.3f (first 10 steps) -> %.3f (last 10) in %.0f s wall, %.0f s CPU",
             args.out, metrics["reward"].head(10).mean(), metrics["reward"].tail(10).mean(),
             time.monotonic() - t0, time.process_time() - c0)
    return 0
