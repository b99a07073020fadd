# Models: a local directory or a hub id at a pinned revision, resolved once on the submit host (compute nodes of
# many clusters are offline) and recorded with its commit and file hashes.


localrules:
    model,


rule model:
    input:
        local=lambda wc: W.local_model_dir(wc.model) or [],
    output:
        record="results/models/{model}.json",
    log:
        "results/logs/model/{model}.log",
    retries: 2
    conda:
        "../../envs/analysis.yaml"
    params:
        spec=lambda wc: spec_json(W.model_spec(wc.model)),
    shell:
        "python -m rlvr_limits model --name {wildcards.model} --spec {params.spec:q}"
        " --out {output.record} --log {log}"
