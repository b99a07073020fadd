"""`toy-tokenizer`: the miniature's character-level tokenizer, saved as a standard `tokenizer.json`.

One token per character of the task's alphabet, plus `\\boxed{` as a single token so that the answer marker is
one decision for the model. It is built with `tokenizers` and saved through `transformers`, so
`AutoTokenizer.from_pretrained` (and vLLM) load it like any hub tokenizer.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models
from transformers import PreTrainedTokenizerFast

from rlvr_limits.progress import LOG
from rlvr_limits.toy.task import BOXED

PAD, EOS = "<pad>", "<|endoftext|>"
SPECIALS = (PAD, EOS)
CHARS = "0123456789+=;?}"


def build() -> PreTrainedTokenizerFast:
    """The tokenizer: ids 0 and 1 are `<pad>` and the end of sequence, then one per character, then `\\boxed{`.

    A BPE model without merges over the characters splits text into single characters without a
    pre-tokenizer pass, which keeps encoding a corpus of a hundred thousand solutions to about a second.
    In a model folder, AutoTokenizer rebuilds a Qwen2 pipeline (byte-level pre-tokenizer, BPE) from this
    vocabulary; without merges and without an unknown token (characters outside the alphabet are dropped) that
    pipeline tokenizes every text exactly as this one does, and naming the end of sequence `<|endoftext|>`,
    as Qwen2 tokenizers do, keeps it from adding a token of its own.
    """
    vocab = {tok: i for i, tok in enumerate((*SPECIALS, *CHARS))}
    tok = Tokenizer(models.BPE(vocab, []))
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens([AddedToken(t, special=True) for t in SPECIALS])
    tok.add_tokens([AddedToken(BOXED, normalized=False)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=PAD)


def save(out: str | Path) -> PreTrainedTokenizerFast:
    tokenizer = build()
    tokenizer.save_pretrained(str(out))
    return tokenizer


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="folder to write tokenizer.json and tokenizer_config.json")


def run(args: argparse.Namespace) -> int:
    tokenizer = save(args.out)
    LOG.info("wrote the toy tokenizer (%d tokens) to %s", len(tokenizer), args.out)
    return 0
