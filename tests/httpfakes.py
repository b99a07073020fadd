"""Local HTTP servers for download tests (127.0.0.1 only; tests never touch the network).

- `FileServer`: serves bytes at paths, with scripted failures per path ("503", "truncate", "404").
- `FakeHub`: the parts of the Hugging Face Hub API that `hf_hub_download` and `snapshot_download` use:
  `GET /api/{models,datasets}/{repo}/revision/{rev}` (repo info with `sha` and `siblings`),
  `GET /api/{models,datasets}/{repo}/tree/{rev}` (file listing), and `HEAD`/`GET
  /{datasets/}{repo}/resolve/{rev}/{path}` with the `X-Repo-Commit`, `ETag` and `Content-Length` headers
  the client requires. Unknown repos, revisions and files answer 404 with the Hub's `X-Error-Code`.
  `failures[path]` scripts the next GETs of a file ("503", "truncate"), as in `FileServer`.
- `CompletionsServer`: the two routes of an OpenAI-compatible server that the server engine uses, `GET
  /v1/models` and `POST /v1/completions` (answers shaped as `vllm serve` gives them), with scripted failures
  ("429", "500", "503", "400", "drop", "slow", "garbage", "nochoice", "abort") for the next requests, and the
  largest number of requests it held at once.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit


class _Server:
    """A threaded HTTP server on an ephemeral port of 127.0.0.1, used as a context manager."""

    def __init__(self, respond: Callable[[BaseHTTPRequestHandler, bool], None]) -> None:
        self.requests: Counter[str] = Counter()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                owner.requests[f"GET {urlsplit(self.path).path}"] += 1
                respond(self, False)

            def do_HEAD(self) -> None:
                owner.requests[f"HEAD {urlsplit(self.path).path}"] += 1
                respond(self, True)

            def do_POST(self) -> None:
                owner.requests[f"POST {urlsplit(self.path).path}"] += 1
                respond(self, False)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    @staticmethod
    def send(req: BaseHTTPRequestHandler, status: int, body: bytes, head: bool = False,
             headers: dict[str, str] | None = None) -> None:
        req.send_response(status)
        for key, value in (headers or {}).items():
            req.send_header(key, value)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        if not head:
            req.wfile.write(body)


class FileServer(_Server):
    """Serves `files[path]`; `failures[path]` is a queue of behaviours applied to the next requests."""

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        super().__init__(self._respond)
        self.files: dict[str, bytes] = dict(files or {})
        self.failures: dict[str, list[str]] = {}

    def url(self, path: str) -> str:
        return self.base + path

    def _respond(self, req: BaseHTTPRequestHandler, head: bool) -> None:
        path = urlsplit(req.path).path
        queue = self.failures.get(path) or []
        behaviour = queue.pop(0) if queue else None
        if path not in self.files or behaviour == "404":
            self.send(req, 404, b"not found", head)
        elif behaviour == "503":
            self.send(req, 503, b"busy", head)
        elif behaviour == "truncate":
            body = self.files[path]
            req.send_response(200)
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            req.wfile.write(body[: len(body) // 2])
            req.wfile.flush()
            req.close_connection = True
        else:
            self.send(req, 200, self.files[path], head)


class FakeHub(_Server):
    """Hub repositories held in memory: `add(repo_id, files, repo_type, revisions)`."""

    def __init__(self) -> None:
        super().__init__(self._respond)
        self.repos: dict[tuple[str, str], dict[str, Any]] = {}
        self.failures: dict[str, list[str]] = {}

    def add(self, repo_id: str, files: dict[str, bytes], repo_type: str = "model",
            refs: tuple[str, ...] = ("main",)) -> str:
        """Add a repository with one commit; returns the commit hash. `refs` name it (branches, tags)."""
        commit = hashlib.sha1(repo_id.encode() + b"".join(sorted(files.values()))).hexdigest()
        self.repos[(repo_type, repo_id)] = {"commit": commit, "refs": set(refs), "files": dict(files)}
        return commit

    def downloads(self, path: str) -> int:
        """How many times a file was fetched (GET on a resolve URL ending in `path`)."""
        return sum(n for key, n in self.requests.items()
                   if key.startswith("GET ") and "/resolve/" in key and key.endswith("/" + path))

    def _respond(self, req: BaseHTTPRequestHandler, head: bool) -> None:
        parts = [unquote(p) for p in urlsplit(req.path).path.strip("/").split("/")]
        if parts[0] == "api" and len(parts) >= 6 and parts[1] in ("models", "datasets"):
            repo_type, repo_id, action, rev = parts[1][:-1], "/".join(parts[2:4]), parts[4], parts[5]
            repo = self._repo(req, repo_type, repo_id, rev, head)
            if repo is None:
                return
            if action == "revision":
                body = {"id": repo_id, "sha": repo["commit"], "private": False,
                        "siblings": [{"rfilename": f} for f in sorted(repo["files"])]}
            elif action == "tree":
                body = [{"type": "file", "path": f, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                        for f, data in sorted(repo["files"].items())]
            else:
                self.send(req, 404, b"unknown api", head)
                return
            self.send(req, 200, json.dumps(body).encode(), head, {"Content-Type": "application/json"})
            return
        repo_type = "model"
        if parts[0] == "datasets":
            repo_type, parts = "dataset", parts[1:]
        if len(parts) < 5 or parts[2] != "resolve":
            self.send(req, 404, b"unknown path", head)
            return
        repo = self._repo(req, repo_type, "/".join(parts[:2]), parts[3], head)
        if repo is None:
            return
        name = "/".join(parts[4:])
        if name not in repo["files"]:
            self.send(req, 404, b"entry not found", head,
                      {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": repo["commit"]})
            return
        data = repo["files"][name]
        headers = {"X-Repo-Commit": repo["commit"], "ETag": f'"{hashlib.sha256(data).hexdigest()}"'}
        queue = [] if head else self.failures.get(name) or []
        behaviour = queue.pop(0) if queue else None
        if behaviour == "503":
            self.send(req, 503, b"busy", head)
        elif behaviour == "truncate":
            req.send_response(200)
            for key, value in {**headers, "Content-Length": str(len(data))}.items():
                req.send_header(key, value)
            req.end_headers()
            req.wfile.write(data[: len(data) // 2])
            req.wfile.flush()
            req.close_connection = True
        else:
            self.send(req, 200, data, head, headers)

    def _repo(self, req: BaseHTTPRequestHandler, repo_type: str, repo_id: str, rev: str,
              head: bool) -> dict[str, Any] | None:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            self.send(req, 404, b"repository not found", head, {"X-Error-Code": "RepoNotFound"})
            return None
        if rev != repo["commit"] and rev not in repo["refs"]:
            self.send(req, 404, b"revision not found", head, {"X-Error-Code": "RevisionNotFound"})
            return None
        return repo


class CompletionsServer(_Server):
    """Serves model `name`: each completion answers `text_for(payload)` with three tokens and their log-probs.

    `script` is a list of behaviours for the next completion requests, in arrival order; `always` applies to
    every request once the script is empty. `payloads` holds every request body; `max_in_flight` the most
    requests it held at once (each answer takes `delay_s`). With `prompt_logprobs=False` it ignores them, as a
    server without vLLM's extension does.
    """

    def __init__(self, name: str = "tiny", *, delay_s: float = 0.0, max_model_len: int = 4096,
                 prompt_logprobs: bool = True, text_for: Callable[[dict], str] | None = None) -> None:
        super().__init__(self._respond)
        self.name = name
        self.delay_s = delay_s
        self.max_model_len = max_model_len
        self.prompt_logprobs = prompt_logprobs
        self.text_for = text_for or (lambda payload: f"answer {payload.get('seed', 0) % 10}")
        self.script: list[str] = []
        self.always: str | None = None
        self.payloads: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self.base + "/v1"

    def _respond(self, req: BaseHTTPRequestHandler, head: bool) -> None:
        path = urlsplit(req.path).path
        if req.command == "GET" and path == "/v1/models":
            body = {"object": "list", "data": [{"id": self.name, "object": "model", "root": "/models/" + self.name,
                                                "max_model_len": self.max_model_len}]}
            return self.send(req, 200, json.dumps(body).encode(), head)
        if req.command != "POST" or path != "/v1/completions":
            return self.send(req, 404, b'{"error": "not found"}', head)
        payload = json.loads(req.rfile.read(int(req.headers["Content-Length"])))
        with self._lock:
            self.payloads.append(payload)
            self.headers.append(dict(req.headers))
            behaviour = self.script.pop(0) if self.script else self.always
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            time.sleep(self.delay_s)
            self._answer(req, payload, behaviour)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, req: BaseHTTPRequestHandler, payload: dict, behaviour: str | None) -> None:
        if behaviour in ("429", "500", "503", "400"):
            headers = {"Retry-After": "0"} if behaviour in ("429", "503") else {}
            return self.send(req, int(behaviour), b'{"error": "scripted"}', headers=headers)
        if behaviour == "drop":
            req.close_connection = True
            req.connection.shutdown(2)
            return None
        if behaviour == "slow":
            time.sleep(2.0)
        if behaviour == "garbage":
            return self.send(req, 200, b"<html>502 Bad Gateway</html>")
        choice: dict = {"index": 0, "text": self.text_for(payload), "token_ids": [5, 6, 7],
                        "finish_reason": "abort" if behaviour == "abort" else "stop",
                        "logprobs": {"token_logprobs": [-0.5, -1.0, -1.5], "tokens": ["a", "b", "c"]}
                        if payload.get("logprobs") is not None else None}
        if payload.get("prompt_logprobs") is not None and self.prompt_logprobs:
            ids = payload["prompt"]
            choice["prompt_logprobs"] = [None] + [{str(t): {"logprob": -0.1 * i, "rank": 1}}
                                                  for i, t in enumerate(ids[1:], start=1)]
        body = {"id": "cmpl-1", "object": "text_completion", "model": self.name,
                "choices": [] if behaviour == "nochoice" else [choice],
                "usage": {"prompt_tokens": len(payload["prompt"]), "completion_tokens": 3, "total_tokens": 3}}
        return self.send(req, 200, json.dumps(body).encode())
