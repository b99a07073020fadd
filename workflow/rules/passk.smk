# pass@k: the unbiased estimator for every k of the grid, per problem and aggregated, with bootstrap CIs.
# A comparison with a guess filter gets its own pass@k tables without the problems its direct-answer model
# guesses (results/unguessed/<comparison>/), and a list of what was dropped.


rule passk:
    input:
        verdicts="results/verdicts/{model}/{bench}.parquet",
    output:
        passk="results/passk/{model}/{bench}.parquet",
        counts="results/passk/{model}/{bench}.counts.parquet",
    log:
        "results/logs/passk/{model}/{bench}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        spec=lambda wc: spec_json(W.passk_spec(wc.bench)),
    shell:
        "python -m rlvr_limits passk --verdicts {input.verdicts} --spec {params.spec:q}"
        " --out {output.passk} --counts {output.counts} --log {log}"


rule passk_unguessed:
    input:
        verdicts="results/verdicts/{model}/{bench}.parquet",
        direct=lambda wc: direct_counts(wc.comparison, wc.bench),
    output:
        passk="results/unguessed/{comparison}/{model}/{bench}.parquet",
        counts="results/unguessed/{comparison}/{model}/{bench}.counts.parquet",
    log:
        "results/logs/unguessed/{comparison}/{model}/{bench}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        spec=lambda wc: spec_json(W.unguessed_passk_spec(wc.comparison, wc.bench)),
    shell:
        "python -m rlvr_limits passk --verdicts {input.verdicts} --spec {params.spec:q}"
        " --drop-guessed {input.direct} --out {output.passk} --counts {output.counts} --log {log}"


rule guessed_problems:
    input:
        direct=lambda wc: direct_counts(wc.comparison, wc.bench),
    output:
        report(
            "results/unguessed/{comparison}/{bench}.guessed.csv",
            caption="../report/guessed.rst",
            category="{comparison}",
            labels={"figure": "guessed problems ({bench})"},
        ),
    log:
        "results/logs/unguessed/{comparison}/{bench}.guessed.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        threshold=lambda wc: W.comparisons[wc.comparison]["guess_filter"]["threshold"],
    shell:
        "python -m rlvr_limits guessed --counts {input.direct} --threshold {params.threshold}"
        " --out {output} --log {log}"
