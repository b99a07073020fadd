"""The sampler math and the transformers engine on a tiny real model."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from rlvr_limits.sampling.hf import HFEngine
from rlvr_limits.sampling.requests import Request, Sampling, sample_seed
from rlvr_limits.sampling.sampler import RowParams, gumbel_noise, mix64, sample_step
from tiny_model import build_tiny_model

MASK = (1 << 64) - 1


def splitmix64_finalizer(z: int) -> int:
    """The published splitmix64 output function on unsigned 64-bit integers."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def params(n: int, temperature: float = 1.0, top_p: float = 1.0, top_k: int = -1, first_seed: int = 0,
           ) -> RowParams:
    return RowParams(seeds=torch.tensor([sample_seed(first_seed, "m", "b", "p", i) for i in range(n)]),
                     temperature=torch.full((n,), temperature), top_p=torch.full((n,), top_p),
                     top_k=torch.full((n,), top_k))


def test_mix64_matches_the_unsigned_reference() -> None:
    values = [0, 1, 2**63 - 1, -(2**63), -1, 0x0123456789ABCDEF, -0x0123456789ABCDEF, 987654321987654321]
    got = mix64(torch.tensor(values, dtype=torch.int64)).tolist()
    assert [g & MASK for g in got] == [splitmix64_finalizer(v & MASK) for v in values]


def test_gumbel_noise_is_a_pure_function_with_the_right_mean() -> None:
    seeds = torch.tensor([sample_seed(0, "m", "b", "p", i) for i in range(64)])
    tokens = torch.arange(500).expand(64, 500)
    noise = gumbel_noise(seeds, 3, tokens)
    assert torch.equal(noise[5:6], gumbel_noise(seeds[5:6], 3, tokens[5:6]))
    assert abs(float(noise.mean()) - 0.5772) < 0.02  # Euler–Mascheroni constant
    assert not torch.equal(noise, gumbel_noise(seeds, 4, tokens))


def test_frequencies_follow_the_tempered_distribution() -> None:
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0]).expand(20000, 4)
    tokens, entropy = sample_step(logits, params(20000, temperature=0.7), step=0)
    expected = torch.softmax(logits[0] / 0.7, -1)
    observed = torch.bincount(tokens, minlength=4).double() / 20000
    assert torch.allclose(observed, expected.double(), atol=0.012)
    assert torch.allclose(entropy[0], -(expected * expected.log()).sum())


def test_top_p_and_top_k_follow_vllms_rules() -> None:
    logits = torch.tensor([0.5, 0.3, 0.15, 0.05]).log().expand(4000, 4)
    kept_08, _ = sample_step(logits, params(4000, top_p=0.8), 0)
    kept_081, _ = sample_step(logits, params(4000, top_p=0.81), 0)
    kept_k2, _ = sample_step(logits, params(4000, top_k=2), 0)
    assert set(kept_08.tolist()) == {0, 1}  # mass before token 2 is 0.8 >= top_p: dropped
    assert set(kept_081.tolist()) == {0, 1, 2}
    assert set(kept_k2.tolist()) == {0, 1}
    _, entropy = sample_step(logits[:1], params(1, top_p=0.8), 0)
    p = torch.tensor([0.5, 0.3]) / 0.8
    assert math.isclose(float(entropy[0]), float(-(p * p.log()).sum()), rel_tol=1e-5)


def test_greedy_rows_and_rows_alone_match_rows_in_a_batch() -> None:
    torch.manual_seed(0)
    logits = torch.randn(6, 50)
    mixed = params(6)
    mixed.temperature[2] = 0.0
    mixed.top_p[4] = 0.5
    mixed.top_k[5] = 3
    tokens, entropy = sample_step(logits, mixed, 7)
    assert int(tokens[2]) == int(logits[2].argmax()) and float(entropy[2]) == 0.0
    for i in range(6):
        alone, alone_entropy = sample_step(logits[i:i + 1], mixed.select(torch.tensor([i])), 7)
        assert int(alone[0]) == int(tokens[i])
        assert torch.allclose(alone_entropy[0], entropy[i])


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny"), vocab=b"0123456789+=;?", hidden=32)


@pytest.fixture(scope="module")
def engine(model_dir: Path) -> HFEngine:
    return HFEngine.from_pretrained(model_dir)


def make_requests(engine: HFEngine, prompts: list[str], n: int, **sampling: object) -> list[Request]:
    settings = Sampling(**{"max_tokens": 24, "stop_token_ids": (engine.tokenizer.eos_token_id,), **sampling})
    return [Request(f"p{i}", j, sample_seed(5, "tiny", "b", f"p{i}", j), tuple(engine.tokenizer.encode(q)),
                    settings) for i, q in enumerate(prompts) for j in range(n)]


def by_key(completions) -> dict:
    return {c.key: c for c in completions}


