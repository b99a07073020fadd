# Sampling: one job per (model, benchmark, shard); a shard is a block of problems x a block of sample indices.
# A killed job resumes from its journal (results/journals/...), which is not an output and so survives failures.
# Sampling reruns only when its spec (params), the model, the template or SAMPLING_BEHAVIOUR changes, never for
# an edit of the sampling code (see common.smk and config/README.md).


rule sample:
    input:
        problems="results/problems/{bench}.parquet",
        model="results/models/{model}.json",
        template=lambda wc: template_file(wc.model),
        check=ancient("results/check.json"),
        template_stamp=lambda wc: template_stamp(wc.model),
        behaviour=sampling_behaviour_stamp(),
    output:
        samples="results/samples/{model}/{bench}/{shard}.parquet",
        sidecar="results/samples/{model}/{bench}/{shard}.json",
    params:
        spec=lambda wc: spec_json(W.sample_spec(wc.model, wc.bench)),
        journal=lambda wc: f"results/journals/{wc.model}/{wc.bench}/{wc.shard}.jsonl",
    log:
        "results/logs/sample/{model}/{bench}/{shard}.log",
    benchmark:
        "results/benchmarks/sample/{model}/{bench}/{shard}.tsv"
    threads: lambda wc: 1 if W.models[wc.model]["engine"] == "hf" else 8
    resources:
        gpu=lambda wc: W.gpus(wc.model),
        runtime=lambda wc, attempt: 60 * attempt if W.models[wc.model]["engine"] == "hf" else 240 * attempt,
    conda:
        lambda wc: "../../envs/sample-hf.yaml" if W.models[wc.model]["engine"] == "hf" else "../../envs/sample-vllm.yaml"
    shell:
        "python -m rlvr_limits sample --problems {input.problems} --model {input.model}"
        " --template {input.template} --spec {params.spec:q} --shard {wildcards.shard}"
        " --out {output.samples} --journal {params.journal} --log {log}"
