"""The sample store: which samples exist and which are missing.

A sample is what its draw, its problem and its index determine. The *draw* is everything that shapes the
stream of one sample: the model, the prompt template's content, the sampling parameters, max_tokens, the engine
settings that change the numbers (engine, dtype, tensor parallelism, batch invariance), the root seed and the
sampling behaviour of this code. Not n_samples, k_max, the job layout or the problem subset. The draw's digest
names a folder, and samples live there in *blocks* named by what they hold:

    results/samples/{model}/{dataset}/{draw}/p{first}-{last}_s{first}-{last}.parquet

problems first..last (positions in the benchmark's problem table) x sample indices first..last. A block, once
drawn, is never renamed or drawn again. A configuration asks for a *region* per benchmark (its first `limit`
problems x indices 0..n_samples-1); benchmarks that read the same dataset with the same draw (`dataset:`
aliases) share one store. `plan_blocks` reuses every existing block that holds part of the demand and tiles the
missing cells into new blocks of at most `shard.problems` x `shard.samples`, aligned to that grid. The tiling is
a function of the existing blocks' edges, the grid and the regions only, and every new block is bounded by
those lines, so a partly drawn plan plans the same remaining blocks again: a rerun after a crash, or a cluster
job parsing the workflow anew, sees the same names.

The Snakefile imports this module while building the DAG, so it imports nothing heavy at module level (the
reader of block tables imports polars when called).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlvr_limits.errors import UserError

if TYPE_CHECKING:
    import polars as pl

#: Where the draws' folders live, relative to the run's working directory.
SAMPLES = Path("results/samples")

#: Part of every draw's identity: bump it when a change in workflow/rlvr_limits/sampling alters the samples a
#: draw holds (every draw then gets a new folder and is drawn again). Other edits of the sampling code never
#: resample.
SAMPLING_BEHAVIOUR = 1

#: Regular expression of a block's name (Snakemake wildcard constraint).
BLOCK_PATTERN = r"p\d+-\d+_s\d+-\d+"
#: A draw's folder name: the first 12 hex digits of the identity's sha256.
DRAW_PATTERN = r"[0-9a-f]{12}"
#: The folder of a model's samples imported from another harness's files (sampling/import_stage.py), in place of
#: a draw: `results/samples/{model}/{dataset}/imported/p0-<P-1>_s0-<n-1>.parquet`.
IMPORTED = "imported"
_BLOCK = re.compile(r"p(\d+)-(\d+)_s(\d+)-(\d+)")


@dataclass(frozen=True, order=True)
class Block:
    """Problems [problem_start, problem_stop) x sample indices [sample_start, sample_stop)."""

    problem_start: int
    problem_stop: int
    sample_start: int
    sample_stop: int

    @property
    def name(self) -> str:
        """The file stem: inclusive ranges, as a reader counts problems and samples."""
        return f"p{self.problem_start}-{self.problem_stop - 1}_s{self.sample_start}-{self.sample_stop - 1}"

    @classmethod
    def parse(cls, name: str) -> Block:
        match = _BLOCK.fullmatch(name)
        if match is None:
            raise UserError(f"{name!r} is not a sample block name (p<first>-<last>_s<first>-<last>, e.g. "
                            "p0-99_s0-255)")
        p0, p1, s0, s1 = map(int, match.groups())
        if p1 < p0 or s1 < s0:
            raise UserError(f"sample block {name!r}: a range ends before it starts")
        return cls(p0, p1 + 1, s0, s1 + 1)

    @property
    def size(self) -> int:
        return (self.problem_stop - self.problem_start) * (self.sample_stop - self.sample_start)

    def overlaps(self, other: Block) -> bool:
        return (self.problem_start < other.problem_stop and other.problem_start < self.problem_stop
                and self.sample_start < other.sample_stop and other.sample_start < self.sample_stop)

    def within(self, n_problems: int, n_samples: int) -> Block | None:
        """The part of this block inside the region [0, n_problems) x [0, n_samples), if any."""
        clipped = Block(self.problem_start, min(self.problem_stop, n_problems),
                        self.sample_start, min(self.sample_stop, n_samples))
        if clipped.problem_start >= clipped.problem_stop or clipped.sample_start >= clipped.sample_stop:
            return None
        return clipped


def draw_id(identity: dict[str, Any]) -> str:
    """The draw's folder name: a digest of its identity (canonical JSON)."""
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def draw_folder(model: str, dataset: str, draw: str) -> Path:
    return SAMPLES / model / dataset / draw


def block_path(folder: Path, block: Block) -> str:
    return str(folder / f"{block.name}.parquet")


def existing_blocks(folder: Path) -> list[Block]:
    """The blocks whose table is in `folder` (a journal or a temporary file of a running job is not a block)."""
    if not folder.is_dir():
        return []
    blocks = []
    for path in folder.glob("*.parquet"):
        if _BLOCK.fullmatch(path.stem):
            blocks.append(Block.parse(path.stem))
    return sorted(blocks)


