"""The sample store: block names, the plan (reuse what is drawn, tile what is missing, the same names after a
partial draw), what a plan says, and reading exactly the first n samples of the first problems."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr_limits.errors import UserError
from rlvr_limits.io import write_parquet
from rlvr_limits.sampling.store import (
    Block,
    describe_plan,
    draw_id,
    existing_blocks,
    plan_blocks,
    read_samples,
)
from rlvr_limits.tables import SAMPLE_COLUMNS, conform


def cells(blocks, n_problems: int | None = None, n_samples: int | None = None) -> list[tuple[int, int]]:
    return [(p, s) for b in blocks for p in range(b.problem_start, b.problem_stop)
            for s in range(b.sample_start, b.sample_stop)
            if (n_problems is None or p < n_problems) and (n_samples is None or s < n_samples)]


def demand(regions) -> set[tuple[int, int]]:
    return {(p, s) for n_p, n_s in regions for p in range(n_p) for s in range(n_s)}


def test_block_names_are_inclusive_ranges() -> None:
    block = Block.parse("p0-99_s256-511")
    assert block == Block(0, 100, 256, 512) and block.name == "p0-99_s256-511" and block.size == 100 * 256
    for bad, match in (("000", "not a sample block name"), ("p3-1_s0-0", "ends before it starts"),
                       ("p0-1_s0-1.parquet", "not a sample block name")):
        with pytest.raises(UserError, match=match):
            Block.parse(bad)


def test_the_demo_moves_of_the_issue() -> None:
    """100 problems in blocks of 100 x 256: drawn at n=256, then n=512, n=128, another layout, a raised limit."""
    first = plan_blocks([(100, 256)], [], 100, 256)
    assert first.new == (Block(0, 100, 0, 256),) and not first.reused
    grown = plan_blocks([(100, 512)], first.new, 100, 256)
    assert grown.reused == first.new and grown.new == (Block(0, 100, 256, 512),)
    assert plan_blocks([(100, 128)], first.new, 100, 256).new == ()
    assert plan_blocks([(100, 256)], first.new, 50, 128).new == ()
    fewer = plan_blocks([(60, 256)], [], 100, 256)
    assert plan_blocks([(100, 256)], fewer.new, 100, 256).new == (Block(60, 100, 0, 256),)


def test_a_grown_n_is_cut_by_the_grid() -> None:
    """n 300 -> 1024 in blocks of 128 samples: the ragged end is filled up to the grid line, then whole blocks."""
    drawn = plan_blocks([(30, 300)], [], 100, 128).new
    assert [b.name for b in drawn] == ["p0-29_s0-127", "p0-29_s128-255", "p0-29_s256-299"]
    grown = plan_blocks([(30, 1024)], drawn, 100, 128)
    assert [b.name for b in grown.new] == ["p0-29_s300-383"] + [f"p0-29_s{s}-{s + 127}" for s in range(384, 1024, 128)]


def test_aliases_share_one_draw() -> None:
    """Two benchmarks reading one dataset at n=128 and n=256: one plan covers the union; each reads its part."""
    plan = plan_blocks([(500, 128), (500, 256)], [], 100, 128)
    assert len(plan.new) == 10 and plan.samples(plan.new, [(500, 128), (500, 256)]) == 500 * 256
    assert all(b.sample_stop <= 128 for b in plan.blocks_for(500, 128)) and len(plan.blocks_for(500, 128)) == 5


def test_overlapping_blocks_on_disk_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="blocks p0-9_s0-9 and p5-14_s5-14 hold some of the same samples"):
        plan_blocks([(20, 20)], [Block(0, 10, 0, 10), Block(5, 15, 5, 15)], 10, 10, tmp_path)


@pytest.mark.parametrize("args,key", [([(0, 4)], "number of problems"), ([(3, 4)], "sampling.shard.problems"),
                                      ([(3, True)], "n_samples")])
def test_plan_errors_name_the_key(args: list, key: str) -> None:
    with pytest.raises(UserError, match=key):
        plan_blocks(args, [], 0 if key == "sampling.shard.problems" else 2, 3)


regions_st = st.lists(st.tuples(st.integers(1, 25), st.integers(1, 40)), min_size=1, max_size=3)
layout_st = st.tuples(st.integers(1, 12), st.integers(1, 16))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(regions_st, layout_st), min_size=1, max_size=4), regions_st, layout_st,
       st.lists(st.booleans(), max_size=40))
def test_any_history_covers_the_demand_once_and_a_partial_draw_plans_the_same_rest(
        history, regions, layout, drawn_mask) -> None:
    """Whatever configs drew before (other n, limits, layouts), the plan reuses drawn blocks, draws each missing
    cell exactly once in blocks no larger than the layout, and after drawing any subset of its new blocks the
    next plan names exactly the rest."""
    existing: list[Block] = []
    for past_regions, past_layout in history:
        existing += plan_blocks(past_regions, existing, *past_layout).new
    plan = plan_blocks(regions, existing, *layout)
    wanted = demand(regions)
    reused_cells = set(cells(plan.reused)) & wanted
    new_cells = cells(plan.new)
    assert len(new_cells) == len(set(new_cells)) and set(new_cells) <= wanted
    assert reused_cells | set(new_cells) == wanted and not reused_cells & set(new_cells)
    assert set(plan.reused) <= set(existing)
    assert all(b.problem_stop - b.problem_start <= layout[0] and b.sample_stop - b.sample_start <= layout[1]
               for b in plan.new)
    assert plan.samples(plan.new, regions) == len(new_cells)
    drawn = [b for b, keep in zip(plan.new, drawn_mask, strict=False) if keep]
    rest = plan_blocks(regions, existing + drawn, *layout)
    assert rest.new == tuple(b for b in plan.new if b not in drawn)


def sample_rows(problems: range, indices: range, text: str = "x") -> pl.DataFrame:
    return conform(pl.DataFrame({"problem_id": [f"q{p}" for p in problems for _ in indices],
                                 "sample_idx": [i for _ in problems for i in indices], "seed": 1, "text": text,
                                 "prompt_tokens": 1, "n_tokens": 1, "finish_reason": "stop", "entropy": 0.1}),
                   SAMPLE_COLUMNS)


def test_read_samples_takes_the_first_n_of_the_first_problems(tmp_path: Path) -> None:
    ids = [f"q{p}" for p in range(6)]
    paths = []
    for block in (Block(0, 6, 0, 4), Block(0, 6, 4, 8)):
        path = tmp_path / f"{block.name}.parquet"
        write_parquet(sample_rows(range(6), range(block.sample_start, block.sample_stop)), path)
        paths.append(str(path))
    table = read_samples(paths[::-1], ids, 3, 5)
    assert table.select("problem_id", "sample_idx").rows() == [(f"q{p}", i) for p in range(3) for i in range(5)]
    with pytest.raises(UserError, match=r"expected samples 0\.\.8 of each of 3 problems; 3 problems have another"):
        read_samples(paths, ids, 3, 9)
    with pytest.raises(UserError, match="is in more than one block"):
        twin = tmp_path / "other" / "p0-5_s0-3.parquet"
        write_parquet(sample_rows(range(6), range(4)), twin)
        read_samples([*paths, str(twin)], ids, 3, 4)


def test_read_samples_refuses_a_block_that_is_not_what_its_name_says(tmp_path: Path) -> None:
    ids = [f"q{p}" for p in range(6)]
    short = tmp_path / "p0-5_s0-3.parquet"
    write_parquet(sample_rows(range(6), range(3)), short)
    with pytest.raises(UserError, match="holds 18 samples that are not the 24 its name gives"):
        read_samples([str(short)], ids, 6, 3)
    shifted = tmp_path / "p1-2_s0-0.parquet"  # the problems of another position (another problem table)
    write_parquet(sample_rows(range(2), range(1)), shifted)
    with pytest.raises(UserError, match=r"p1-2_s0-0\.parquet: holds 2 samples that are not the 2"):
        read_samples([str(shifted)], ids, 3, 1)


def test_a_plan_says_what_it_reuses_and_why_it_draws_anew(tmp_path: Path) -> None:
    identity = {"model": "m", "dataset": "d", "temperature": 1.0, "seed": 1}
    old = tmp_path / "results" / "samples" / "m" / "d" / draw_id(identity)
    old.mkdir(parents=True)
    write_parquet(sample_rows(range(4), range(8)), old / "p0-3_s0-7.parquet")
    (old / "p0-3_s0-7.json").write_text(json.dumps({"draw": {"id": old.name, "identity": identity}}))
    assert existing_blocks(old) == [Block(0, 4, 0, 8)]
    grown = plan_blocks([(4, 16)], existing_blocks(old), 4, 8)
    assert describe_plan(old, grown, [(4, 16)], identity) == (
        f"{old}: 32 samples to draw in 1 block(s) (p0-3_s8-15); 32 drawn before are reused")
    assert describe_plan(old, plan_blocks([(4, 4)], existing_blocks(old), 4, 8), [(4, 4)], identity) is None
    cooler = {**identity, "temperature": 0.6}
    new = old.parent / draw_id(cooler)
    note = describe_plan(new, plan_blocks([(4, 8)], [], 4, 8), [(4, 8)], cooler)
    assert "32 samples to draw" in note and f"({old}: temperature 1.0 -> 0.6)" in note