def same_samples(a: dict, b: dict) -> bool:
    """Same tokens, text and finish reason; entropy may differ in the last bits between batch shapes."""
    return a.keys() == b.keys() and all(
        (a[k].token_ids, a[k].text, a[k].finish_reason) == (b[k].token_ids, b[k].text, b[k].finish_reason)
        and math.isclose(a[k].entropy, b[k].entropy, rel_tol=1e-6) for k in a)


def test_generation_is_deterministic_and_batch_invariant(engine: HFEngine) -> None:
    requests = make_requests(engine, ["12+34?", "56+78?", "1+2+3?"], 8)
    first = by_key(engine.generate(requests))
    assert first == by_key(engine.generate(list(reversed(requests))))
    alone = HFEngine(engine.model, engine.tokenizer, batch_rows=1)
    assert same_samples(by_key(alone.generate(requests[::5])), {r.key: first[r.key] for r in requests[::5]})
    reasons = {c.finish_reason for c in first.values()}
    assert reasons <= {"stop", "length"} and len({c.text for c in first.values()}) > 12
    for c in first.values():
        assert c.prompt_tokens == len(engine.tokenizer.encode("12+34?")) or c.problem_id != "p0"
        assert (c.finish_reason == "stop") == (c.token_ids[-1] == engine.tokenizer.eos_token_id)
        assert c.finish_reason == "stop" or len(c.token_ids) == 24


def test_generation_config_of_the_model_is_ignored(engine: HFEngine) -> None:
    # The tiny model's generation_config says top_k=2, temperature 0.05: with explicit top_k=-1 and T=1 the
    # first token must range over far more than two values.
    requests = make_requests(engine, ["7+8?"], 200, max_tokens=1)
    assert len({c.token_ids[0] for c in engine.generate(requests)}) > 5


def test_greedy_ignores_seeds(engine: HFEngine) -> None:
    texts = {c.text for c in engine.generate(make_requests(engine, ["3+4?"], 6, temperature=0.0))}
    assert len(texts) == 1
    assert all(c.entropy == 0.0 for c in engine.generate(make_requests(engine, ["3+4?"], 2, temperature=0.0)))


def test_entropy_is_the_mean_entropy_of_the_sampling_distribution(engine: HFEngine) -> None:
    (completion,) = engine.generate(make_requests(engine, ["9+9?"], 1, temperature=0.8))
    prompt = engine.tokenizer.encode("9+9?")
    ids = torch.tensor([prompt + list(completion.token_ids)])
    with torch.no_grad():
        logits = engine.model(input_ids=ids).logits[0, len(prompt) - 1:-1] / 0.8
    logp = logits.log_softmax(-1)
    expected = float(-(logp.exp() * logp).sum(-1).mean())
    assert math.isclose(completion.entropy, expected, rel_tol=1e-4)


def test_stop_strings_cut_or_keep_the_text(tmp_path: Path) -> None:
    small = HFEngine.from_pretrained(build_tiny_model(tmp_path, vocab=b"ab", seed=3))
    eos = small.tokenizer.eos_token_id
    for include in (False, True):
        settings = Sampling(max_tokens=40, stop=("ab",), stop_token_ids=(eos,), include_stop=include)
        requests = [Request("p", i, sample_seed(0, "m", "b", "p", i), tuple(small.tokenizer.encode("a")),
                            settings) for i in range(30)]
        completions = list(small.generate(requests))
        hits = [c for c in completions if "ab" in small.tokenizer.decode(list(c.token_ids))]
        assert hits, "the two-letter model should produce 'ab' in 40 tokens"
        for c in hits:
            assert c.finish_reason == "stop"
            assert c.text.endswith("ab") if include else "ab" not in c.text
            assert small.tokenizer.decode(list(c.token_ids)).endswith("ab")


def test_score_matches_a_full_forward_pass(engine: HFEngine, model_dir: Path) -> None:
    tok = engine.tokenizer
    pairs = [(tok.encode("12+3?"), tok.encode("15;=")), (tok.encode("1?"), tok.encode("123456789")),
             (tok.encode("99+1?"), [])]
    with torch.no_grad():
        for prompt, response in pairs[:2]:
            logits = engine.model(input_ids=torch.tensor([prompt + response])).logits[0]
            logp = logits[len(prompt) - 1:-1].log_softmax(-1)
            expected = logp.gather(1, torch.tensor(response)[:, None]).squeeze(1).tolist()
            assert engine.score(prompt, response) == pytest.approx(expected, abs=1e-5)
    chunked = HFEngine(AutoModelForCausalLM.from_pretrained(model_dir), AutoTokenizer.from_pretrained(model_dir),
                       head_chunk=2, score_tokens=8)
    batch = chunked.score_batch(pairs)
    assert batch[2] == []
    for (prompt, response), got in zip(pairs[:2], batch, strict=False):
        assert got == pytest.approx(engine.score(prompt, response), abs=1e-5)
    with pytest.raises(ValueError, match="prompt token"):
        engine.score([], [1, 2])
