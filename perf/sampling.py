"""Sampling throughput of the hf engine and of vLLM's CPU build on the miniature, in one run, as a ratio.

Same model (the demo's trained `toy_base` if results/toy/models/base exists, else a freshly initialised model of
the same architecture), same requests (the demo's held-out problems, each sampled `--samples` times with the demo's
settings: T=1.0, top-p 1, 120 tokens, stop at eos), same machine. Model loading is timed apart from sampling;
samples/s counts sampling only. The hf engine runs as the demo runs it (one torch thread, batch_rows 1024); vLLM
with its CPU defaults (it pins its worker to the cores it is given).

Usage: nice python perf/sampling.py [--samples 32] [--model results/toy/models/base] [--json F]
Needs vLLM's CPU build beside the project (README: vLLM on a CPU).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rlvr_limits.sampling.requests import Request, Sampling, sample_seed
from rlvr_limits.toy import model as toy_model
from rlvr_limits.toy import tokenizer as toy_tokenizer
from rlvr_limits.toy.task import test_problems

ROOT = Path(__file__).resolve().parent.parent
#: vLLM's CPU build keeps this share of host RAM for the KV cache.
MEMORY_SHARE = 0.1


def model_dir(path: Path, scratch: Path) -> Path:
    """The trained miniature base model, or an untrained one of the same size when the demo has not run."""
    if (path / "config.json").is_file():
        return path
    tokenizer = toy_tokenizer.build()
    toy_model.save(toy_model.init(toy_model.Size(), tokenizer, seed=0), tokenizer, scratch / "model")
    return scratch / "model"


def requests(tokenizer, samples: int) -> list[Request]:
    sampling = Sampling(max_tokens=120, temperature=1.0, top_p=1.0, stop_token_ids=(tokenizer.eos_token_id,))
    problems = test_problems(1234, [2, 3, 4, 5], 25)
    return [Request(p.question, i, sample_seed(1234, "toy_base", "toy_arith", p.question, i),
                    tuple(tokenizer(p.question).input_ids), sampling) for p in problems for i in range(samples)]


def timed(engine, sent: list[Request]) -> tuple[float, int]:
    start = time.perf_counter()
    tokens = sum(len(c.token_ids) for c in engine.generate(sent))
    return time.perf_counter() - start, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=32, help="samples per problem (100 problems)")
    parser.add_argument("--model", type=Path, default=ROOT / "results" / "toy" / "models" / "base")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    from transformers import AutoTokenizer

    from rlvr_limits.sampling.hf import HFEngine
    from rlvr_limits.sampling.vllm_engine import VllmEngine, llm_kwargs

    with tempfile.TemporaryDirectory() as scratch:
        path = model_dir(args.model, Path(scratch))
        tokenizer = AutoTokenizer.from_pretrained(path)
        sent = requests(tokenizer, args.samples)
        results = {}
        for name in ("hf", "vllm"):
            start = time.perf_counter()
            if name == "hf":
                engine = HFEngine.from_pretrained(path, tokenizer=tokenizer, dtype="float32", threads=1)
            else:
                engine = VllmEngine(llm_kwargs(str(path), seed=0, tensor_parallel=1, max_model_len=160,
                                               dtype="float32", gpu_memory_utilization=MEMORY_SHARE), tokenizer)
            load = time.perf_counter() - start
            seconds, tokens = timed(engine, sent)
            results[name] = {"load_s": round(load, 1), "sample_s": round(seconds, 2), "samples": len(sent),
                             "tokens": tokens, "samples_per_s": round(len(sent) / seconds, 1),
                             "tokens_per_s": round(tokens / seconds, 1)}
            print(f"{name:5s} load {load:6.1f} s  sampling {seconds:7.2f} s  {len(sent) / seconds:8.1f} samples/s  "
                  f"{tokens / seconds:9.1f} tokens/s  ({len(sent)} samples, {tokens} tokens)", flush=True)
            del engine
    ratio = results["vllm"]["samples_per_s"] / results["hf"]["samples_per_s"]
    print(f"model: {path if path == args.model else 'untrained, toy size'}; vLLM CPU / hf samples/s = {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps({**results, "ratio_vllm_over_hf": round(ratio, 3)}, indent=2))


if __name__ == "__main__":
    main()
