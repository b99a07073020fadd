"""The miniature's training stages on a reduced setting: models load like hub models and sample through the
`hf` engine, the reward is the math verifier, RL updates change the weights, and the same seed gives the same
bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest
import torch

from rlvr_limits.cli import main
from rlvr_limits.errors import UserError
from rlvr_limits.sampling.hf import HFEngine
from rlvr_limits.sampling.requests import Request, Sampling
from rlvr_limits.toy import model as toy_model
from rlvr_limits.toy import rl, train
from rlvr_limits.toy.reward import reward

TINY = ["--d-model", "32", "--layers", "1", "--heads", "1", "--kv-heads", "1", "--mlp", "64"]


def digest(folder: Path) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data, tokenizer and a base model trained for a few steps, in a reduced setting."""
    root = tmp_path_factory.mktemp("toy")
    assert main(["toy-data", "--out", str(root / "data"), "--seed", "5", "--test-per-m", "2",
                 "--pretrain-examples", "400", "--distill-examples", "100", "--rl-examples", "20"]) == 0
    assert main(["toy-tokenizer", "--out", str(root / "tokenizer")]) == 0
    assert pretrain(root, "base") == 0
    return root


def pretrain(root: Path, name: str) -> int:
    return main(["toy-pretrain", "--data", str(root / "data" / "pretrain.parquet"), "--tokenizer",
                 str(root / "tokenizer"), "--out", str(root / name), "--metrics", str(root / f"{name}.parquet"),
                 "--seed", "5", "--steps", "4", "--batch", "8", "--warmup", "2", "--curriculum-steps", "0", *TINY])


def test_reward_is_the_math_verifier() -> None:
    assert reward("23+58=81;\\boxed{81}", "81") == 1.0
    assert reward("23+58=80;\\boxed{80}", "81") == 0.0
    assert reward("23+58=", "81") == 0.0


def test_pretraining_is_bit_identical_for_a_seed(world: Path) -> None:
    assert pretrain(world, "again") == 0
    assert digest(world / "again") == digest(world / "base")
    metrics = pl.read_parquet(world / "base.parquet")
    assert metrics["step"].to_list() == [1, 2, 3, 4] and metrics["loss"].is_finite().all()
    assert {"loss", "entropy", "lr", "m"} <= set(metrics.columns)


def test_curriculum_longer_than_training_is_refused(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["toy-pretrain", "--data", str(world / "data" / "pretrain.parquet"), "--tokenizer",
                 str(world / "tokenizer"), "--out", str(world / "x"), "--metrics", str(world / "x.parquet"),
                 "--steps", "4", "--curriculum-steps", "5", *TINY]) == 2
    assert "--curriculum-steps must lie in 0..4" in capsys.readouterr().err


