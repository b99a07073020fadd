"""Prompt templates (resources/prompts/*.yaml): load, validate, render, tokenize, resolve stop token ids.

A template is either a raw-text format string (`prompt`, rendered exactly as the paper's code built its
prompts, without the tokenizer's chat template) or `chat: true` with `messages` rendered by the model's own
chat template. Placeholders are `{question}` plus any key of the problem's `meta` JSON (such as
`{starter_code}`); `variants` switch to another prompt when a meta field is present, as LiveCodeBench's
prompts do for starter code. Literal braces are doubled (`\\boxed{{}}`), as in the paper's Python templates.

Raw prompts are tokenized with the tokenizer's special tokens added (what vLLM does with a text prompt, and so
what the paper's runs did); chat-rendered prompts already contain them and are tokenized without.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rlvr_limits.errors import UserError

_KEYS = {"description", "prompt", "chat", "messages", "prefill", "stop", "stop_tokens", "include_stop",
         "variants", "images"}
_ROLES = {"system", "user", "assistant"}


@dataclass(frozen=True)
class Images:
    """One image per problem: `placeholder` marks its place in the prompt; pixel bounds as Qwen-VL resizes."""

    placeholder: str
    min_pixels: int
    max_pixels: int


@dataclass(frozen=True)
class Variant:
    """Used instead of the main prompt/messages when the problem's meta field `when` is non-empty."""

    when: str
    prompt: str | None
    messages: tuple[tuple[str, str], ...] | None


@dataclass(frozen=True)
class Template:
    name: str
    path: str
    description: str
    prompt: str | None
    chat: bool
    messages: tuple[tuple[str, str], ...] | None
    prefill: str
    stop: tuple[str, ...]
    stop_tokens: tuple[str, ...]
    include_stop: bool
    variants: tuple[Variant, ...]
    images: Images | None
    sha256: str


def _fail(path: Path, key: str, message: str) -> UserError:
    return UserError(f"{path}: key '{key}': {message}")


def _placeholders(path: Path, key: str, text: str) -> set[str]:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise _fail(path, key, f"not a valid format string ({exc}); write literal braces as {{{{ and }}}}"
                    ) from None
    names = set()
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise _fail(path, key, f"placeholder {{{name}{'!' + conversion if conversion else ''}"
                        f"{':' + spec if spec else ''}}} must be a plain name such as {{question}}")
        names.add(name)
    return names


