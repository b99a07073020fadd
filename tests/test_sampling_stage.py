"""The `sample` stage end to end with the hf engine on a tiny model: outputs, determinism, resume, errors."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from rlvr_limits import tables
from rlvr_limits.cli import main
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_parquet
from rlvr_limits.sampling.requests import Sampling, sample_seed
from rlvr_limits.sampling.stage import Prompt, _fingerprint, parse_draw, parse_settings
from rlvr_limits.sampling.store import Block, plan_blocks
from rlvr_limits.sampling.templates import load_template
from tiny_model import build_tiny_model, write_sample_inputs

TOY = Path(__file__).resolve().parents[1] / "resources" / "prompts" / "toy.yaml"
QUESTIONS = ["12+34?", "56+78?", "11+22+33?", "90+10?", "45+54+19?", "70+21?", "13+31?", "88+11+25?"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("stage")
    _, record, problems = write_sample_inputs(root, QUESTIONS, vocab=b"0123456789+=;?")
    return {"root": root, "model": record, "problems": problems}


DRAW_KEYS = {"model", "dataset", "engine", "max_tokens", "temperature", "top_p", "top_k", "seed", "dtype",
             "tensor_parallel", "batch_invariant", "threads", "template_sha256", "source", "behaviour"}


def draw(**overrides: object) -> dict:
    base = {"model": "tiny", "dataset": "toy", "engine": "hf", "max_tokens": 24, "temperature": 1.0, "top_p": 1.0,
            "top_k": -1, "seed": 3}
    return {**base, **{k: v for k, v in overrides.items() if k in DRAW_KEYS}}


def settings(**overrides: object) -> dict:
    return {"max_model_len": 64, **{k: v for k, v in overrides.items() if k not in DRAW_KEYS}}


def argv(setup: dict[str, Path], run: str, block: str = "p0-7_s0-7", **overrides: object) -> list[str]:
    out = setup["root"] / run
    return ["sample", "--problems", str(setup["problems"]), "--model", str(setup["model"]), "--template",
            str(TOY), "--draw", json.dumps(draw(**overrides)), "--settings", json.dumps(settings(**overrides)),
            "--block", block, "--out", str(out / f"{block}.parquet"),
            "--journal", str(out / "journal" / f"{block}.jsonl")]


def test_a_block_table_and_its_sidecar(setup: dict[str, Path]) -> None:
    assert main(argv(setup, "basic", block="p2-5_s4-7")) == 0
    out = setup["root"] / "basic" / "p2-5_s4-7.parquet"
    df = read_parquet(out, required=tables.SAMPLE_COLUMNS)
    assert df.schema == pl.Schema(tables.SAMPLE_COLUMNS)
    assert df.select("problem_id", "sample_idx").rows() == [(f"q{p:02d}", s) for p in range(2, 6) for s in range(4, 8)]
    assert df["seed"].to_list() == [sample_seed(3, "tiny", "toy", pid, s) for pid, s in df.select(
        "problem_id", "sample_idx").rows()]
    assert set(df["finish_reason"]) <= {"stop", "length"} and df["entropy"].is_between(0, math.log(20)).all()
    assert (df["n_tokens"] <= 24).all() and (df["prompt_tokens"] == [len(QUESTIONS[int(p[1:])]) for p in
                                                                    df["problem_id"]]).all()
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["engine"]["engine"] == "hf" and side["engine"]["dtype"] == "float32"
    assert side["sampling"]["temperature"] == 1.0 and side["sampling"]["top_k"] == -1
    assert side["sampling"]["max_tokens"] == 24 and side["sampling"]["stop_token_ids"] == [1]
    assert sum(side["finish_reasons"].values()) == 16 and side["samples_drawn"] == 16
    assert "sha256" in side["seed_scheme"] and side["wall_s"] > 0
    assert side["block"]["name"] == "p2-5_s4-7" and side["draw"]["identity"] == draw()
    assert side["settings"]["max_model_len"] == 64
    assert not (setup["root"] / "basic" / "journal" / "p2-5_s4-7.jsonl").exists()


def test_same_draw_twice_gives_the_same_block(setup: dict[str, Path]) -> None:
    assert main(argv(setup, "twice-a")) == 0
    assert main(argv(setup, "twice-b", max_model_len=80)) == 0  # a setting, not part of the draw
    a = read_parquet(setup["root"] / "twice-a" / "p0-7_s0-7.parquet")
    assert a.equals(read_parquet(setup["root"] / "twice-b" / "p0-7_s0-7.parquet"))
    assert a["text"].n_unique() > 20


def test_other_blocks_give_the_same_samples(setup: dict[str, Path]) -> None:
    assert main(argv(setup, "whole", temperature=0.9, top_p=0.95)) == 0
    whole = read_parquet(setup["root"] / "whole" / "p0-7_s0-7.parquet")
    parts = []
    for block in plan_blocks([(8, 8)], [], 3, 5).new:
        assert main(argv(setup, "parts", block=block.name, temperature=0.9, top_p=0.95)) == 0
        parts.append(read_parquet(setup["root"] / "parts" / f"{block.name}.parquet"))
    parts_df = pl.concat(parts).sort("problem_id", "sample_idx")
    exact = ["problem_id", "sample_idx", "seed", "text", "n_tokens", "finish_reason"]
    assert parts_df.select(exact).equals(whole.select(exact))
    assert (parts_df["entropy"] - whole["entropy"]).abs().max() < 1e-6


def test_resume_after_the_job_is_killed(setup: dict[str, Path]) -> None:
    args = argv(setup, "killed", block="p0-7_s0-47", max_tokens=48, batch_rows=8)
    journal = Path(args[args.index("--journal") + 1])
    proc = subprocess.Popen([sys.executable, "-m", "rlvr_limits", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.exists() and journal.read_text().count("\n") > 40:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the job finished before it could be killed"
    journalled = [json.loads(line) for line in journal.read_text().splitlines()[1:] if line.endswith("}")]
    assert 40 <= len(journalled) < 8 * 48

    assert main(args) == 0
    out = Path(args[args.index("--out") + 1])
    resumed = read_parquet(out)
    side = json.loads(out.with_suffix(".json").read_text())
    assert resumed.height == 8 * 48 and side["samples_from_journal"] >= len(journalled) - 1
    assert side["samples_drawn"] == 8 * 48 - side["samples_from_journal"]
    rows = {(r["problem_id"], r["sample_idx"]): r for r in resumed.iter_rows(named=True)}
    for record in journalled[:-1]:  # the last line may have been torn by the kill
        assert rows[(record["problem_id"], record["sample_idx"])] == record
    assert not journal.exists()

    assert main(argv(setup, "unkilled", block="p0-7_s0-47", max_tokens=48)) == 0
    fresh = read_parquet(setup["root"] / "unkilled" / "p0-7_s0-47.parquet")
    exact = ["problem_id", "sample_idx", "seed", "text", "n_tokens", "finish_reason"]
    assert resumed.select(exact).equals(fresh.select(exact))


def test_a_prompt_too_long_is_named_before_sampling(setup: dict[str, Path],
                                                    capsys: pytest.CaptureFixture) -> None:
    assert main(argv(setup, "long", max_model_len=30, max_tokens=24)) == 2
    err = capsys.readouterr().err
    assert "problem q02: prompt of 9 tokens + max_tokens 24 = 33 exceeds max_model_len 30" in err
    assert not (setup["root"] / "long" / "p0-7_s0-7.parquet").exists()


def test_bad_inputs_exit_with_a_named_error(setup: dict[str, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    no_path = tmp_path / "m.json"
    no_path.write_text(json.dumps({"name": "tiny"}))
    args = argv(setup, "bad")
    args[args.index("--model") + 1] = str(no_path)
    assert main(args) == 2 and "model record has no 'path'" in capsys.readouterr().err

    dupes = tmp_path / "dupes.parquet"
    pl.read_parquet(setup["problems"]).with_columns(pl.lit("same").alias("problem_id")).write_parquet(dupes)
    args = argv(setup, "bad")
    args[args.index("--problems") + 1] = str(dupes)
    assert main(args) == 2 and "problem_id must be unique" in capsys.readouterr().err

    assert main(argv(setup, "bad", block="p4-8_s0-0")) == 2
    assert "--block p4-8_s0-0: " in (err := capsys.readouterr().err) and "has only 8 problems (0..7)" in err
    assert main(argv(setup, "bad", block="p4-3_s0-0")) == 2
    assert "a range ends before it starts" in capsys.readouterr().err
    assert main(argv(setup, "bad", template_sha256="0" * 64)) == 2
    assert "is not the draw's template" in capsys.readouterr().err

    args = argv(setup, "bad")
    args[args.index("--template") + 1] = str(TOY.with_name("easyr1-vl.yaml"))
    assert main(args) == 2 and "missing columns ['image']" in capsys.readouterr().err

    try:
        import vllm  # noqa: F401
    except ImportError:
        assert main(argv(setup, "bad", engine="vllm")) == 2
        assert "install the vllm extra" in capsys.readouterr().err


@pytest.mark.parametrize("change,match", [
    ("not json", "invalid JSON"),
    ({"drop": "seed"}, "'seed' is missing"),
    ({"top_k": 0}, "'top_k' must be -1"),
    ({"top_p": 0}, r"'top_p' must be in \(0, 1\]"),
    ({"temperature": "hot"}, "'temperature' must be int or float"),
    ({"engine": "tgi"}, "'engine' must be"),
    ({"max_tokens": True}, "'max_tokens' must be int"),
    ({"tensor_parallel": 0}, "'tensor_parallel' must be >= 1"),
    ({"dtype": "int8"}, "'dtype' must be one of"),
    ({"temprature": 1.0}, r"unknown keys \['temprature'\]"),
    ({"batch_invariant": "yes"}, "'batch_invariant' must be bool"),
])
def test_draw_mistakes_name_the_key(change: object, match: str) -> None:
    if isinstance(change, str):
        text = change
    else:
        raw = {**draw(), **{k: v for k, v in change.items() if k != "drop"}}
        raw.pop(change.get("drop", "__none__"), None)
        text = json.dumps(raw)
    with pytest.raises(UserError, match=f"--draw: .*{match}"):
        parse_draw(text)


def test_draw_and_settings_defaults() -> None:
    parsed = parse_draw(json.dumps(draw()))
    assert (parsed.tensor_parallel, parsed.dtype, parsed.threads, parsed.batch_invariant) == (1, "auto", 1, False)
    assert isinstance(parsed.temperature, float)
    engine = parse_settings(json.dumps(settings()))
    assert (engine.max_model_len, engine.gpu_memory_utilization, engine.batch_rows, engine.chunk) == (64, 0.9, 1024,
                                                                                                        4096)
    assert parse_settings(json.dumps(settings(gpu_memory_utilization=0.1))).gpu_memory_utilization == 0.1
    for bad, match in (({"gpu_memory_utilization": 0}, "must be in"), ({"gpu_memory_utilization": 1.5}, "must be in"),
                       ({"max_model_len": 0}, "must be >= 1"), ({"chunk": "big"}, "must be int")):
        with pytest.raises(UserError, match=f"--settings: key '{next(iter(bad))}' {match}"):
            parse_settings(json.dumps(settings(**bad)))
    with pytest.raises(UserError, match="--settings: key 'max_model_len' is missing"):
        parse_settings("{}")


def test_both_engines_stop_at_the_eos_ids_of_generation_config(tmp_path: Path) -> None:
    """vLLM merges generation_config.json's eos ids into the stop tokens; the hf engine is sent the same ones."""
    model = build_tiny_model(tmp_path / "model", vocab=b"0123456789+=;?", generation_eos=("1",))
    record = tmp_path / "tiny.json"
    record.write_text(json.dumps({"name": "tiny", "source": "local", "path": str(model)}))
    problems = tmp_path / "toy.parquet"
    pl.DataFrame({"problem_id": ["q0", "q1"], "question": QUESTIONS[:2], "answer": ["0", "0"],
                  "answer_type": ["integer"] * 2, "meta": ["{}"] * 2}).write_parquet(problems)
    out = tmp_path / "out" / "p0-1_s0-15.parquet"
    assert main(["sample", "--problems", str(problems), "--model", str(record), "--template", str(TOY),
                 "--draw", json.dumps(draw()), "--settings", json.dumps(settings()), "--block", "p0-1_s0-15",
                 "--out", str(out), "--journal", str(tmp_path / "journal.jsonl")]) == 0
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    one = tokenizer.convert_tokens_to_ids("1")
    side = json.loads(out.with_suffix(".json").read_text())
    assert one in side["sampling"]["stop_token_ids"]
    assert tokenizer.eos_token_id in side["sampling"]["stop_token_ids"]
    texts = read_parquet(out)
    stopped = texts.filter(pl.col("finish_reason") == "stop")
    assert stopped.height > 0
    assert all("1" not in text for text in texts["text"])  # a "1" ends the sample (and is not in its text)


