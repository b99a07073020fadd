# pass@k: the unbiased estimator for every k of the grid, per problem and aggregated, with bootstrap CIs.


rule passk:
    input:
        verdicts="results/verdicts/{model}/{bench}.parquet",
    output:
        passk="results/passk/{model}/{bench}.parquet",
        counts="results/passk/{model}/{bench}.counts.parquet",
    params:
        spec=lambda wc: spec_json(W.passk_spec(wc.bench)),
    log:
        "results/logs/passk/{model}/{bench}.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "python -m rlvr_limits passk --verdicts {input.verdicts} --spec {params.spec:q}"
        " --out {output.passk} --counts {output.counts} --log {log}"
