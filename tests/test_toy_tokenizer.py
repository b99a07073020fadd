"""The miniature's tokenizer: one token per character, `\\boxed{` as one token, loadable as a hub tokenizer."""

from __future__ import annotations

import json

import torch
from transformers import AutoTokenizer

from rlvr_limits.cli import main
from rlvr_limits.toy import model as toy_model
from rlvr_limits.toy import tokenizer as toy_tokenizer

TEXTS = ["23+58+71+36?", "23+58=73+8=81;81+71=152;152+36=188;\\boxed{188}", "9?", "}}};;==??++0123456789"]


def test_round_trip_and_ids() -> None:
    tok = toy_tokenizer.build()
    assert len(tok) == 18 and (tok.pad_token_id, tok.eos_token_id) == (0, 1)
    for text in TEXTS:
        ids = tok(text, add_special_tokens=False).input_ids
        assert tok.decode(ids) == text
    ids = tok("1;\\boxed{1}", add_special_tokens=False).input_ids
    assert tok.convert_ids_to_tokens(ids) == ["1", ";", "\\boxed{", "1", "}"]
    assert tok.decode([*ids, tok.eos_token_id], skip_special_tokens=True) == "1;\\boxed{1}"
    assert tok("1 a\n", add_special_tokens=False).input_ids == [3]  # outside the alphabet: dropped


def test_saved_tokenizer_loads_with_auto_classes(tmp_path) -> None:
    assert main(["toy-tokenizer", "--out", str(tmp_path / "tok")]) == 0
    assert json.loads((tmp_path / "tok" / "tokenizer.json").read_text())["model"]["type"] == "BPE"
    loaded = AutoTokenizer.from_pretrained(tmp_path / "tok")
    built = toy_tokenizer.build()
    for text in TEXTS:
        assert loaded(text).input_ids == built(text, add_special_tokens=False).input_ids


def test_a_model_folder_tokenizes_the_same(tmp_path) -> None:
    """In a model folder, AutoTokenizer rebuilds a Qwen2 pipeline from the vocabulary; it must agree."""
    built = toy_tokenizer.build()
    size = toy_model.Size(d_model=32, layers=1, heads=1, kv_heads=1)
    toy_model.save(toy_model.init(size, built, seed=0), built, tmp_path / "m")
    loaded = AutoTokenizer.from_pretrained(tmp_path / "m")
    assert len(loaded) == len(built) and loaded.eos_token_id == built.eos_token_id
    for text in [*TEXTS, "1 a", "12\n"]:
        ids = loaded(text).input_ids
        assert ids == built(text, add_special_tokens=False).input_ids
        assert loaded.decode(ids, skip_special_tokens=True) == built.decode(ids, skip_special_tokens=True)
    assert torch.equal(torch.tensor(loaded(TEXTS[1]).input_ids), torch.tensor(built(TEXTS[1]).input_ids))
