# The explorer: every comparison on every benchmark, problem by problem, as one offline HTML page in the report.


rule explorer:
    input:
        problems="results/problems/{bench}.parquet",
        coverage="results/compare/{comparison}/{bench}.coverage.parquet",
        verdicts=lambda wc: [f"results/verdicts/{m}/{wc.bench}.parquet" for m in explorer_models(wc)],
        samples=lambda wc: [block for m in explorer_models(wc) for block in W.sample_blocks(m, wc.bench)],
        code=code_stamp("explorer", "explorer"),
    output:
        report(
            "results/explorer/{comparison}/{bench}.html",
            caption="../report/explorer.rst",
            category="{comparison}",
            labels={"figure": "explorer ({bench})"},
        ),
    log:
        "results/logs/explorer/{comparison}/{bench}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        spec=lambda wc: spec_json(W.explorer_spec(wc.comparison, wc.bench)),
        verdicts=lambda wc: " ".join(f"{m}=results/verdicts/{m}/{wc.bench}.parquet" for m in explorer_models(wc)),
        samples=lambda wc: " ".join(
            f"{m}={block}" for m in explorer_models(wc) for block in W.sample_blocks(m, wc.bench)
        ),
    shell:
        "python -m rlvr_limits explore --spec {params.spec:q} --problems {input.problems}"
        " --coverage {input.coverage} --verdicts {params.verdicts} --samples {params.samples}"
        " --out {output} --log {log}"
