"""vLLM for real (its CPU build here): every parameter we send is accepted, and on the same tiny model the vLLM and
hf engines agree, in log-probabilities to 1e-3 in float32 and in pass@k within the paired 95% interval. One vLLM
engine is loaded for the whole module (a load takes most of a minute on two cores)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from transformers import AutoTokenizer

from rlvr_limits.analysis.bootstrap import percentile_bounds, resample_weights, resampled_means
from rlvr_limits.analysis.passk import pass_at_k_matrix
from rlvr_limits.sampling.engine import generation_eos_ids
from rlvr_limits.sampling.requests import Request, Sampling, sample_seed
from rlvr_limits.sampling.vllm_engine import llm_kwargs, sampling_kwargs, score_kwargs
from tiny_model import build_tiny_model

pytestmark = pytest.mark.vllm

MAX_MODEL_LEN = 96
#: vLLM's CPU build reserves this share of host RAM for the KV cache (about 1 GiB on 24 GiB).
MEMORY_SHARE = 0.05
VOCAB = b"0123456789+=;?"
PROBLEMS = [f"{a}+{b}?" for a, b in ((12, 34), (5, 7), (61, 8), (3, 3), (40, 44), (9, 90), (25, 25), (7, 1),
                                     (18, 2), (33, 66), (70, 7), (4, 56), (11, 11), (80, 19), (6, 60), (2, 9))]
SAMPLES = 32
KS = [1, 4, 16]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hidden 64 over 2 heads: 32-wide heads, a width vLLM's CPU attention takes, so both engines run one network.
    generation_config.json lists ';' as a second eos, as chat models list their end-of-turn token."""
    return build_tiny_model(tmp_path_factory.mktemp("vllm") / "model", vocab=VOCAB, hidden=64, heads=2,
                            kv_heads=1, intermediate=128, generation_eos=(";",))


@pytest.fixture(scope="module")
def tokenizer(model_dir: Path):
    return AutoTokenizer.from_pretrained(model_dir)


@pytest.fixture(scope="module")
def vllm(model_dir: Path, tokenizer):
    from rlvr_limits.sampling.vllm_engine import VllmEngine

    kwargs = llm_kwargs(str(model_dir), seed=0, tensor_parallel=1, max_model_len=MAX_MODEL_LEN, dtype="float32",
                        gpu_memory_utilization=MEMORY_SHARE)
    return VllmEngine(kwargs, tokenizer, chunk=256)


@pytest.fixture(scope="module")
def hf(model_dir: Path, tokenizer):
    from rlvr_limits.sampling.hf import HFEngine

    return HFEngine.from_pretrained(model_dir, tokenizer=tokenizer, dtype="float32", threads=None)


def requests(tokenizer, model_dir: Path, n: int = SAMPLES, **sampling: object) -> list[Request]:
    """What the sample stage sends: the tokenizer's eos plus generation_config's eos ids stop a sample."""
    stops = tuple(dict.fromkeys((tokenizer.eos_token_id, *generation_eos_ids(model_dir))))
    settings = Sampling(**{"max_tokens": 24, "temperature": 1.0, "top_p": 0.95, "stop_token_ids": stops,
                           **sampling})
    return [Request(f"q{p}", i, sample_seed(5, "tiny", "sums", f"q{p}", i), tuple(tokenizer.encode(question)),
                    settings) for p, question in enumerate(PROBLEMS) for i in range(n)]


@pytest.fixture(scope="module")
def sent(tokenizer, model_dir: Path) -> list[Request]:
    return requests(tokenizer, model_dir)


@pytest.fixture(scope="module")
def drawn(vllm, hf, sent: list[Request]) -> dict[str, dict]:
    """Engine name -> {(problem_id, sample_idx): Completion}, for the same requests."""
    return {name: {c.key: c for c in engine.generate(sent)} for name, engine in (("vllm", vllm), ("hf", hf))}


def test_every_parameter_we_send_is_accepted(tokenizer, model_dir: Path) -> None:
    import vllm

    for request in requests(tokenizer, model_dir, n=1)[:2]:
        params = vllm.SamplingParams(**sampling_kwargs(request))
        assert (params.top_k, params.max_tokens, params.seed) == (0, 24, request.seed)
    assert vllm.SamplingParams(**score_kwargs()).prompt_logprobs == 0


def test_log_probabilities_agree_with_hf_in_float32(vllm, hf, sent: list[Request], drawn: dict[str, dict]) -> None:
    pairs = [(list(r.prompt_ids), list(drawn["vllm"][r.key].token_ids)) for r in sent[::3]]
    ours, reference = vllm.score_batch(pairs), hf.score_batch(pairs)
    gap = max(abs(a - b) for x, y in zip(ours, reference, strict=True) for a, b in zip(x, y, strict=True))
    assert gap < 1e-3, f"largest log-prob difference {gap:.2e}"
    print(f"log-prob parity: {sum(len(r) for _, r in pairs)} tokens, max |vLLM - hf| = {gap:.2e}")


