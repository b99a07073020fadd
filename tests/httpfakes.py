"""Local HTTP servers for download tests (127.0.0.1 only; tests never touch the network).

- `FileServer`: serves bytes at paths, with scripted failures per path ("503", "truncate", "404").
- `FakeHub`: the parts of the Hugging Face Hub API that `hf_hub_download` and `snapshot_download` use:
  `GET /api/{models,datasets}/{repo}/revision/{rev}` (repo info with `sha` and `siblings`),
  `GET /api/{models,datasets}/{repo}/tree/{rev}` (file listing), and `HEAD`/`GET
  /{datasets/}{repo}/resolve/{rev}/{path}` with the `X-Repo-Commit`, `ETag` and `Content-Length` headers
  the client requires. Unknown repos, revisions and files answer 404 with the Hub's `X-Error-Code`.
  `failures[path]` scripts the next GETs of a file ("503", "truncate"), as in `FileServer`.
"""

from __future__ import annotations

import hashlib
import json
import threading
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
