"""Column contracts of the workflow's tables (DESIGN §4).

Each stage validates what it reads against these lists, so a file from another stage or an older layout is
refused with a message instead of being misread.
"""

from __future__ import annotations

import polars as pl

#: results/problems/{bench}.parquet: one row per problem. `meta` is a JSON object as text
#: (level, subject, source ids ...); `answer_type` is a coarse hint such as "integer", "latex", "code".
PROBLEM_COLUMNS = {
    "problem_id": pl.String,
    "question": pl.String,
    "answer": pl.String,
    "answer_type": pl.String,
    "meta": pl.String,
}

#: results/samples/{model}/{dataset}/{draw}/{block}.parquet: one row per sample.
#: `entropy` is the mean per-token entropy (nats) of the distribution each token was drawn from
#: (exact for the hf engine; the unbiased Monte-Carlo estimate -log p(token) for vLLM).
SAMPLE_COLUMNS = {
    "problem_id": pl.String,
    "sample_idx": pl.Int32,
    "seed": pl.Int64,
    "text": pl.String,
    "prompt_tokens": pl.Int32,
    "n_tokens": pl.Int32,
    "finish_reason": pl.String,
    "entropy": pl.Float64,
}

#: results/samples/{model}/{dataset}/imported/{block}.grades.parquet: the grade an imported model's source
#: harness gave each of its samples, with the answer it extracted (no rows when it did not grade them all).
GRADE_COLUMNS = {
    "problem_id": pl.String,
    "sample_idx": pl.Int32,
    "correct": pl.Boolean,
    "extracted": pl.String,
}

#: Verdict classes of DESIGN §6 (`memory` and `no_code` come from the code verifier).
VERDICTS = ("correct", "wrong", "no_answer", "timeout", "error", "memory", "no_code")

#: results/verdicts/{model}/{bench}.parquet: one row per (sample, verifier).
VERDICT_COLUMNS = {
    "problem_id": pl.String,
    "sample_idx": pl.Int32,
    "verifier": pl.String,
    "verdict": pl.String,
    "correct": pl.Boolean,
    "extracted": pl.String,
    "detail": pl.String,  # why a verdict is not correct, where the verifier says (the code verifier's failing test)
}

#: results/passk/{model}/{bench}.counts.parquet: one row per (verifier, problem).
COUNT_COLUMNS = {
    "verifier": pl.String,
    "problem_id": pl.String,
    "n": pl.Int64,
    "c": pl.Int64,
}

#: results/passk/{model}/{bench}.parquet: one row per (verifier, k).
PASSK_COLUMNS = {
    "verifier": pl.String,
    "k": pl.Int64,
    "pass_at_k": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "n_problems": pl.Int64,
}


#: results/perplexity/{scorer}/{generator}/{bench}.parquet: one row per scored response.
PERPLEXITY_COLUMNS = {
    "scorer": pl.String,
    "generator": pl.String,
    "benchmark": pl.String,
    "problem_id": pl.String,
    "sample_idx": pl.Int32,
    "n_tokens": pl.Int64,
    "mean_logprob": pl.Float64,
    "perplexity": pl.Float64,
    "truncated": pl.Boolean,  # the response was longer than the scorer's context and scored on its start
}


def conform(df: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select and cast `df` to the contract's columns, in the contract's order."""
    return df.select([pl.col(name).cast(dtype) for name, dtype in columns.items()])