@dataclass(frozen=True)
class Plan:
    """The blocks of one draw that a configuration reads: `reused` exist, `new` are still to draw."""

    reused: tuple[Block, ...]
    new: tuple[Block, ...]

    def blocks_for(self, n_problems: int, n_samples: int) -> list[Block]:
        """The blocks that hold part of the region [0, n_problems) x [0, n_samples), sorted."""
        return sorted(b for b in (*self.reused, *self.new) if b.within(n_problems, n_samples))

    def samples(self, blocks: Iterable[Block], regions: Sequence[tuple[int, int]]) -> int:
        """How many cells of the demand the given blocks hold."""
        return sum(_demand_cells(block, regions) for block in blocks)


def _demand_cells(block: Block, regions: Sequence[tuple[int, int]]) -> int:
    """Cells of `block` inside the union of regions anchored at (0, 0) (a staircase: count column by column)."""
    total = 0
    for p0, p1, depth in _staircase(regions):
        rows = max(0, min(block.problem_stop, p1) - max(block.problem_start, p0))
        total += rows * max(0, min(block.sample_stop, depth) - block.sample_start)
    return total


def _staircase(regions: Sequence[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """The union of regions [0, P) x [0, N) as problem bands (p0, p1, samples wanted there)."""
    cuts = sorted({0, *(p for p, _ in regions)})
    bands = []
    for p0, p1 in pairwise(cuts):
        depth = max((n for p, n in regions if p >= p1), default=0)
        if depth:
            bands.append((p0, p1, depth))
    return bands


def _check_disjoint(blocks: Sequence[Block], folder: Path) -> None:
    for i, block in enumerate(blocks):
        for other in blocks[i + 1:]:
            if other.problem_start >= block.problem_stop:
                break  # sorted by problem_start: no later block reaches back into this one
            if block.overlaps(other):
                raise UserError(f"{folder}: blocks {block.name} and {other.name} hold some of the same samples; "
                                "a draw holds each sample once (were files copied in?): delete one of them")


def plan_blocks(regions: Sequence[tuple[int, int]], existing: Sequence[Block], problems_per_block: int,
                samples_per_block: int, folder: Path = SAMPLES) -> Plan:
    """Reuse the existing blocks that hold part of the demand and tile the missing cells into new blocks.

    `regions` are (n_problems, n_samples) pairs, each asking for [0, n_problems) x [0, n_samples). The missing
    cells are cut by every line of the grid (multiples of the block size), of the regions and of the existing
    blocks; inside each grid cell, a problem strip's maximal runs of missing sample ranges become blocks, and a
    run shared by consecutive strips is one block. Drawing some of the new blocks only covers cells, and the
    lines stay the same, so the remaining blocks are planned again under the same names.
    """
    _check_positive(problems_per_block, "sampling.shard.problems")
    _check_positive(samples_per_block, "sampling.shard.samples")
    for n_problems, n_samples in regions:
        _check_positive(n_problems, "number of problems")
        _check_positive(n_samples, "n_samples")
    existing = sorted(existing)
    _check_disjoint(existing, folder)
    bands = _staircase(regions)
    reused = tuple(b for b in existing if _demand_cells(b, regions))
    top_p = max(p for p, _ in regions)
    top_s = max(n for _, n in regions)

    def lines(top: int, step: int, edges: Iterable[int]) -> list[int]:
        return sorted({*range(0, top, step), top, *(e for e in edges if 0 < e < top)})

    p_lines = lines(top_p, problems_per_block, [p for p, _ in regions]
                    + [e for b in existing for e in (b.problem_start, b.problem_stop)])
    s_lines = lines(top_s, samples_per_block, [n for _, n in regions]
                    + [e for b in existing for e in (b.sample_start, b.sample_stop)])

    def missing(p0: int, p1: int, s0: int, s1: int) -> bool:
        wanted = any(b0 <= p0 and p1 <= b1 and s1 <= depth for b0, b1, depth in bands)
        return wanted and not any(b.problem_start <= p0 and p1 <= b.problem_stop and b.sample_start <= s0
                                  and s1 <= b.sample_stop for b in reused)

    new: list[Block] = []
    for g_p in range(0, top_p, problems_per_block):
        strips = [(a, b) for a, b in pairwise(p_lines)
                  if g_p <= a and b <= g_p + problems_per_block]
        for g_s in range(0, top_s, samples_per_block):
            cells = [(a, b) for a, b in pairwise(s_lines)
                     if g_s <= a and b <= g_s + samples_per_block]
            open_runs: dict[tuple[int, int], int] = {}  # run -> first problem of the block it grows
            for p0, p1 in strips:
                runs = set(_runs([(s0, s1) for s0, s1 in cells if missing(p0, p1, s0, s1)]))
                for run in [r for r in open_runs if r not in runs]:
                    new.append(Block(open_runs.pop(run), p0, *run))
                for run in runs:
                    open_runs.setdefault(run, p0)
            last = strips[-1][1] if strips else g_p
            new += [Block(start, last, *run) for run, start in open_runs.items()]
    return Plan(reused, tuple(sorted(new)))


def _runs(cells: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Maximal runs of adjacent [start, stop) cells (given in order)."""
    runs: list[tuple[int, int]] = []
    for s0, s1 in cells:
        if runs and runs[-1][1] == s0:
            runs[-1] = (runs[-1][0], s1)
        else:
            runs.append((s0, s1))
    return runs


def _check_positive(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"{what} must be a positive integer, got {value!r}")


def parse_region(text: str, option: str) -> tuple[int, int]:
    """A region given on a command line: JSON {"problems": P, "samples": N} of positive integers."""
    try:
        region = json.loads(text)
    except json.JSONDecodeError:
        region = None
    if not (isinstance(region, dict) and set(region) == {"problems", "samples"}
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in region.values())):
        raise UserError(f"{option} {text!r}: expected a JSON object {{\"problems\": P, \"samples\": N}} of "
                        "positive integers")
    return region["problems"], region["samples"]


def read_samples(paths: Sequence[str], problem_ids: Sequence[str], n_problems: int, n_samples: int) -> pl.DataFrame:
    """Samples 0..n_samples-1 of each of the first `n_problems` of `problem_ids` (the problem table's ids, in
    order) from the block tables `paths`, each exactly once, sorted by problem and index: what is read never
    depends on which blocks hold it.

    A block's table must hold exactly the problems and indices its name gives, so a truncated file, or a block
    drawn from another problem table, is refused."""
    import polars as pl

    from rlvr_limits.io import read_parquet
    from rlvr_limits.tables import SAMPLE_COLUMNS

    wanted = list(problem_ids[:n_problems])
    frames = []
    for path in paths:
        table = read_parquet(path, required=SAMPLE_COLUMNS).select(list(SAMPLE_COLUMNS))
        block = Block.parse(Path(path).stem)
        held = set(zip(table["problem_id"], table["sample_idx"], strict=True))
        named = {(p, i) for p in problem_ids[block.problem_start:block.problem_stop]
                 for i in range(block.sample_start, block.sample_stop)}
        if held != named or table.height != len(named):
            raise UserError(f"{path}: holds {table.height} samples that are not the {len(named)} its name gives "
                            f"(problems {block.problem_start}..{block.problem_stop - 1} of the problem table x "
                            f"indices {block.sample_start}..{block.sample_stop - 1}); delete it to draw the block "
                            "again")
        frames.append(table.filter(pl.col("problem_id").is_in(wanted) & (pl.col("sample_idx") < n_samples))
                      .with_columns(_block=pl.lit(path)))
    if not frames:
        raise UserError(f"no sample blocks given for {len(wanted)} problems x {n_samples} samples")
    samples = pl.concat(frames)
    dupes = samples.group_by("problem_id", "sample_idx").agg(pl.col("_block")).filter(pl.col("_block").list.len() > 1)
    if dupes.height:
        row = dupes.row(0, named=True)
        raise UserError(f"sample {row['sample_idx']} of problem {row['problem_id']} is in more than one block: "
                        f"{', '.join(row['_block'])}")
    counts = dict(samples.group_by("problem_id").len().iter_rows())
    short = [(p, counts.get(p, 0)) for p in wanted if counts.get(p, 0) != n_samples]
    if short:
        listed = ", ".join(f"{p} ({c})" for p, c in short[:5])
        raise UserError(f"blocks {', '.join(paths)}: expected samples 0..{n_samples - 1} of each of {len(wanted)} "
                        f"problems; {len(short)} problems have another count: {listed}")
    return samples.drop("_block").sort("problem_id", "sample_idx")


def recorded_identity(folder: Path) -> dict[str, Any] | None:
    """The draw identity a block sidecar in `folder` records (None when no sidecar there is readable)."""
    for sidecar in sorted(folder.glob("*.json")):
        try:
            identity = json.loads(sidecar.read_text(encoding="utf-8"))["draw"]["identity"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(identity, dict):
            return identity
    return None


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(set(old) | set(new))
    changed = [f"{k} {json.dumps(old.get(k))} -> {json.dumps(new.get(k))}" for k in keys if old.get(k) != new.get(k)]
    return ", ".join(changed) or "no recorded difference"


def describe_plan(folder: Path, plan: Plan, regions: Sequence[tuple[int, int]], identity: dict[str, Any]) -> str | None:
    """One line on what a run draws in `folder` and why, when that is news: some of the demand is drawn
    already, or samples of the same model and dataset exist under other settings. None otherwise."""
    if not plan.new:
        return None
    to_draw = plan.samples(plan.new, regions)
    names = ", ".join(b.name for b in plan.new[:4]) + (", ..." if len(plan.new) > 4 else "")
    line = f"{folder}: {to_draw:,} samples to draw in {len(plan.new)} block(s) ({names})"
    if plan.reused:
        return f"{line}; {plan.samples(plan.reused, regions):,} drawn before are reused"
    others = sorted((p for p in folder.parent.glob("*") if p.is_dir() and p != folder and existing_blocks(p)),
                    key=lambda p: p.stat().st_mtime)
    if not others:
        return None
    old = recorded_identity(others[-1])
    why = _differences(old, identity) if old is not None else "its blocks have no readable sidecar"
    return (f"{line}; samples of this model and dataset exist under other draw settings and are kept, not "
            f"reused ({others[-1]}: {why})")