def test_the_sidecar_says_whether_batchings_were_mixed(setup: dict[str, Path]) -> None:
    args = argv(setup, "mixed", block="p0-7_s0-3")
    assert main(args) == 0
    side = json.loads((setup["root"] / "mixed" / "p0-7_s0-3.json").read_text())
    assert side["batch_invariant"] is True and side["engine"]["batch_invariant"] is True
    assert side["mixed_batchings"] is False


def test_the_journal_fingerprint_covers_results_not_speed(setup: dict[str, Path]) -> None:
    template = load_template(TOY)
    prompts = [Prompt("q00", (5, 6), "12", (), 2)]
    block = Block(0, 1, 0, 8)
    sampling = Sampling(max_tokens=24, stop_token_ids=(1,))

    def fingerprint(**overrides: object) -> str:
        return _fingerprint(parse_draw(json.dumps(draw(**overrides))), str(setup["model"]), template, prompts,
                            block, sampling)

    assert len({fingerprint(), fingerprint(temperature=0.7), fingerprint(seed=4), fingerprint(max_tokens=9),
                fingerprint(threads=2), fingerprint(batch_invariant=True)}) == 6
    other = _fingerprint(parse_draw(json.dumps(draw())), str(setup["model"]), template,
                         [Prompt("q00", (5, 7), "13", (), 2)], block, sampling)
    assert other != fingerprint()
    assert fingerprint() != _fingerprint(parse_draw(json.dumps(draw())), str(setup["model"]), template, prompts,
                                         Block(0, 1, 8, 16), sampling)
