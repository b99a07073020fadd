"""`toy-vl-model`: the vision-language miniature's model, a tiny Qwen2.5-VL made offline.

It saves a randomly initialised Qwen2.5-VL (a 2-layer vision tower, a 2-layer language model) beside the files a
hub checkpoint has: `config.json`, `generation_config.json`, the weights, a tokenizer with Qwen's chat and vision
tokens (one token per printable ASCII character otherwise), and the image processor's
`preprocessor_config.json` with Qwen2.5-VL's patch, merge and normalisation settings. Both engines load the
folder as they load Qwen/Qwen2.5-VL-7B-Instruct. Its answers are noise: it exists to drive the visual path
(image prompts, visual tokens, the VL model class, verification with answer types) end to end on a CPU.
"""

from __future__ import annotations

import argparse
import string
from pathlib import Path
from typing import Any

from rlvr_limits.progress import LOG

SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
            "<|image_pad|>", "<|video_pad|>")
CHARACTERS = tuple(c for c in string.printable if c not in "\t\r\x0b\x0c")
#: Qwen2.5-VL's default pixel bounds; each image prompt is sent with its template's own `images:` bounds.
QWEN_VL_MIN_PIXELS, QWEN_VL_MAX_PIXELS = 3136, 12845056


def build_tokenizer() -> Any:
    """A character-level tokenizer with Qwen2.5-VL's special tokens (and `\\boxed{` as one token)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate((*SPECIALS, *CHARACTERS))}
    tokenizer = Tokenizer(models.BPE(vocab, []))
    tokenizer.decoder = decoders.Fuse()
    tokenizer.add_special_tokens([AddedToken(t, special=True) for t in SPECIALS])
    tokenizer.add_tokens([AddedToken("\\boxed{", normalized=False)])
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>",
                                   pad_token="<|endoftext|>")


def save_model(out: str | Path, seed: int) -> None:
    """Write the tiny Qwen2.5-VL model, its tokenizer and its image processor to `out`."""
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tokenizer = build_tokenizer()
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIALS}
    eos = ids["<|endoftext|>"]
    config = Qwen2_5_VLConfig(
        # 64 wide with 2 heads: 32-wide heads, a size vLLM's attention kernels accept on CPU and GPU.
        text_config={"vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128,
                     "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
                     "max_position_embeddings": 4096, "eos_token_id": eos, "bos_token_id": eos,
                     "pad_token_id": eos,
                     "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 6, 6]}},
        vision_config={"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
                       "out_hidden_size": 64, "fullatt_block_indexes": [1], "window_size": 112, "patch_size": 14,
                       "spatial_merge_size": 2, "temporal_patch_size": 2},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        eos_token_id=eos, bos_token_id=eos, pad_token_id=eos, tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    out = Path(out)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    Qwen2VLImageProcessorPil(min_pixels=QWEN_VL_MIN_PIXELS, max_pixels=QWEN_VL_MAX_PIXELS).save_pretrained(str(out))


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="the model folder to write")
    parser.add_argument("--seed", type=int, required=True, help="seed of the random initialisation")


def run(args: argparse.Namespace) -> int:
    save_model(args.out, args.seed)
    LOG.info("wrote a tiny random Qwen2.5-VL model (seed %d) to %s", args.seed, args.out)
    return 0
