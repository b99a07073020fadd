"""The AIME guessability filter (paper App. D.2).

An answer that a model can hit by chance inflates pass@k at large k without any valid reasoning. The paper
asks the base model for the answer directly, without chain of thought, samples that many times, and removes
the problems answered correctly with low but non-zero probability (e.g. below 5%): those are guessed.
Problems never answered directly, and problems answered directly most of the time (known, not guessed),
stay.
"""

from __future__ import annotations

import polars as pl

from rlvr_limits.errors import UserError


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold <= 1.0:
        raise UserError(f"guessability threshold must lie in (0, 1], got {threshold}")


def guessed_problems(direct_counts: pl.DataFrame, threshold: float = 0.05) -> list[str]:
    """Problem ids whose direct-answer accuracy c/n lies in (0, threshold)."""
    _check_threshold(threshold)
    acc = pl.col("c") / pl.col("n")
    return direct_counts.filter((pl.col("c") > 0) & (acc < threshold))["problem_id"].to_list()


def guess_table(direct_counts: pl.DataFrame, threshold: float = 0.05) -> pl.DataFrame:
    """Every (verifier, problem) of a direct-answer run with its accuracy and what the filter does with it:
    `guessed` (dropped), `never answered` or `answered directly` (both kept)."""
    _check_threshold(threshold)
    acc = pl.col("c") / pl.col("n")
    return (direct_counts.sort("verifier", "problem_id")
            .with_columns(direct_accuracy=acc)
            .with_columns(status=pl.when(pl.col("c") == 0).then(pl.lit("never answered"))
                          .when(pl.col("direct_accuracy") < threshold).then(pl.lit("guessed"))
                          .otherwise(pl.lit("answered directly")))
            .select("verifier", "problem_id", "n", "c", "direct_accuracy", "status"))


def drop_guessed(counts: pl.DataFrame, direct_counts: pl.DataFrame, threshold: float = 0.05,
                 source: str = "direct-answer counts") -> pl.DataFrame:
    """`counts` without the problems each verifier finds guessed, ready for pass@k on the filtered benchmark.

    Both tables are counts tables (verifier, problem_id, n, c); a problem is judged with the direct-answer
    verdicts of the same verifier.
    """
    unknown = set(direct_counts["problem_id"]) - set(counts["problem_id"])
    if unknown:
        raise UserError(f"{source}: problems absent from the benchmark: {sorted(unknown)[:5]}")
    kept = []
    for verifier in counts["verifier"].unique(maintain_order=True).to_list():
        direct = direct_counts.filter(pl.col("verifier") == verifier)
        if direct.is_empty():
            raise UserError(f"{source}: no verdicts of verifier {verifier!r}; verify the direct-answer run "
                            "with the benchmark's verifiers")
        guessed = guessed_problems(direct, threshold)
        rest = counts.filter((pl.col("verifier") == verifier) & ~pl.col("problem_id").is_in(guessed))
        if rest.is_empty():
            raise UserError(f"{source}: under verifier {verifier!r} every problem counts as guessed (direct-answer "
                            f"accuracy in (0, {threshold:g})), so nothing is left for pass@k; check that this run "
                            "answered without chain of thought, or lower guess_filter.threshold")
        kept.append(rest)
    return pl.concat(kept)
