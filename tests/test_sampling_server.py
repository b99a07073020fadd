"""The server engine at its HTTP boundary: a small local server (httpfakes.CompletionsServer) stands in for `vllm
serve` here; tests marked vllm run the engine against a real one (test_sampling_server_vllm.py)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from httpfakes import CompletionsServer
from rlvr_limits.cli import main
from rlvr_limits.errors import UserError
from rlvr_limits.io import read_parquet
from rlvr_limits.sampling.requests import Request, Sampling
from rlvr_limits.sampling.serve import server_command, wait_until_serving
from rlvr_limits.sampling.server_engine import ServerEngine, ServerFailure, ServerSettings
from rlvr_limits.sampling.vllm_engine import sampling_kwargs
from test_sampling_stage import argv, setup  # noqa: F401  (the stage's tiny model, problems and arguments)

SAMPLING = Sampling(max_tokens=16, temperature=0.6, top_p=0.95, top_k=20, stop=("\n\n",), stop_token_ids=(1, 2))


def requests(n: int) -> list[Request]:
    return [Request(f"q{i // 4}", i % 4, 1000 + i, (3, 4, 5 + i % 3), SAMPLING) for i in range(n)]


def engine(*servers: CompletionsServer, **settings: object) -> ServerEngine:
    raw = {"base_url": [s.base_url for s in servers], "model": "tiny", "backoff_s": 0.0, **settings}
    return ServerEngine(ServerSettings.from_dict(raw), tokenizer=None, max_model_len=64)


def test_each_sample_is_one_request_with_our_ids_its_seed_and_every_knob() -> None:
    with CompletionsServer() as server:
        drawn = {c.key: c for c in engine(server).generate(requests(8))}
    assert len(drawn) == 8 and len(server.payloads) == 8
    by_seed = {p["seed"]: p for p in server.payloads}
    for request in requests(8):
        payload = by_seed[request.seed]
        assert payload["prompt"] == list(request.prompt_ids) and payload["model"] == "tiny"
        assert {k: payload[k] for k in sampling_kwargs(request)} == sampling_kwargs(request)
        assert payload["n"] == 1 and payload["top_k"] == 20 and payload["stop_token_ids"] == [1, 2]
        completion = drawn[request.key]
        assert completion.text == f"answer {request.seed % 10}" and completion.finish_reason == "stop"
        assert completion.record()["n_tokens"] == 3 and completion.prompt_tokens == 3
        assert completion.entropy == pytest.approx(1.0)  # minus the mean of the sampled tokens' log-probs


def test_concurrency_is_bounded_and_requests_spread_over_replicas() -> None:
    with CompletionsServer(delay_s=0.05) as first, CompletionsServer(delay_s=0.05) as second:
        drawn = list(engine(first, second, concurrency=4).generate(requests(40)))
    assert len(drawn) == 40 and len({c.key for c in drawn}) == 40
    assert len(first.payloads) == len(second.payloads) == 20
    assert first.max_in_flight + second.max_in_flight >= 2 and max(first.max_in_flight, second.max_in_flight) <= 4


def test_busy_broken_and_malformed_answers_are_retried_until_they_succeed() -> None:
    with CompletionsServer() as server:
        server.script = ["429", "500", "503", "drop", "garbage", "nochoice", "abort"]
        chosen = engine(server, concurrency=1, retries=8)
        drawn = list(chosen.generate(requests(3)))
    assert len(drawn) == 3 and len(server.payloads) == 3 + 7
    retried = chosen.describe()["retried"]
    assert retried["HTTP 429"] == retried["HTTP 503"] == retried["HTTP 500"] == 1
    assert retried["malformed answer (not JSON)"] == 1 and retried["unfinished answer (finish_reason 'abort')"] == 1


def test_a_request_past_its_timeout_is_sent_again() -> None:
    with CompletionsServer() as server:
        server.script = ["slow"]
        drawn = list(engine(server, concurrency=1, timeout_s=0.3).generate(requests(2)))
    assert len(drawn) == 2 and len(server.payloads) == 3


def test_a_dead_server_fails_the_job_and_no_failed_request_becomes_a_sample() -> None:
    """Once a request has used its retries nothing more is sent; what finished before is yielded, then the
    failure says how many failed, why, and how many were not sent."""
    with CompletionsServer() as server:
        server.script = ["ok"] * 5
        server.always = "503"
        drawn = []
        with pytest.raises(ServerFailure) as failure:
            for completion in engine(server, concurrency=2, retries=2).generate(requests(40)):
                drawn.append(completion)
    assert len(drawn) == 5 and all(c.finish_reason == "stop" for c in drawn)
    message = str(failure.value)
    assert "HTTP 503" in message and "5 finished and are kept" in message and "were not sent" in message
    assert len(server.payloads) < 40 * 3  # it stopped instead of retrying every request


def test_a_refused_request_is_not_retried_and_the_others_still_finish() -> None:
    with CompletionsServer() as server:
        server.script = ["400"]
        drawn = []
        with pytest.raises(ServerFailure, match=r"1 of 6 samples failed .*HTTP 400"):
            for completion in engine(server, concurrency=1).generate(requests(6)):
                drawn.append(completion)
    assert len(drawn) == 5 and len(server.payloads) == 6


def test_garbage_forever_is_a_failure_never_a_sample() -> None:
    with CompletionsServer() as server:
        server.always = "garbage"
        with pytest.raises(ServerFailure, match="malformed answer"):
            list(engine(server, retries=1).generate(requests(3)))


def test_without_log_probabilities_the_entropy_is_unknown() -> None:
    from rlvr_limits.sampling.server_engine import parse_completion

    body = {"choices": [{"text": "7", "finish_reason": "length", "logprobs": None}], "usage": {"completion_tokens": 4}}
    completion = parse_completion(requests(1)[0], body)
    assert math.isnan(completion.entropy) and completion.record()["n_tokens"] == 4


def test_scoring_reads_prompt_logprobs_and_a_server_without_them_is_refused() -> None:
    with CompletionsServer() as server:
        scores = engine(server).score_batch([([3, 4], [5, 6, 7]), ([9], [8])])
        assert scores == [pytest.approx([-0.2, -0.3, -0.4]), pytest.approx([-0.1])]
        assert server.payloads[0]["prompt_logprobs"] == 0 and server.payloads[0]["max_tokens"] == 1
    with CompletionsServer(prompt_logprobs=False) as server, pytest.raises(UserError, match="prompt_logprobs"):
        engine(server).score_batch([([3, 4], [5])])


def test_the_servers_are_checked_before_anything_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    with CompletionsServer(name="other") as server, \
            pytest.raises(UserError, match=r"serves \['other'\], not 'tiny'.*served-model-name"):
        engine(server)
    with CompletionsServer(max_model_len=32) as server, pytest.raises(UserError, match="max_model_len 32"):
        engine(server)
    with pytest.raises(UserError, match="is the server running"):
        ServerEngine(ServerSettings.from_dict({"base_url": "http://127.0.0.1:9/v1", "model": "tiny"}), None, 64)
    with CompletionsServer() as server:
        with pytest.raises(UserError, match="RLVR_TEST_KEY is not set"):
            engine(server, api_key_env="RLVR_TEST_KEY")
        monkeypatch.setenv("RLVR_TEST_KEY", "secret")
        list(engine(server, api_key_env="RLVR_TEST_KEY").generate(requests(1)))
        assert server.headers[0]["Authorization"] == "Bearer secret"


@pytest.mark.parametrize("raw,match", [
    ({"model": "tiny"}, "base_url"),
    ({"base_url": "localhost:8000", "model": "tiny"}, "base_url"),
    ({"base_url": "http://h/v1"}, "server.model"),
    ({"base_url": "http://h/v1", "model": "tiny", "concurrency": 0}, "concurrency must be >= 1"),
    ({"base_url": "http://h/v1", "model": "tiny", "timeout": 5}, r"unknown keys \['timeout'\]"),
])
def test_server_setting_mistakes_are_named(raw: dict, match: str) -> None:
    with pytest.raises(UserError, match=match):
        ServerSettings.from_dict(raw)


def test_the_stage_keeps_what_finished_and_the_rerun_sends_only_the_rest(setup: dict[str, Path],  # noqa: F811
                                                                          capsys: pytest.CaptureFixture) -> None:
    with CompletionsServer() as server:
        server.script = ["ok"] * 20
        server.always = "503"
        args = argv(setup, "server", engine="server",
                    server={"base_url": server.base_url, "model": "tiny", "concurrency": 1, "retries": 1,
                            "backoff_s": 0})
        assert main(args) != 0
        assert "20 finished and are kept" in capsys.readouterr().err
        journal = setup["root"] / "server" / "journal" / "p0-7_s0-7.jsonl"
        assert len(journal.read_text().splitlines()) == 1 + 20
        server.always = None
        sent_before = len(server.payloads)
        assert main(args) == 0
    assert len(server.payloads) - sent_before == 64 - 20
    table = read_parquet(setup["root"] / "server" / "p0-7_s0-7.parquet")
    assert table.height == 64 and table.select("problem_id", "sample_idx").n_unique() == 64
    assert table.sort("problem_id", "sample_idx")["text"].to_list() == [f"answer {seed % 10}" for seed in
                                                                        table.sort("problem_id", "sample_idx")["seed"]]
    side = json.loads((setup["root"] / "server" / "p0-7_s0-7.json").read_text())
    assert side["engine"]["engine"] == "server" and side["engine"]["served"][0]["id"] == "tiny"
    assert side["samples_from_journal"] == 20 and side["sampling"]["prompt"] == "our token ids"
    assert not journal.exists() and pl.Series(table["entropy"]).is_not_nan().all()


def test_serve_starts_vllm_with_what_the_engine_relies_on() -> None:
    command = server_command("/models/m", name="m", host="0.0.0.0", port=8001, max_model_len=4096, extra=("--x",))
    flags = dict(zip(command[3::2], command[4::2], strict=False))
    assert command[1:3] == ["-m", "vllm.entrypoints.openai.api_server"] and command[-1] == "--x"
    assert flags["--generation-config"] == "vllm" and flags["--logprobs-mode"] == "processed_logprobs"
    assert flags["--served-model-name"] == "m" and flags["--max-model-len"] == "4096"


def test_a_server_that_exits_before_it_answers_is_reported(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-c", "print('CUDA out of memory'); raise SystemExit(3)"],
                                   stdout=out, stderr=subprocess.STDOUT)
        with pytest.raises(UserError, match=r"exited with status 3(.|\n)*CUDA out of memory"):
            wait_until_serving("http://127.0.0.1:9/v1", process, 30, log)


def test_a_replica_that_went_away_costs_retries_not_samples() -> None:
    with CompletionsServer() as alive:
        gone = CompletionsServer().__enter__()
        chosen = engine(alive, gone, retries=2, concurrency=4)
        gone.__exit__(None, None, None)  # the replica goes away after the job started
        drawn = list(chosen.generate(requests(200)))
    assert len(drawn) == 200 and len(alive.payloads) == 200
    assert 1 <= sum(chosen.describe()["retried"].values()) <= 8  # skipped once it refused a connection
