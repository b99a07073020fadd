"""The transformers engine: fast enough on a CPU for the miniature study, exact enough to be a reference.

Generation prefills each distinct prompt once, copies its KV cache to all of that prompt's samples, decodes
one token per step for every row, and drops finished rows from time to time. Prompts of equal token length
share a batch (no padding, so every row sees exactly the numbers it would see alone). Tokens are drawn by
`sampler.sample_step`, whose noise depends only on (sample seed, step, token), so a sample does not depend on
what else is in the batch, the shard, or the run. Sampling parameters come only from each request; the
model's generation_config is never consulted.

A vision-language model (Qwen2.5-VL) decodes each image prompt in batches of its own: its rotary positions
depend on the image, and the model keeps them for one prompt at a time (`sampling.vision`).

`score` runs a teacher-forced forward pass and applies the output head in chunks, so long responses never
materialize a [tokens, vocab] matrix at once.
"""

from __future__ import annotations

import dataclasses
import os
import platform
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch

from rlvr_limits.sampling.requests import Completion, Request
from rlvr_limits.sampling.sampler import RowParams, sample_step
from rlvr_limits.sampling.templates import Images
from rlvr_limits.sampling.vision import ImageInputs

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

#: Finished rows stay in the batch (their outputs ignored) until this fraction of rows is finished: compacting
#: the KV cache copies all of it, so doing it whenever a row finishes costs more than the wasted compute.
_COMPACT_FRACTION = 0.25


_Batch = list[tuple[tuple[int, ...], list[Request]]]


def _plan_batches(requests: Iterable[Request], batch_rows: int) -> list[_Batch]:
    """Group requests by prompt, then pack prompts of equal length into batches of <= `batch_rows` rows; an
    image prompt (one problem's prompt and image) is packed only with itself."""
    by_prompt: dict[tuple[tuple[int, ...], str | None], list[Request]] = {}
    for request in requests:
        if not request.prompt_ids:
            raise ValueError(f"request {request.key}: empty prompt")
        if len(request.images) > 1:
            raise ValueError(f"request {request.key}: one image per prompt, got {len(request.images)}")
        owner = request.problem_id if request.images else None
        by_prompt.setdefault((tuple(request.prompt_ids), owner), []).append(request)
    buckets: dict[int | str, _Batch] = {}
    for (prompt, owner), group in by_prompt.items():
        for start in range(0, len(group), batch_rows):
            buckets.setdefault(len(prompt) if owner is None else owner, []).append(
                (prompt, group[start:start + batch_rows]))
    batches = []
    for units in buckets.values():
        batch: _Batch = []
        rows = 0
        for prompt, group in units:
            if batch and rows + len(group) > batch_rows:
                batches.append(batch)
                batch, rows = [], 0
            batch.append((prompt, group))
            rows += len(group)
        batches.append(batch)
    return batches


