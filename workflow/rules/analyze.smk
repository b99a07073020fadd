# Comparisons (paired differences, crossover k, coverage, histograms, ΔSE) and the perplexity analysis.


rule compare:
    input:
        unpack(lambda wc: {"counts": list(comparison_counts(wc).values())}),
    output:
        diff="results/compare/{comparison}/{bench}.parquet",
        coverage="results/compare/{comparison}/{bench}.coverage.parquet",
        summary="results/compare/{comparison}/{bench}.json",
    log:
        "results/logs/compare/{comparison}/{bench}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        spec=lambda wc: spec_json(W.compare_spec(wc.comparison, wc.bench)),
        counts=counts_args,
    shell:
        "python -m rlvr_limits compare --spec {params.spec:q} --counts {params.counts}"
        " --out {output.diff} --log {log}"


rule perplexity:
    input:
        scorer="results/models/{scorer}.json",
        template=lambda wc: template_file(wc.scorer),
        check=ancient("results/check.json"),
        template_stamp=lambda wc: template_stamp(wc.scorer),
        problems="results/problems/{bench}.parquet",
        samples=generator_blocks,
    output:
        "results/perplexity/{scorer}/{generator}/{bench}.parquet",
    log:
        "results/logs/perplexity/{scorer}/{generator}/{bench}.log",
    conda:
        lambda wc: (
            "../../envs/sample-vllm.yaml" if W.models[wc.scorer]["engine"] == "vllm" else "../../envs/sample-hf.yaml"
        )
    threads: 1
    resources:
        gpu=lambda wc: W.gpus(wc.scorer),
    params:
        spec=lambda wc: spec_json(W.perplexity_spec(PerplexityJob(wc.scorer, wc.generator, wc.bench))),
        responses=lambda wc, input: (
            "--references" if wc.generator == REFERENCE else "--samples " + " ".join(input.samples)
        ),
    shell:
        "python -m rlvr_limits perplexity --scorer {input.scorer} --template {input.template}"
        " --spec {params.spec:q} --problems {input.problems} {params.responses}"
        " --out {output} --log {log}"


rule entropy_matching:
    input:
        problems=lambda wc: f"results/problems/{W.entropy_matching[wc.name]['benchmark']}.parquet",
        reference=lambda wc: W.sample_blocks(
            W.entropy_matching[wc.name]["reference"], W.entropy_matching[wc.name]["benchmark"]
        ),
        sweep=lambda wc: [path for _, path in entropy_sweep(wc.name)],
    output:
        "results/entropy/{name}.json",
    log:
        "results/logs/entropy/{name}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        region=lambda wc: spec_json(
            dict(zip(("problems", "samples"), W.sample_region(W.entropy_matching[wc.name]["benchmark"])))
        ),
        sweep=lambda wc: " ".join(f"{t}={path}" for t, path in entropy_sweep(wc.name)),
    shell:
        "python -m rlvr_limits entropy --problems {input.problems} --region {params.region:q}"
        " --reference {input.reference} --sweep {params.sweep} --out {output} --log {log}"
