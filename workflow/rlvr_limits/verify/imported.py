"""The `imported` verifier: the grade the source harness gave each of its own samples (the Qwen toolkit's
`score`, NeMo-Skills' `symbolic_correct` / `is_correct`, a plain file's `correct`), as written beside the imported
block (`<block>.grades.parquet`). It sits beside ours, so pass@k is reported under both and the agreement table
shows where they differ; a sample the source did not grade is an error, never a wrong answer."""

from __future__ import annotations

import polars as pl

from rlvr_limits.errors import UserError

VERSION = 1


def verify_table(samples: pl.DataFrame, grades: pl.DataFrame, source: str) -> pl.DataFrame:
    """One verdict per sample row: correct or wrong as the source graded it, with the answer it extracted."""
    joined = samples.select("problem_id", "sample_idx").join(grades, on=["problem_id", "sample_idx"], how="left")
    missing = joined.filter(pl.col("correct").is_null())
    if missing.height:
        row = missing.row(0, named=True)
        raise UserError(f"{source}: sample {row['sample_idx']} of problem {row['problem_id']} has no grade of the "
                        f"source ({missing.height} samples lack one); import the samples again")
    return joined.with_columns(verdict=pl.when(pl.col("correct")).then(pl.lit("correct")).otherwise(pl.lit("wrong")))
