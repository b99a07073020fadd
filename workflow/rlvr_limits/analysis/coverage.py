"""Which problems each model solves at least once, and how the two solved sets overlap.

A problem is solved when at least one of its n samples is correct (pass@n > 0). The paper's Table 2 splits
the benchmark into both / base only / other only / neither; its Tables 4–5 list the 0-based positions of the
solved problems. Positions are taken from the counts table's row order, which is the benchmark's problem
order.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from rlvr_limits.errors import UserError

SPLITS = ("both", "base_only", "other_only", "neither")


def align(base: pl.DataFrame, other: pl.DataFrame, base_name: str, other_name: str) -> pl.DataFrame:
    """Join two models' counts (one verifier) on problem_id in the base's order; refuse differing problems.

    Result columns: index (0-based position), problem_id, n_base, c_base, n_other, c_other.
    """
    joined = (base.select("problem_id", n_base="n", c_base="c").with_row_index("index")
              .join(other.select("problem_id", n_other="n", c_other="c"), on="problem_id", how="full",
                    coalesce=True, maintain_order="left"))
    only_base = joined.filter(pl.col("n_other").is_null())["problem_id"].to_list()
    only_other = joined.filter(pl.col("n_base").is_null())["problem_id"].to_list()
    if only_base or only_other:
        parts = []
        if only_base:
            parts.append(f"{len(only_base)} problems only in {base_name} (first {only_base[0]!r})")
        if only_other:
            parts.append(f"{len(only_other)} problems only in {other_name} (first {only_other[0]!r})")
        raise UserError(f"{base_name} vs {other_name}: the models were not run on the same problems: "
                        f"{'; '.join(parts)}; rerun both on the same benchmark")
    return joined.with_columns(pl.col("index").cast(pl.Int64))


def split_table(aligned: pl.DataFrame) -> pl.DataFrame:
    """Per problem: solved by base / other, the four-way split label and each model's accuracy c/n."""
    solved_base = pl.col("c_base") > 0
    solved_other = pl.col("c_other") > 0
    label = (pl.when(solved_base & solved_other).then(pl.lit("both"))
             .when(solved_base).then(pl.lit("base_only"))
             .when(solved_other).then(pl.lit("other_only"))
             .otherwise(pl.lit("neither")))
    return aligned.with_columns(
        solved_base=solved_base, solved_other=solved_other, split=label,
        acc_base=pl.col("c_base") / pl.col("n_base"), acc_other=pl.col("c_other") / pl.col("n_other"))


def split_summary(split: pl.DataFrame) -> dict[str, Any]:
    """Counts and fractions of the four-way split, and the 0-based solved index lists."""
    total = split.height
    counts = {name: int((split["split"] == name).sum()) for name in SPLITS}

    def indices(mask: pl.Expr) -> list[int]:
        return split.filter(mask)["index"].to_list()

    return {
        "n_problems": total,
        "counts": counts,
        "fractions": {name: (counts[name] / total if total else 0.0) for name in SPLITS},
        "solved": {"base": int(split["solved_base"].sum()), "other": int(split["solved_other"].sum())},
        "solved_indices": {
            "base": indices(pl.col("solved_base")),
            "other": indices(pl.col("solved_other")),
            "base_only": indices(pl.col("split") == "base_only"),
            "other_only": indices(pl.col("split") == "other_only"),
        },
    }
