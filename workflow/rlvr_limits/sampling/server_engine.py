"""The server engine: samples from running OpenAI-compatible servers (`vllm serve`, SGLang, ...) over HTTP.

The prompt, the seeds and the sampling knobs are exactly the in-process vLLM engine's (`vllm_engine.sampling_kwargs`,
sent as the completions endpoint's extra fields): the prompt goes in as our token ids, one request per sample
(`n=1`) with that sample's own seed. Choices, each against a failure seen in other harnesses' clients:
- A fixed pool of `concurrency` workers takes requests from a queue (never one coroutine per request), each
  request has its own timeout, and the workers spread requests over the replicas in turn, skipping for a while
  one that refuses connections.
- Connection errors, timeouts, 408, 429 and 5xx answers, and malformed answers (not JSON, no choice, an unknown
  finish reason) are retried with exponential backoff (a 429's or 503's Retry-After is honoured), on the next
  replica. Other 4xx answers are the request's own fault and are not retried.
- A request that still fails is never a sample: it is reported, not yielded, so it stays missing. Once one has
  used up its retries the servers are taken to be down: no further request is sent, those in flight finish, and
  `generate` raises a `ServerFailure` that counts what failed and why after yielding every finished sample, so
  the stage's journal keeps them and a rerun draws only the rest.
- The entropy comes from the log-probability of each sampled token (`logprobs: 0`), the estimate the vLLM engine
  makes; it is the sampling distribution's only when the server runs with `--logprobs-mode processed_logprobs`,
  which the sidecar cannot see, so the README's serving command sets it. Without log-probabilities it is NaN.
- Scoring (perplexity) is a prefill with vLLM's `prompt_logprobs`; a server that does not return them is refused.
"""

from __future__ import annotations

import asyncio
import math
import os
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from rlvr_limits.errors import UserError
from rlvr_limits.progress import LOG
from rlvr_limits.sampling.requests import Completion, Request
from rlvr_limits.sampling.vllm_engine import sampling_kwargs, score_kwargs

#: Statuses worth retrying: the server is busy, restarting or briefly broken.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
FINISH_REASONS = ("stop", "length")
#: The longest wait between two tries of one request.
MAX_BACKOFF_S = 60.0
#: How long a replica that refused a connection is skipped while others answer.
REPLICA_REST_S = 30.0
_OPTIONAL = ("api_key_env", "concurrency", "timeout_s", "retries", "backoff_s")


@dataclass(frozen=True)
class ServerSettings:
    """Where and how to send requests; none of it changes a sample (the served model must be the model's)."""

    base_urls: tuple[str, ...]
    model: str
    api_key_env: str | None = None
    concurrency: int = 32
    timeout_s: float = 1800.0
    retries: int = 5
    backoff_s: float = 1.0

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ServerSettings:
        urls = raw.get("base_url")
        urls = [urls] if isinstance(urls, str) else urls
        if not urls or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls):
            raise UserError(f"server.base_url must be an http(s) URL or a list of them, got {urls!r}")
        if not isinstance(raw.get("model"), str) or not raw["model"]:
            raise UserError(f"server.model must name the served model, got {raw.get('model')!r}")
        unknown = sorted(set(raw) - {"base_url", "model", *_OPTIONAL})
        if unknown:
            raise UserError(f"server: unknown keys {unknown}; allowed: base_url, model, {', '.join(_OPTIONAL)}")
        values = {k: raw[k] for k in _OPTIONAL if k in raw}
        settings = cls(base_urls=tuple(u.rstrip("/") for u in urls), model=raw["model"], **values)
        if settings.concurrency < 1 or settings.timeout_s <= 0 or settings.retries < 0 or settings.backoff_s < 0:
            raise UserError(f"server: concurrency must be >= 1, timeout_s > 0, retries and backoff_s >= 0; got "
                            f"{asdict(settings)}")
        return settings

    def api_key(self) -> str | None:
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise UserError(f"server.api_key_env: the environment variable {self.api_key_env} is not set; export "
                            "the server's API key under that name (it is never written to the config or results)")
        return key


