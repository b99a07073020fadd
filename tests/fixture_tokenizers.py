"""Offline tokenizers with the special tokens and chat-template shape of the paper's model families.

Each is a byte-level BPE without merges (one token per byte, as in `tiny_model`), plus the family's special
tokens and a chat template written to render the same structure as the family's own: Qwen2.5-Instruct (which
inserts its default system prompt when the conversation has none), the Qwen2.5 base models (ChatML tokens),
DeepSeek-R1-Distill (full-width-bar tokens, no ChatML; the generation prompt opens `<think>`) and LLaMA-3.1
(a BOS token added to every raw prompt). Saved with `save_pretrained`, so `AutoTokenizer.from_pretrained`
loads them exactly as it loads a downloaded model's tokenizer files.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast
from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

from tiny_model import _byte_symbols

QWEN_INSTRUCT_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}"
    "{% set rest = messages[1:] %}{% else %}"
    "{% set system = 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' %}"
    "{% set rest = messages %}{% endif %}<|im_start|>system\n{{ system }}<|im_end|>\n"
    "{% for message in rest %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
R1_DISTILL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] }}"
    "{% elif message['role'] == 'user' %}<｜User｜>{{ message['content'] }}"
    "{% else %}<｜Assistant｜>{{ message['content'] }}<｜end▁of▁sentence｜>{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<｜Assistant｜><think>\n{% endif %}"
)

#: family -> (special tokens in id order, eos, bos or None, chat template or None)
FAMILIES: dict[str, tuple[tuple[str, ...], str, str | None, str | None]] = {
    "qwen-instruct": (("<|endoftext|>", "<|im_start|>", "<|im_end|>"), "<|im_end|>", None,
                      QWEN_INSTRUCT_TEMPLATE),
    "qwen-base": (("<|endoftext|>", "<|im_start|>", "<|im_end|>"), "<|endoftext|>", None,
                  QWEN_INSTRUCT_TEMPLATE),
    "r1-distill": (("<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<｜begin▁of▁sentence｜>"),
                   "<｜end▁of▁sentence｜>", "<｜begin▁of▁sentence｜>", R1_DISTILL_TEMPLATE),
    "llama3": (("<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"), "<|end_of_text|>", "<|begin_of_text|>",
               None),
}


def build_tokenizer(directory: str | Path, family: str) -> Path:
    """Write the tokenizer files of `family` (a key of FAMILIES) to `directory`; returns it as a Path."""
    special, eos, bos, chat_template = FAMILIES[family]
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    symbols = _byte_symbols()
    ids = {token: i for i, token in enumerate([*(symbols[b] for b in range(256)), *special])}
    core = Tokenizer(models.BPE(vocab=ids, merges=[], unk_token=None, fuse_unk=False, byte_fallback=False))
    core.normalizer = normalizers.NFC()
    core.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens(list(special))
    if bos is not None:
        core.post_processor = processors.TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, ids[bos])])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token=eos, bos_token=bos, unk_token=None,
                                        extra_special_tokens=[t for t in special if t not in (eos, bos)])
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(directory)
    return directory