def test_saved_model_samples_through_the_engine(world: Path) -> None:
    engine = HFEngine.from_pretrained(world / "base")
    config = engine.model.config
    assert config.model_type == "qwen2" and config.head_dim == config.hidden_size // config.num_attention_heads
    ids = tuple(engine.tokenizer("12+34?").input_ids)
    sampling = Sampling(max_tokens=12, stop_token_ids=(engine.tokenizer.eos_token_id,))
    requests = [Request("p", i, 100 + i, ids, sampling) for i in range(4)]
    first = sorted(engine.generate(requests), key=lambda c: c.sample_idx)
    again = sorted(HFEngine.from_pretrained(world / "base").generate(requests), key=lambda c: c.sample_idx)
    assert [c.token_ids for c in first] == [c.token_ids for c in again]
    assert all(0 < len(c.token_ids) <= 12 for c in first)
    model, _ = toy_model.load(world / "base")
    for a, b in zip(model.state_dict().values(), engine.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def run_rl(world: Path, name: str) -> int:
    return main(["toy-rl", "--base", str(world / "base"), "--data", str(world / "data" / "rl.parquet"),
                 "--out", str(world / name), "--metrics", str(world / f"{name}.parquet"), "--seed", "5",
                 "--steps", "2", "--prompts", "2", "--group", "4", "--max-tokens", "16", "--checkpoints", "1",
                 "--checkpoint-dir", str(world / f"{name}_steps")])


def test_two_rl_steps_change_the_weights_reproducibly(world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A random model never boxes the right sum; reward even-length responses so every group has variance.
    monkeypatch.setattr(rl, "reward", lambda text, gold: float(len(text) % 2 == 0))
    assert run_rl(world, "rl") == 0
    metrics = pl.read_parquet(world / "rl.parquet")
    assert metrics["step"].to_list() == [1, 2] and (metrics["learning_fraction"] > 0).all()
    assert digest(world / "rl") != digest(world / "rl_steps" / "rl_step1") != digest(world / "base")
    assert run_rl(world, "rl_again") == 0
    assert digest(world / "rl_again") == digest(world / "rl")


def test_update_follows_the_advantage(world: Path) -> None:
    """A positive advantage makes a response likelier relative to one with a negative advantage (the two share the
    prompt's echo `12+34=`, so only their relative log-probability is determined by the update)."""
    model, tok = toy_model.load(world / "base")
    prompt = tok("12+34?").input_ids
    good, bad = tok("12+34=46;").input_ids, tok("12+34=99;").input_ids
    batch = [rl.Rollout(prompt, good, 1.0, 1.0, 2, 0.0), rl.Rollout(prompt, bad, 0.0, -1.0, 2, 0.0)]

    def logp(ids: list[int]) -> float:
        with torch.no_grad():
            out = model(input_ids=torch.tensor([prompt + ids])).logits[0, len(prompt) - 1:-1].log_softmax(-1)
        return float(out.gather(1, torch.tensor(ids)[:, None]).sum())

    before = logp(good), logp(bad)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    stats = rl.update(model, None, optimizer, batch, rl.Settings(updates=2), tok.pad_token_id)
    assert logp(good) - logp(bad) > before[0] - before[1]
    assert logp(bad) < before[1]
    assert set(stats) == {"loss", "clip_frac"}


def test_distillation_trains_on_the_teachers_traces(world: Path) -> None:
    assert main(["toy-distill", "--base", str(world / "base"), "--data", str(world / "data" / "distill.parquet"),
                 "--out", str(world / "distill"), "--metrics", str(world / "distill.parquet"), "--seed", "5",
                 "--steps", "3", "--batch", "8"]) == 0
    assert digest(world / "distill") != digest(world / "base")
    assert pl.read_parquet(world / "distill.parquet").height == 3


@pytest.mark.parametrize(("extra", "message"), [
    (["--checkpoints", "3"], "1..2"),
    (["--checkpoints", "x"], "comma-separated"),
    (["--group", "1"], "group at least 2"),
    (["--clip", "1.5"], "--clip"),
])
def test_rl_refuses_bad_settings(world: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
                                 message: str) -> None:
    args = ["toy-rl", "--base", str(world / "base"), "--data", str(world / "data" / "rl.parquet"), "--out",
            str(world / "bad"), "--metrics", str(world / "bad.parquet"), "--steps", "2",
            "--checkpoint-dir", str(world / "bad_steps"), *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_missing_inputs_are_user_errors(world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--out", str(tmp_path / "o"), "--metrics", str(tmp_path / "m.parquet")]
    assert main(["toy-distill", "--base", str(tmp_path / "none"), "--data",
                 str(world / "data" / "distill.parquet"), *args]) == 2
    assert "not a saved toy model" in capsys.readouterr().err
    assert main(["toy-distill", "--base", str(world / "base"), "--data", str(tmp_path / "none.parquet"), *args]) == 2
    assert "file not found" in capsys.readouterr().err


def test_batches_hold_one_operand_count_and_respect_the_curriculum() -> None:
    ms = [2] * 40 + [3] * 40 + [5] * 40
    short = train.single_m_batches(ms, 8, seed=0, max_m=3)
    seen = [{ms[i] for i in next(short)} for _ in range(30)]
    assert all(len(s) == 1 for s in seen) and set().union(*seen) == {2, 3}
    full = train.single_m_batches(ms, 8, seed=0)
    assert set().union(*({ms[i] for i in next(full)} for _ in range(30))) == {2, 3, 5}
    with pytest.raises(UserError, match="corpus too small"):
        next(train.single_m_batches([2] * 5, 8, seed=0))
