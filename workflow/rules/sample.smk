# Sampling: one job per block of a draw (sampling/store.py). A draw's folder is named by the digest of what shapes
# its samples (model, template, sampling parameters, max_tokens, engine settings that change the numbers, seed), a
# block by the problems x sample indices it holds, so a block is drawn once and read by every later config that
# needs it: a grown n draws only the new indices, a lower n, another shard layout or a smaller limit draws nothing.
# A changed model record (new weights) reruns the blocks a run reads; an edit of the sampling code never does (bump
# store.SAMPLING_BEHAVIOUR when it changes what a draw holds). A killed job resumes from its journal
# (results/journals/...), which is not an output and so survives failures.


rule sample:
    input:
        problems="results/problems/{dataset}.parquet",
        model="results/models/{model}.json",
        template=lambda wc: template_file(wc.model),
        check=ancient("results/check.json"),
    output:
        samples="results/samples/{model}/{dataset}/{draw}/{block}.parquet",
        sidecar="results/samples/{model}/{dataset}/{draw}/{block}.json",
    log:
        "results/logs/sample/{model}/{dataset}/{draw}/{block}.log",
    benchmark:
        "results/benchmarks/sample/{model}/{dataset}/{draw}/{block}.tsv"
    conda:
        lambda wc: (
            "../../envs/sample-vllm.yaml" if W.models[wc.model]["engine"] == "vllm" else "../../envs/sample-hf.yaml"
        )
    threads: lambda wc: 8 if W.models[wc.model]["engine"] == "vllm" else 1
    resources:
        gpu=lambda wc: W.gpus(wc.model),
        runtime=lambda wc, attempt: 60 * attempt if W.models[wc.model]["engine"] == "hf" else 240 * attempt,
    params:
        draw=lambda wc: spec_json(W.draw_for_folder(wc.model, wc.dataset, wc.draw)),
        settings=engine_settings,
        journal=lambda wc: f"results/journals/{wc.model}/{wc.dataset}/{wc.draw}/{wc.block}.jsonl",
    shell:
        "python -m rlvr_limits sample --problems {input.problems} --model {input.model}"
        " --template {input.template} --draw {params.draw:q} --settings {params.settings:q}"
        " --block {wildcards.block} --out {output.samples} --journal {params.journal} --log {log}"
