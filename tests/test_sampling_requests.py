"""Per-sample seeds, sampling-parameter validation and the shard plan."""

from __future__ import annotations

import subprocess
import sys
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlvr_limits.errors import UserError
from rlvr_limits.sampling.requests import Sampling, sample_seed
from rlvr_limits.sampling.shards import find_shard, plan_shards, shard_ids


def test_seed_is_pinned_and_63_bit() -> None:
    # Pinned values: changing the scheme would silently change every sample of every rerun.
    assert sample_seed(1234, "toy_base", "toy_arith", "p0001", 0) == 6100947144402510598
    assert sample_seed(1234, "toy_base", "toy_arith", "p0001", 1) == 633589601848062957


def test_seed_is_the_same_in_another_process() -> None:
    code = ("from rlvr_limits.sampling.requests import sample_seed;"
            "print(sample_seed(7, 'm', 'b', 'q-9', 3))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345"})
    assert int(out.stdout) == sample_seed(7, "m", "b", "q-9", 3)


@given(st.integers(0, 2**40), st.text(max_size=8), st.text(max_size=8), st.text(max_size=8),
       st.integers(0, 10**6))
def test_seed_range(seed: int, model: str, bench: str, pid: str, idx: int) -> None:
    assert 0 <= sample_seed(seed, model, bench, pid, idx) < 2**63


def test_seeds_are_distinct_and_not_consecutive() -> None:
    seeds = [sample_seed(1, "m", "b", f"p{p}", i) for p in range(20) for i in range(256)]
    assert len(set(seeds)) == len(seeds)
    ordered = sorted(seeds)
    # vLLM's n>1 children use seed, seed+1, ...: no two samples may sit within 1024 of each other.
    assert min(b - a for a, b in pairwise(ordered)) > 1024
    assert sample_seed(1, "m", "b", "p0", 0) != sample_seed(1, "m2", "b", "p0", 0)
    assert sample_seed(1, "m", "b", "p0", 0) != sample_seed(2, "m", "b", "p0", 0)


@pytest.mark.parametrize("kwargs", [
    {"max_tokens": 0}, {"max_tokens": 5, "temperature": -0.1}, {"max_tokens": 5, "top_p": 0.0},
    {"max_tokens": 5, "top_p": 1.5}, {"max_tokens": 5, "top_k": 0}, {"max_tokens": 5, "stop": ("",)},
])
def test_sampling_refuses_bad_values(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Sampling(**kwargs)


@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 50), st.integers(1, 50))
def test_shards_cover_every_sample_once(n_problems: int, n_samples: int, per_p: int, per_s: int) -> None:
    shards = plan_shards(n_problems, n_samples, per_p, per_s)
    cells = [(p, s) for sh in shards for p in range(sh.problem_start, sh.problem_stop)
             for s in range(sh.sample_start, sh.sample_stop)]
    assert len(cells) == len(set(cells)) == n_problems * n_samples
    assert sum(sh.size for sh in shards) == n_problems * n_samples
    assert [sh.id for sh in shards] == shard_ids(n_problems, n_samples, per_p, per_s)
    assert len({len(sh.id) for sh in shards}) == 1


def test_shard_ids_are_zero_padded_and_problem_major() -> None:
    shards = plan_shards(5, 10, 2, 4)
    assert [s.id for s in shards] == [f"{i:03d}" for i in range(9)]
    assert (shards[1].problem_start, shards[1].sample_start, shards[1].sample_stop) == (0, 4, 8)
    assert (shards[-1].problem_start, shards[-1].problem_stop, shards[-1].sample_stop) == (4, 5, 10)
    assert shard_ids(1001, 1, 1, 1)[-1] == "1000"


@pytest.mark.parametrize("args,key", [((0, 4, 1, 1), "problems"), ((3, 4, 0, 1), "sampling.shard.problems"),
                                      ((3, 4, 1, -2), "sampling.shard.samples"), ((3, True, 1, 1), "n_samples")])
def test_shard_plan_errors_name_the_key(args: tuple, key: str) -> None:
    with pytest.raises(UserError, match=key):
        plan_shards(*args)


def test_unknown_shard_id() -> None:
    with pytest.raises(UserError, match=r"000 \.\. 003"):
        find_shard(plan_shards(4, 1, 1, 1), "007")
