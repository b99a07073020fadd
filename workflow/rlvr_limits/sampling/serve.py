"""`python -m rlvr_limits serve`: start vLLM's OpenAI-compatible server for engine server, and wait until it answers.

    python -m rlvr_limits serve --model Qwen/Qwen2.5-7B --name qwen7b --port 8000 --max-model-len 4096 \\
        [--dtype bfloat16] [--tensor-parallel 2] [--gpu-memory-utilization 0.9] [--seed 0] [-- <more vllm options>]

It runs `python -m vllm.entrypoints.openai.api_server` (what `vllm serve` runs; the CLI alias is missing from vLLM's
CPU build) with the settings the server engine relies on: `--generation-config vllm`, so nothing of the model's
generation_config.json changes a request, and `--logprobs-mode processed_logprobs`, so the log-probabilities sent
back are those of the distribution each token was drawn from (the entropy column). Once `GET /v1/models` answers it
logs the base_url to put in the config and stays in the foreground until the server exits or the command is
interrupted (then it stops the server), so a cluster job can run it beside a workflow.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rlvr_limits.errors import UserError
from rlvr_limits.progress import LOG


def server_command(model: str, *, name: str, host: str, port: int, max_model_len: int, dtype: str = "auto",
                   tensor_parallel: int = 1, gpu_memory_utilization: float = 0.9, seed: int = 0,
                   extra: tuple[str, ...] = ()) -> list[str]:
    """The command line of a vLLM server the server engine can sample from as it samples in process."""
    return [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model, "--served-model-name", name,
            "--host", host, "--port", str(port), "--max-model-len", str(max_model_len), "--dtype", dtype,
            "--tensor-parallel-size", str(tensor_parallel), "--gpu-memory-utilization", str(gpu_memory_utilization),
            "--seed", str(seed), "--generation-config", "vllm", "--logprobs-mode", "processed_logprobs", *extra]


def wait_until_serving(base_url: str, process: subprocess.Popen, timeout_s: float, log: Path | None = None) -> None:
    """Poll `GET {base_url}/models` until it answers; a server that exits or never answers is an error."""
    import httpx2

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
            raise UserError(f"the server exited with status {process.returncode} before it answered"
                            + (f"; the end of {log}:\n{tail}" if tail else ""))
        try:
            if httpx2.get(f"{base_url}/models", timeout=5.0, trust_env=False).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(1.0)
    raise UserError(f"the server at {base_url} did not answer within {timeout_s:g} s"
                    + (f" (its log: {log})" if log is not None else ""))


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a local model directory or a hub id")
    parser.add_argument("--name", required=True, help="the served model name (the config's server.model)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for other nodes)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--max-model-len", type=int, required=True, help="at least the model's max_model_len")
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    parser.add_argument("--tensor-parallel", type=int, default=1)
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for the server to answer")
    parser.add_argument("--server-log", type=Path, help="write the server's output here (default: inherited)")
    parser.add_argument("extra", nargs="*", help="after --: more options for vLLM's server")


def _stop(signum: int, frame: object) -> None:
    sys.exit(128 + signum)


def run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _stop)  # a cancelled job stops its server too (the `finally` below)
    command = server_command(args.model, name=args.name, host=args.host, port=args.port,
                             max_model_len=args.max_model_len, dtype=args.dtype, tensor_parallel=args.tensor_parallel,
                             gpu_memory_utilization=args.gpu_memory_utilization, seed=args.seed,
                             extra=tuple(args.extra))
    output = open(args.server_log, "ab") if args.server_log else None  # noqa: SIM115 (open for the server's lifetime)
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT if output else None,
                               start_new_session=True)
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    base_url = f"http://{host}:{args.port}/v1"
    try:
        LOG.info("serve: starting %s as %r (pid %d)", args.model, args.name, process.pid)
        wait_until_serving(base_url, process, args.timeout, args.server_log)
        LOG.info("serve: %s answers at %s (server.base_url; from other nodes use this machine's address)",
                 args.name, base_url)
        return process.wait()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if output is not None:
            output.close()
