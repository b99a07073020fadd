"""The miniature's models: tiny Qwen2 causal LMs saved exactly like hub models.

Every stage re-seeds Python, NumPy and torch and runs torch on one thread, because float sums (and so the
trained weights) depend on how a matmul is split across threads; with this, the same seed gives bit-identical
checkpoints. Models are saved with `save_pretrained` next to the tokenizer files, so
`AutoModelForCausalLM.from_pretrained`, the `hf` sampling engine and vLLM load a folder as they load a hub model.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase, Qwen2Config, Qwen2ForCausalLM

from rlvr_limits.errors import UserError


def seed_everything(seed: int) -> None:
    """Seed every generator a stage touches and pin torch to one thread (results depend on the split)."""
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


#: Head widths that vLLM's attention kernels accept on CPU and GPU alike (vLLM's Qwen2 derives the head width as
#: hidden_size / heads and ignores config.head_dim, so the width is never set on its own).
VLLM_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256)


@dataclass(frozen=True)
class Size:
    """The architecture knobs.

    Each head is d_model / heads wide, and that width must be one vLLM supports, so the model is the same network
    in transformers and in vLLM. Input and output embeddings are untied: with tied ones (and the same pretraining
    curriculum) the model learned the units digit of a sum late or not at all for some seeds; untied, every seed
    we tried learned it early.
    """

    d_model: int = 128
    layers: int = 4
    heads: int = 4
    kv_heads: int = 2
    mlp: int = 256
    max_len: int = 256

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    def config(self, tokenizer: PreTrainedTokenizerBase) -> Qwen2Config:
        sizes = (self.d_model, self.layers, self.heads, self.kv_heads, self.mlp)
        if min(sizes) < 1 or self.heads % self.kv_heads:
            raise UserError(f"toy model: sizes must be positive and heads ({self.heads}) a multiple of "
                            f"kv_heads ({self.kv_heads})")
        if self.d_model % self.heads or self.head_dim not in VLLM_HEAD_SIZES:
            raise UserError(f"toy model: d_model / heads = {self.d_model} / {self.heads} must be a whole head "
                            f"width vLLM supports, one of {list(VLLM_HEAD_SIZES)}")
        return Qwen2Config(
            vocab_size=len(tokenizer),
            hidden_size=self.d_model,
            intermediate_size=self.mlp,
            num_hidden_layers=self.layers,
            num_attention_heads=self.heads,
            num_key_value_heads=self.kv_heads,
            head_dim=self.head_dim,
            max_position_embeddings=self.max_len,
            tie_word_embeddings=False,
            bos_token_id=tokenizer.eos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            dtype="float32",
        )


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    default = Size()
    group = parser.add_argument_group("model size")
    group.add_argument("--d-model", type=int, default=default.d_model, help="hidden size")
    group.add_argument("--layers", type=int, default=default.layers, help="transformer layers")
    group.add_argument("--heads", type=int, default=default.heads, help="attention heads")
    group.add_argument("--kv-heads", type=int, default=default.kv_heads, help="key/value heads")
    group.add_argument("--mlp", type=int, default=default.mlp, help="MLP intermediate size")


def size_from_args(args: argparse.Namespace) -> Size:
    return Size(args.d_model, args.layers, args.heads, args.kv_heads, args.mlp)


def init(size: Size, tokenizer: PreTrainedTokenizerBase, seed: int) -> Qwen2ForCausalLM:
    """A freshly initialised model; the weights depend only on `seed` and `size`."""
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(size.config(tokenizer))
    model.config._attn_implementation = "sdpa"
    return model


def load(path: str | Path) -> tuple[Qwen2ForCausalLM, PreTrainedTokenizerBase]:
    """A saved toy model and its tokenizer, in float32 on the CPU."""
    path = Path(path)
    if not (path / "config.json").is_file() or not (path / "tokenizer.json").is_file():
        raise UserError(f"{path}: not a saved toy model (needs config.json and tokenizer.json); "
                        "run the stage that makes it first")
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="sdpa")
    return model, AutoTokenizer.from_pretrained(path)


def save(model: Qwen2ForCausalLM, tokenizer: PreTrainedTokenizerBase, out: str | Path) -> None:
    """Weights (safetensors), config and tokenizer files in one folder, like a hub snapshot.

    The folder is written beside its destination and renamed into place, so a crash never leaves a
    half-saved model under the final name.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(str(tmp))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