def _string(path: Path, raw: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = raw.get(key, default)
    if value is not None and not isinstance(value, str):
        raise _fail(path, key, f"must be a string, got {type(value).__name__}")
    return value


def _strings(path: Path, raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(path, key, "must be a list of non-empty strings")
    return tuple(value)


def _messages(path: Path, key: str, value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise _fail(path, key, "must be a non-empty list of {role, content} mappings")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"role", "content"}:
            raise _fail(path, f"{key}[{i}]", "must be a mapping with exactly the keys role and content")
        if item["role"] not in _ROLES or not isinstance(item["content"], str):
            raise _fail(path, f"{key}[{i}]", f"role must be one of {sorted(_ROLES)} and content a string")
        _placeholders(path, f"{key}[{i}].content", item["content"])
        out.append((item["role"], item["content"]))
    return tuple(out)


def _variants(path: Path, raw: Mapping[str, Any], chat: bool) -> tuple[Variant, ...]:
    value = raw.get("variants") or []
    if not isinstance(value, list):
        raise _fail(path, "variants", "must be a list of {when, prompt|messages} mappings")
    out = []
    body = "messages" if chat else "prompt"
    for i, item in enumerate(value):
        where = f"variants[{i}]"
        if not isinstance(item, dict) or set(item) != {"when", body}:
            raise _fail(path, where, f"must have exactly the keys 'when' and '{body}'")
        if not isinstance(item["when"], str) or not item["when"].isidentifier():
            raise _fail(path, f"{where}.when", "must name a field of the problem's meta, e.g. starter_code")
        if chat:
            out.append(Variant(item["when"], None, _messages(path, f"{where}.messages", item["messages"])))
        else:
            if not isinstance(item["prompt"], str):
                raise _fail(path, f"{where}.prompt", "must be a string")
            _placeholders(path, f"{where}.prompt", item["prompt"])
            out.append(Variant(item["when"], item["prompt"], None))
    return tuple(out)


def _images(path: Path, raw: Mapping[str, Any]) -> Images | None:
    value = raw.get("images")
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"placeholder", "min_pixels", "max_pixels"}:
        raise _fail(path, "images", "must have exactly the keys placeholder, min_pixels, max_pixels")
    lo, hi = value["min_pixels"], value["max_pixels"]
    if not (isinstance(lo, int) and isinstance(hi, int) and 0 < lo <= hi):
        raise _fail(path, "images", "min_pixels and max_pixels must be integers with 0 < min <= max")
    if not isinstance(value["placeholder"], str) or not value["placeholder"]:
        raise _fail(path, "images.placeholder", "must be a non-empty string")
    return Images(value["placeholder"], lo, hi)


def load_template(path: str | Path) -> Template:
    """Read and validate a template file; every mistake is a UserError naming the file and key."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: template file not found (templates live in resources/prompts/)")
    data = path.read_bytes()
    try:
        raw = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path}{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: a template must be a YAML mapping with keys {sorted(_KEYS)}")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise UserError(f"{path}: unknown keys {unknown}; allowed keys are {sorted(_KEYS)}")
    chat = raw.get("chat", False)
    include_stop = raw.get("include_stop", False)
    for key, value in (("chat", chat), ("include_stop", include_stop)):
        if not isinstance(value, bool):
            raise _fail(path, key, "must be true or false")
    prompt = _string(path, raw, "prompt")
    messages = None
    if chat:
        if prompt is not None:
            raise _fail(path, "prompt", "not used with chat: true; put the text in messages")
        messages = _messages(path, "messages", raw.get("messages"))
        fields = set().union(*(_placeholders(path, "messages", c) for _, c in messages))
    else:
        if raw.get("messages") is not None:
            raise _fail(path, "messages", "only used with chat: true")
        if prompt is None:
            raise _fail(path, "prompt", "missing; a raw template needs a prompt format string")
        fields = _placeholders(path, "prompt", prompt)
    if "question" not in fields:
        raise _fail(path, "messages" if chat else "prompt", "must contain the placeholder {question}")
    images = _images(path, raw)
    if images is not None and (chat or prompt is None or prompt.count(images.placeholder) != 1):
        raise _fail(path, "images", f"needs a raw prompt containing {images.placeholder!r} exactly once")
    return Template(
        name=path.stem,
        path=str(path),
        description=_string(path, raw, "description", "") or "",
        prompt=prompt,
        chat=chat,
        messages=messages,
        prefill=_string(path, raw, "prefill", "") or "",
        stop=_strings(path, raw, "stop"),
        stop_tokens=_strings(path, raw, "stop_tokens"),
        include_stop=include_stop,
        variants=_variants(path, raw, chat),
        images=images,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def problem_fields(meta: str | None, problem_id: str) -> dict[str, str]:
    """The placeholders a problem's `meta` JSON object provides (values as text)."""
    if not meta:
        return {}
    try:
        parsed = json.loads(meta)
    except json.JSONDecodeError:
        raise UserError(f"problem {problem_id}: meta is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise UserError(f"problem {problem_id}: meta must be a JSON object")
    return {k: "" if v is None else (v if isinstance(v, str) else json.dumps(v)) for k, v in parsed.items()}


def _fill(template: Template, text: str, values: Mapping[str, str], problem_id: str) -> str:
    try:
        return text.format_map(values)
    except KeyError as exc:
        raise UserError(f"{template.path}: placeholder {{{exc.args[0]}}} has no value for problem "
                        f"{problem_id}: its meta has no key {exc.args[0]!r}") from None


def render(template: Template, question: str, fields: Mapping[str, str] | None = None, *,
           tokenizer: Any = None, problem_id: str = "?") -> str:
    """The full prompt text of one problem, prefill included."""
    values = {**(fields or {}), "question": question}
    prompt, messages = template.prompt, template.messages
    for variant in template.variants:
        if values.get(variant.when):
            prompt, messages = variant.prompt, variant.messages
            break
    if not template.chat:
        return _fill(template, prompt or "", values, problem_id) + template.prefill
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        raise UserError(f"{template.path}: chat: true needs the model's chat template, but the tokenizer "
                        "has none; use a raw template for this model")
    rendered = [{"role": role, "content": _fill(template, content, values, problem_id)}
                for role, content in messages or ()]
    text = tokenizer.apply_chat_template(rendered, tokenize=False, add_generation_prompt=True)
    return text + template.prefill


def encode(template: Template, text: str, tokenizer: Any) -> list[int]:
    """Token ids of a rendered prompt (special tokens added only for raw prompts; see module doc)."""
    return list(tokenizer.encode(text, add_special_tokens=not template.chat))


def resolve_stop_ids(template: Template, tokenizer: Any, where: str = "the tokenizer") -> tuple[int, ...]:
    """Ids of the template's stop tokens plus the tokenizer's eos, refusing tokens the vocabulary lacks."""
    ids: list[int] = []
    for token in template.stop_tokens:
        token_id = tokenizer.convert_tokens_to_ids(token)
        if not isinstance(token_id, int) or tokenizer.convert_ids_to_tokens(token_id) != token:
            raise UserError(f"{template.path}: stop token {token!r} is not a single token of {where}; this "
                            "template does not fit the model's family (pick a template for this tokenizer)")
        ids.append(token_id)
    if tokenizer.eos_token_id is not None:
        ids.append(int(tokenizer.eos_token_id))
    if not ids:
        raise UserError(f"{template.path}: {where} has no eos token and the template lists no stop_tokens, "
                        "so generation could only stop at max_tokens; add stop_tokens")
    return tuple(dict.fromkeys(ids))