def test_prompt_logprobs_are_raw_whatever_the_sampling_settings(vllm) -> None:
    """vLLM's logprobs_mode shapes sampled-token logprobs only; prompt logprobs come from the raw logits."""
    import vllm as v

    sequence = {"prompt_token_ids": [5 + i % len(VOCAB) for i in range(40)]}
    raw, tempered = (vllm.llm.generate([sequence], v.SamplingParams(**{**score_kwargs(), **extra}), use_tqdm=False)
                     for extra in ({}, {"temperature": 0.3, "top_k": 2, "top_p": 0.5}))
    values = [[next(iter(e.values())).logprob for e in out.prompt_logprobs[1:]] for out in (raw[0], tempered[0])]
    assert values[0] == pytest.approx(values[1], abs=1e-6)


def test_both_engines_stop_at_generation_configs_eos_and_keep_it_out_of_the_text(drawn, tokenizer) -> None:
    semicolon = tokenizer.convert_tokens_to_ids(";")
    for name, completions in drawn.items():
        stopped = [c for c in completions.values() if c.finish_reason == "stop"]
        assert len(stopped) > len(completions) / 4, name
        for c in completions.values():
            assert semicolon not in c.token_ids[:-1] and ";" not in c.text, (name, c)
        assert all(c.token_ids[-1] in (semicolon, tokenizer.eos_token_id) for c in stopped), name


def test_pass_at_k_agrees_between_engines(drawn: dict[str, dict]) -> None:
    """A problem's answer here is its own digit (problem p is solved by a sample containing p mod 10), so the
    engines' pass@k differ only by sampling noise; their paired difference must have an interval holding zero."""
    curves = {}
    for name, completions in drawn.items():
        correct = np.array([sum(str(p % 10) in completions[(f"q{p}", i)].text for i in range(SAMPLES))
                            for p in range(len(PROBLEMS))])
        curves[name] = pass_at_k_matrix(np.full(len(PROBLEMS), SAMPLES), correct, KS)
    weights = resample_weights(len(PROBLEMS), 2000, seed=11)
    low, high = percentile_bounds(resampled_means(curves["vllm"] - curves["hf"], weights), 0.95)
    for j, k in enumerate(KS):
        means = {name: float(curve[:, j].mean()) for name, curve in curves.items()}
        print(f"pass@{k}: vLLM {means['vllm']:.3f}, hf {means['hf']:.3f}, paired difference interval "
              f"[{low[j]:+.3f}, {high[j]:+.3f}]")
        assert low[j] <= 0 <= high[j], (k, means)
    assert 0.05 < curves["hf"][:, 0].mean() < 0.95  # the comparison is not decided by a floor or a ceiling


def test_a_scored_sequence_must_leave_room_for_the_prefills_token(vllm) -> None:
    """vLLM refuses a prompt of max_model_len tokens; the engine says why before sending one, and one token
    fewer (the perplexity stage's cut) is scored."""
    import vllm as v

    full = [5 + i % len(VOCAB) for i in range(MAX_MODEL_LEN)]
    with pytest.raises(Exception, match=r"(?i)length|long|max_model_len|context"):
        vllm.llm.generate([{"prompt_token_ids": full}], v.SamplingParams(**score_kwargs()), use_tqdm=False)
    with pytest.raises(ValueError, match="leaves no room for the one token a prefill generates"):
        vllm.score_batch([(full[:4], full[4:])])
    assert len(vllm.score_batch([(full[:4], full[4:-1])])[0]) == MAX_MODEL_LEN - 5


def test_closing_stops_the_engine_and_waits_for_its_output_thread(model_dir: Path, tokenizer) -> None:
    """A job exits right after writing its outputs; vLLM's output thread, a daemon, must be gone by then, or
    interpreter shutdown can stop it while it frees a tensor and abort the finished job (SIGABRT)."""
    from rlvr_limits.sampling.vllm_engine import VllmEngine

    kwargs = llm_kwargs(str(model_dir), seed=0, tensor_parallel=1, max_model_len=MAX_MODEL_LEN, dtype="float32",
                        gpu_memory_utilization=MEMORY_SHARE)
    engine = VllmEngine(kwargs, tokenizer, chunk=256)
    assert len(list(engine.generate(requests(tokenizer, model_dir, n=2)))) == 2 * len(PROBLEMS)
    thread = engine.llm.llm_engine.engine_core.output_queue_thread
    assert thread.is_alive()
    engine.close()
    assert not thread.is_alive()
    engine.close()  # a second close is harmless