class HFEngine:
    """Sampling and scoring with a transformers causal LM.

    `HFEngine(model, tokenizer)` wraps a model already in memory (e.g. a policy being trained);
    `HFEngine.from_pretrained(path)` loads one the way every stage does (float32 on CPU, one torch thread).
    `batch_rows` bounds the rows decoded together; `score_tokens` the padded tokens of one scoring batch.
    `image_inputs` (for a vision-language model) prepares image prompts.
    """

    def __init__(self, model: Any, tokenizer: Any, *, batch_rows: int = 1024, score_tokens: int = 16384,
                 head_chunk: int = 1024, image_inputs: ImageInputs | None = None) -> None:
        if batch_rows < 1 or score_tokens < 1 or head_chunk < 1:
            raise ValueError("batch_rows, score_tokens and head_chunk must be positive")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_rows = batch_rows
        self.score_tokens = score_tokens
        self.head_chunk = head_chunk
        self.image_inputs = image_inputs
        self.device = next(model.parameters()).device

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str], *, tokenizer: Any = None, dtype: str = "auto",
                        threads: int | None = 1, images: Images | None = None, **options: Any) -> HFEngine:
        """Load a model directory offline; `dtype="auto"` means float32 on CPU (bf16 matmuls are slow and
        noisy there) and the checkpoint's dtype on a GPU. `threads=None` leaves torch's thread count alone.
        With `images` (the template's pixel bounds) the model is loaded as a vision-language model."""
        from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoTokenizer

        if threads is not None:
            torch.set_num_threads(threads)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        if dtype == "auto":
            torch_dtype: Any = torch.float32 if device == "cpu" else "auto"
        elif dtype in _DTYPES:
            torch_dtype = _DTYPES[dtype]
        else:
            raise ValueError(f"dtype must be auto or one of {sorted(_DTYPES)}, got {dtype!r}")
        loader = AutoModelForCausalLM if images is None else AutoModelForImageTextToText
        model = loader.from_pretrained(path, dtype=torch_dtype).to(device).eval()
        if tokenizer is None:
            tokenizer = AutoTokenizer.from_pretrained(path)
        if images is not None:
            image_token_id = getattr(model.config, "image_token_id", None)
            if image_token_id is None:
                raise ValueError(f"{path}: the model has no image token (config image_token_id); image prompts "
                                 "need a vision-language model")
            options["image_inputs"] = ImageInputs(path, image_token_id, images)
        return cls(model, tokenizer, **options)

    def describe(self) -> dict[str, Any]:
        import transformers

        return {
            "engine": "hf",
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "dtype": str(next(self.model.parameters()).dtype).removeprefix("torch."),
            "device": str(self.device),
            "torch_threads": torch.get_num_threads(),
            "batch_rows": self.batch_rows,
            "batch_invariant": True,
            "cpu": platform.processor() or platform.machine(),
            "gpu": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else None,
            "sampler": "Gumbel-max with splitmix64 noise keyed on (sample seed, step, token id), applied "
                       "after temperature, top-k and top-p (vLLM's top-p rule)",
        }

    def sent_parameters(self, request: Request) -> dict[str, Any]:
        return {**dataclasses.asdict(request.sampling), "seed": "per sample (the seed column)"}

    def generate(self, requests: Iterable[Request]) -> Iterator[Completion]:
        for batch in _plan_batches(requests, self.batch_rows):
            yield from self._generate_batch(batch)

    @torch.inference_mode()
    def _generate_batch(self, batch: _Batch) -> Iterator[Completion]:
        device = self.device
        requests = [r for _, group in batch for r in group]
        max_new = torch.tensor([r.sampling.max_tokens for r in requests], device=device)
        if requests[0].images:
            if self.image_inputs is None:
                raise ValueError(f"request {requests[0].key}: an image prompt needs a vision-language model "
                                 "loaded with the template's pixel bounds")
            inputs = {k: v.to(device) for k, v in self.image_inputs(batch[0][0], requests[0].images[0]).items()}
            owner = torch.zeros(len(requests), dtype=torch.int64, device=device)
        else:
            inputs = {"input_ids": torch.tensor([p for p, _ in batch], device=device)}
            owner = torch.tensor([i for i, (_, group) in enumerate(batch) for _ in group], device=device)
        prompt_tokens = int(inputs["input_ids"].shape[1])
        out = self.model(**inputs, use_cache=True, logits_to_keep=1)
        cache = out.past_key_values
        cache.batch_select_indices(owner)
        logits = out.logits[:, -1, :][owner]
        params = RowParams(
            seeds=torch.tensor([r.seed for r in requests], dtype=torch.int64, device=device),
            temperature=torch.tensor([r.sampling.temperature for r in requests], device=device),
            top_p=torch.tensor([r.sampling.top_p for r in requests], device=device),
            top_k=torch.tensor([r.sampling.top_k for r in requests], device=device),
        )
        width = max(1, *(len(r.sampling.stop_token_ids) for r in requests))
        stop_ids = torch.full((len(requests), width), -1, dtype=torch.int64, device=device)
        for i, r in enumerate(requests):
            if r.sampling.stop_token_ids:
                stop_ids[i, :len(r.sampling.stop_token_ids)] = torch.tensor(r.sampling.stop_token_ids)
        tokens = torch.zeros((len(requests), int(max_new.max())), dtype=torch.int64, device=device)
        entropy = torch.zeros(len(requests), dtype=torch.float64, device=device)
        windows = [max((len(s) for s in r.sampling.stop), default=0) + 4 for r in requests]
        rows = torch.arange(len(requests), device=device)  # request index of each batch row
        alive = torch.ones(len(requests), dtype=torch.bool, device=device)
        step = 0
        while True:
            chosen, step_entropy = sample_step(logits, params, step)
            tokens[rows, step] = chosen
            entropy[rows] += step_entropy.double()
            step += 1
            by_token = (chosen[:, None] == stop_ids[rows]).any(1)
            done = alive & (by_token | (max_new[rows] <= step))
            by_string = self._stop_string_rows(requests, rows, alive, tokens, step, windows)
            if by_string:
                done[torch.tensor(by_string, device=device)] = True
            for j in done.nonzero().flatten().tolist():
                i = int(rows[j])
                yield self._completion(requests[i], tokens[i, :step].tolist(), float(entropy[i]) / step,
                                       prompt_tokens, by_token=bool(by_token[j]), by_string=j in by_string)
            alive &= ~done
            n_alive = int(alive.sum())
            if n_alive == 0:
                return
            if len(rows) - n_alive >= _COMPACT_FRACTION * len(rows):
                keep = alive.nonzero().flatten()
                cache.batch_select_indices(keep)
                rows, chosen, params, alive = rows[keep], chosen[keep], params.select(keep), alive[keep]
            logits = self.model(input_ids=chosen[:, None], past_key_values=cache, use_cache=True,
                                logits_to_keep=1).logits[:, -1, :]

    def _stop_string_rows(self, requests: list[Request], rows: torch.Tensor, alive: torch.Tensor,
                          tokens: torch.Tensor, step: int, windows: list[int]) -> list[int]:
        """Positions of live rows whose newest tokens complete a stop string (only the tail is decoded)."""
        hits = []
        for j, (i, live) in enumerate(zip(rows.tolist(), alive.tolist(), strict=True)):
            stops = requests[i].sampling.stop
            if live and stops:
                tail = self.tokenizer.decode(tokens[i, max(0, step - windows[i]):step].tolist(),
                                             skip_special_tokens=True)
                if any(s in tail for s in stops):
                    hits.append(j)
        return hits

    def _completion(self, request: Request, token_ids: list[int], entropy: float, prompt_tokens: int, *,
                    by_token: bool, by_string: bool) -> Completion:
        """As vLLM words it: a stop token is kept in token_ids but left out of the text (unless include_stop);
        `prompt_tokens` counts an image's visual tokens, as vLLM does."""
        shown = token_ids[:-1] if by_token and not request.sampling.include_stop else token_ids
        text = self.tokenizer.decode(shown, skip_special_tokens=True)
        cuts = [(text.find(s), s) for s in request.sampling.stop if s in text]
        if cuts:
            at, stop = min(cuts)
            text = text[:at + len(stop)] if request.sampling.include_stop else text[:at]
        return Completion(
            problem_id=request.problem_id, sample_idx=request.sample_idx, seed=request.seed, text=text,
            token_ids=tuple(token_ids), prompt_tokens=prompt_tokens,
            finish_reason="stop" if by_token or by_string else "length", entropy=entropy,
        )

    def score(self, prompt_ids: Sequence[int], response_ids: Sequence[int]) -> list[float]:
        return self.score_batch([(prompt_ids, response_ids)])[0]

    @torch.inference_mode()
    def score_batch(self, pairs: Sequence[tuple[Sequence[int], Sequence[int]]]) -> list[list[float]]:
        """Right-padded batches of similar length; causal attention means padding after a sequence cannot
        change its positions, so no attention mask is needed."""
        results: list[list[float]] = [[] for _ in pairs]
        for prompt, _ in pairs:
            if not prompt:
                raise ValueError("scoring needs a prompt token to condition the first response token on")
        order = sorted((i for i, (_, r) in enumerate(pairs) if r),
                       key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        batch: list[int] = []
        for i in order:
            length = len(pairs[i][0]) + len(pairs[i][1])
            if batch and length * (len(batch) + 1) > self.score_tokens:
                self._score_rows(pairs, batch, results)
                batch = []
            batch.append(i)
        if batch:
            self._score_rows(pairs, batch, results)
        return results

    def _score_rows(self, pairs: Sequence[tuple[Sequence[int], Sequence[int]]], batch: list[int],
                    results: list[list[float]]) -> None:
        sequences = [list(pairs[i][0]) + list(pairs[i][1]) for i in batch]
        width = max(len(s) for s in sequences)
        ids = torch.tensor([s + [0] * (width - len(s)) for s in sequences], device=self.device)
        hidden = self.model.get_decoder()(input_ids=ids).last_hidden_state
        head = self.model.get_output_embeddings()
        cap = getattr(self.model.config, "final_logit_softcapping", None)
        for row, i in enumerate(batch):
            start, n = len(pairs[i][0]) - 1, len(pairs[i][1])
            targets = torch.tensor(list(pairs[i][1]), device=self.device)
            values = []
            for lo in range(0, n, self.head_chunk):
                logits = head(hidden[row, start + lo:start + min(n, lo + self.head_chunk)]).float()
                if cap:
                    logits = torch.tanh(logits / cap) * cap
                logp = logits.log_softmax(-1)
                values.append(logp.gather(1, targets[lo:lo + self.head_chunk, None]).squeeze(1))
            results[i] = torch.cat(values).double().tolist()