class Retry(Exception):
    """A try that failed in a way worth trying again (the server may be busy, restarting or broken)."""

    def __init__(self, reason: str, wait_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait_s = wait_s


class Refused(Exception):
    """A try the server refused for the request's own sake (a 4xx other than 408/409/425/429)."""


class ServerFailure(UserError):
    """Requests that failed for good; the samples that finished were yielded before this is raised."""


def completion_payload(request: Request, model: str) -> dict[str, Any]:
    """The completions request for one sample: our token ids, its seed, every sampling knob explicit."""
    if request.images:
        raise UserError("engine server: image prompts are not supported; sample visual benchmarks with engine "
                        "vllm or hf")
    return {"model": model, "prompt": list(request.prompt_ids), **sampling_kwargs(request), "stream": False,
            "echo": False, "return_token_ids": True}


def score_payload(sequence: Sequence[int], model: str) -> dict[str, Any]:
    """A prefill that returns the log-probability of every prompt token (vLLM's prompt_logprobs)."""
    prefill = {k: v for k, v in score_kwargs().items() if k != "detokenize"}
    return {"model": model, "prompt": list(sequence), **prefill, "stream": False}


def _choice(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list) or len(body["choices"]) != 1 \
            or not isinstance(body["choices"][0], dict):
        raise Retry("malformed answer (no single choice)")
    return body["choices"][0]


def parse_completion(request: Request, body: Any) -> Completion:
    """Our Completion from a completions answer; a malformed or unfinished one is a `Retry`, never a sample."""
    choice = _choice(body)
    text, reason = choice.get("text"), choice.get("finish_reason")
    if not isinstance(text, str):
        raise Retry("malformed answer (no text)")
    if reason not in FINISH_REASONS:
        raise Retry(f"unfinished answer (finish_reason {reason!r})")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    token_ids = choice.get("token_ids")
    if isinstance(token_ids, list) and all(isinstance(t, int) for t in token_ids):
        n_tokens = len(token_ids)
    elif isinstance(usage.get("completion_tokens"), int):
        token_ids, n_tokens = [], usage["completion_tokens"]
    else:
        raise Retry("malformed answer (neither token_ids nor usage.completion_tokens)")
    logprobs = choice.get("logprobs") if isinstance(choice.get("logprobs"), dict) else {}
    values = logprobs.get("token_logprobs")
    if isinstance(values, list) and values and len(values) == n_tokens \
            and all(isinstance(v, int | float) for v in values):
        entropy = -sum(values) / len(values)
    else:
        entropy = math.nan
    prompt_tokens = usage.get("prompt_tokens") if isinstance(usage.get("prompt_tokens"), int) else None
    return Completion(problem_id=request.problem_id, sample_idx=request.sample_idx, seed=request.seed, text=text,
                      token_ids=tuple(token_ids), n_tokens=n_tokens,
                      prompt_tokens=prompt_tokens or len(request.prompt_ids), finish_reason=reason, entropy=entropy)


def parse_prompt_logprobs(body: Any, *, sequence: Sequence[int], start: int) -> list[float]:
    """Log-probabilities of `sequence[start:]` from an answer's prompt_logprobs (entry 0 is null)."""
    entries = _choice(body).get("prompt_logprobs")
    if entries is None:
        raise UserError("the server returns no prompt_logprobs (vLLM does): score with engine vllm or hf")
    if not isinstance(entries, list) or len(entries) != len(sequence):
        raise Retry("malformed answer (prompt_logprobs do not cover the sequence)")
    values = []
    for position in range(start, len(sequence)):
        entry = entries[position]
        value = entry.get(str(sequence[position])) if isinstance(entry, dict) else None
        value = value.get("logprob") if isinstance(value, dict) else value
        if not isinstance(value, int | float):
            raise Retry(f"malformed answer (no log-probability for the token at position {position})")
        values.append(float(value))
    return values


def _wait_s(attempt: int, base_s: float, hint: float | None) -> float:
    """Exponential backoff with jitter; a server's Retry-After wins when it asks for longer."""
    wait = min(MAX_BACKOFF_S, base_s * 2 ** attempt) * (0.5 + random.random() / 2)
    return min(MAX_BACKOFF_S, max(wait, hint or 0.0))


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class _Pool:
    """Runs keyed jobs through `concurrency` workers on an event loop of its own thread, putting each outcome on a
    queue as it comes: ("done", key, value) or ("failed", key, reason), then ("end", not_sent, None)."""

    def __init__(self, settings: ServerSettings, jobs: list[tuple[Any, dict[str, Any], Callable[[Any], Any]]],
                 path: str) -> None:
        self.settings = settings
        self.jobs = jobs
        self.path = path
        self.outcomes: queue.Queue[tuple[str, Any, Any]] = queue.Queue()
        self.stopped = threading.Event()
        self.retries: Counter[str] = Counter()
        self._replica = 0
        self._down_until: dict[str, float] = {}
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        not_sent = len(self.jobs)
        try:
            not_sent = asyncio.run(self._run())
        except Exception as exc:  # the consumer must always get its "end"
            self.outcomes.put(("failed", None, f"client error ({type(exc).__name__}: {exc})"))
        finally:
            self.outcomes.put(("end", not_sent, None))

    def close(self) -> None:
        """Stop sending; a consumer that gave up early does not wait for the requests in flight (daemon thread)."""
        self.stopped.set()
        self._thread.join(timeout=5.0)

    async def _run(self) -> int:
        """Send every job; returns how many were never sent (the servers were taken to be down first)."""
        import httpx2

        key = self.settings.api_key()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        timeout = httpx2.Timeout(self.settings.timeout_s, connect=min(30.0, self.settings.timeout_s))
        limits = httpx2.Limits(max_connections=self.settings.concurrency,
                               max_keepalive_connections=self.settings.concurrency)
        work: asyncio.Queue[tuple[Any, dict[str, Any], Callable[[Any], Any]]] = asyncio.Queue()
        for job in self.jobs:
            work.put_nowait(job)
        async with httpx2.AsyncClient(headers=headers, timeout=timeout, limits=limits, trust_env=False) as client:
            workers = min(self.settings.concurrency, len(self.jobs))
            await asyncio.gather(*(self._worker(client, work) for _ in range(workers)))
        return work.qsize()

    async def _worker(self, client: Any, work: asyncio.Queue) -> None:
        while not self.stopped.is_set():
            try:
                key, payload, parse = work.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                self.outcomes.put(("done", key, await self._send(client, payload, parse)))
            except Refused as exc:
                self.outcomes.put(("failed", key, str(exc)))
            except Retry as exc:
                self.outcomes.put(("failed", key, exc.reason))
                self.stopped.set()
            except Exception as exc:  # e.g. a server that cannot do what is asked: stop, say why
                self.outcomes.put(("failed", key, str(exc) if isinstance(exc, UserError) else
                                   f"{type(exc).__name__}: {exc}"))
                self.stopped.set()

    def _next_url(self) -> str:
        """The next replica in turn, skipping those that refused a connection in the last REPLICA_REST_S seconds
        (unless all did), so a replica that went away costs one retry, not one per request sent to it."""
        urls = self.settings.base_urls
        now = time.monotonic()
        for _ in range(len(urls)):
            url = urls[self._replica % len(urls)]
            self._replica += 1
            if self._down_until.get(url, 0.0) <= now:
                break
        return url

    async def _send(self, client: Any, payload: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
        """One request, tried until it succeeds, is refused, or has used its retries (then the last `Retry`)."""
        import httpx2

        for attempt in range(self.settings.retries + 1):
            base = self._next_url()
            url = base + self.path
            try:
                try:
                    answer = await client.post(url, json=payload)
                except httpx2.TimeoutException:
                    raise Retry(f"no answer within timeout_s={self.settings.timeout_s:g}") from None
                except httpx2.TransportError as exc:
                    if isinstance(exc, httpx2.ConnectError):
                        self._down_until[base] = time.monotonic() + REPLICA_REST_S
                    raise Retry(f"{type(exc).__name__} ({exc or 'connection lost'})") from None
                if answer.status_code in RETRY_STATUSES:
                    raise Retry(f"HTTP {answer.status_code}", _retry_after(answer.headers.get("retry-after")))
                if answer.status_code >= 400:
                    raise Refused(f"HTTP {answer.status_code}: {answer.text[:300]}")
                try:
                    body = answer.json()
                except ValueError:
                    raise Retry("malformed answer (not JSON)") from None
                return parse(body)
            except Retry as exc:
                self.retries[exc.reason] += 1
                if attempt == self.settings.retries or self.stopped.is_set():
                    raise
                if self.retries.total() in (1, 10, 100, 1000):
                    LOG.warning("server: %s from %s; retrying (%d retries so far: %s)", exc.reason, url,
                                self.retries.total(), dict(self.retries.most_common(3)))
                await asyncio.sleep(_wait_s(attempt, self.settings.backoff_s, exc.wait_s))
        raise AssertionError("unreachable")


class ServerEngine:
    """Running OpenAI-compatible servers behind the Engine interface; `tokenizer` is the model's own."""

    def __init__(self, settings: ServerSettings, tokenizer: Any, max_model_len: int) -> None:
        self.settings = settings
        self.tokenizer = tokenizer
        self.max_model_len = max_model_len
        self.served = [self._probe(url) for url in settings.base_urls]
        self.last_retries: Counter[str] = Counter()

    def _probe(self, base_url: str) -> dict[str, Any]:
        """The served model's entry of /models on one replica: it must answer and serve `settings.model`."""
        import httpx2

        key = self.settings.api_key()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        try:
            answer = httpx2.get(f"{base_url}/models", headers=headers, timeout=30.0, trust_env=False)
            answer.raise_for_status()
            models = answer.json()["data"]
            names = [m["id"] for m in models]
        except (httpx2.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"server {base_url}: GET /models failed ({type(exc).__name__}: {exc}); is the server "
                            "running and is base_url its /v1 address? (README: Sampling from a server)") from None
        if self.settings.model not in names:
            raise UserError(f"server {base_url} serves {names}, not {self.settings.model!r}: set the model's "
                            "server.model to the served name (vllm serve --served-model-name)")
        entry = next(m for m in models if m["id"] == self.settings.model)
        limit = entry.get("max_model_len")
        if isinstance(limit, int) and limit < self.max_model_len:
            raise UserError(f"server {base_url} serves {self.settings.model} with max_model_len {limit}, below the "
                            f"model's max_model_len {self.max_model_len}: lower it in the config or restart the "
                            "server with a larger --max-model-len")
        return {"base_url": base_url, "id": entry.get("id"), "root": entry.get("root"), "max_model_len": limit}

    def describe(self) -> dict[str, Any]:
        return {"engine": "server", "served": self.served, "concurrency": self.settings.concurrency,
                "timeout_s": self.settings.timeout_s, "retries": self.settings.retries,
                "retried": dict(self.last_retries), "batch_invariant": False}

    def sent_parameters(self, request: Request) -> dict[str, Any]:
        payload = completion_payload(request, self.settings.model)
        return {**{k: v for k, v in payload.items() if k != "prompt"}, "prompt": "our token ids",
                "seed": "per sample (the seed column)"}

    def _outcomes(self, jobs: list[tuple[Any, dict[str, Any], Callable[[Any], Any]]], what: str
                  ) -> Iterator[tuple[Any, Any]]:
        """(key, value) of each job that succeeds, as it finishes; then a ServerFailure if any did not."""
        pool = _Pool(self.settings, jobs, "/completions")
        failures: Counter[str] = Counter()
        done = 0
        try:
            while True:
                kind, key, value = pool.outcomes.get()
                if kind == "end":
                    not_sent = key
                    break
                if kind == "done":
                    done += 1
                    yield key, value
                else:
                    failures[value] += 1
        finally:
            pool.close()
            self.last_retries = pool.retries
        if failures or not_sent:
            reasons = "; ".join(f"{count} x {reason}" for reason, count in failures.most_common(5))
            stop = (f", and {not_sent} were not sent once the servers stopped answering" if not_sent else "")
            raise ServerFailure(
                f"engine server ({', '.join(self.settings.base_urls)}): {sum(failures.values())} of {len(jobs)} "
                f"{what} failed after up to {self.settings.retries} retries ({reasons}){stop}; {done} finished "
                "and are kept: rerun once the servers answer, and only the missing ones are sent again")

    def generate(self, requests: Iterable[Request]) -> Iterator[Completion]:
        model = self.settings.model
        jobs = [(r.key, completion_payload(r, model), partial(parse_completion, r)) for r in requests]
        for _, completion in self._outcomes(jobs, "samples"):
            yield completion

    def score(self, prompt_ids: Sequence[int], response_ids: Sequence[int]) -> list[float]:
        return self.score_batch([(prompt_ids, response_ids)])[0]

    def score_batch(self, pairs: Sequence[tuple[Sequence[int], Sequence[int]]]) -> list[list[float]]:
        if any(not prompt for prompt, _ in pairs):
            raise ValueError("scoring needs a prompt token to condition the first response token on")
        model, jobs = self.settings.model, []
        for index, (prompt, response) in enumerate(pairs):
            sequence = list(prompt) + list(response)
            if len(sequence) >= self.max_model_len:
                raise ValueError(f"a scored sequence of {len(sequence)} tokens leaves no room for the one token a "
                                 f"prefill generates within max_model_len {self.max_model_len}")
            jobs.append((index, score_payload(sequence, model), partial(parse_prompt_logprobs, sequence=sequence,
                                                                        start=len(prompt))))
        results: dict[int, list[float]] = dict(self._outcomes(jobs, "scored sequences"))
        return [results[i] for i in range(len(pairs))]
