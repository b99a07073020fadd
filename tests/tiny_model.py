"""A tiny random-init Qwen2ForCausalLM with a real `tokenizers` tokenizer, saved like a hub model.

`AutoTokenizer.from_pretrained` / `AutoModelForCausalLM.from_pretrained` load the directory offline, so tests
exercise the same loading path as real models. The tokenizer is a byte-level BPE without merges (one token per
byte) plus ChatML special tokens, with a ChatML chat template. It uses exactly the pipeline of transformers'
Qwen2Tokenizer, because for a qwen2 model directory AutoTokenizer rebuilds that pipeline from the vocabulary
whatever tokenizer.json says (a WordLevel tokenizer would silently lose its pre-tokenizer and decoder).
The saved generation_config holds deliberately extreme defaults (temperature 0.05, top_k 2, repetition
penalty 2) so a test can prove that sampling never reads it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM
from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

#: Every byte gets a token, so no text is ever dropped.
ALL_BYTES = bytes(range(256))
SPECIAL_TOKENS = ("<pad>", "<eos>", "<|im_start|>", "<|im_end|>", "<|endoftext|>")
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _byte_symbols() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map used by byte-level BPE."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    symbols, extra = {}, 0
    for b in range(256):
        if b in printable:
            symbols[b] = chr(b)
        else:
            symbols[b] = chr(256 + extra)
            extra += 1
    return symbols


def build_tiny_model(directory: str | Path, vocab: bytes = ALL_BYTES, *, hidden: int = 32, layers: int = 2,
                     heads: int = 4, kv_heads: int = 2, intermediate: int = 64, max_positions: int = 512,
                     seed: int = 0, chat_template: str | None = CHATML_TEMPLATE,
                     generation_eos: tuple[str, ...] = ()) -> Path:
    """Write tokenizer, config, weights and generation_config to `directory`; returns it as a Path.

    `vocab` lists the bytes that get a token (a smaller vocabulary makes <eos> likelier); text bytes outside
    it are dropped by the tokenizer, so tests should stay within it. `generation_eos` names further tokens that
    generation_config.json lists as eos (as many chat models' files do).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    symbols = _byte_symbols()
    ids = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *(symbols[b] for b in dict.fromkeys(vocab))])}
    core = Tokenizer(models.BPE(vocab=ids, merges=[], unk_token=None, fuse_unk=False, byte_fallback=False))
    core.normalizer = normalizers.NFC()
    core.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens(list(SPECIAL_TOKENS))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<eos>", pad_token="<pad>",
                                        unk_token=None, extra_special_tokens=list(SPECIAL_TOKENS[2:]))
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(directory)

    config = Qwen2Config(
        vocab_size=len(ids), hidden_size=hidden, intermediate_size=intermediate, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=max_positions,
        tie_word_embeddings=True, eos_token_id=ids["<eos>"], pad_token_id=ids["<pad>"], bos_token_id=None,
        initializer_range=0.2,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        do_sample=True, temperature=0.05, top_k=2, top_p=0.1, repetition_penalty=2.0,
        eos_token_id=[ids["<eos>"], *(ids[token] for token in generation_eos)] if generation_eos else ids["<eos>"],
        pad_token_id=ids["<pad>"],
    )
    model.save_pretrained(directory)
    return directory


def write_sample_inputs(root: Path, questions: list[str], **model: object) -> tuple[Path, Path, Path]:
    """What the sample stage reads for a tiny model: its directory, its model record (`--model`) and a problems
    table of `questions` (ids q00, q01, ...; `--problems`). `model` goes to build_tiny_model."""
    import json

    import polars as pl

    directory = build_tiny_model(root / "model", **model)
    record = root / "tiny.json"
    record.write_text(json.dumps({"name": "tiny", "source": "local", "path": str(directory)}))
    problems = root / "problems.parquet"
    pl.DataFrame({"problem_id": [f"q{i:02d}" for i in range(len(questions))], "question": questions,
                  "answer": ["0"] * len(questions), "answer_type": ["integer"] * len(questions),
                  "meta": ["{}"] * len(questions)}).write_parquet(problems)
    return directory, record, problems
