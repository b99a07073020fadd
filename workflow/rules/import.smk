# Samples another harness drew (a model with `samples:` instead of weights): its files are imported into one block of
# the samples table, with the source's own grades beside it (verifier `imported`). No engine is loaded, nothing runs
# on a GPU; verification, pass@k, comparisons and figures read the block like drawn samples.


rule import_samples:
    input:
        files=lambda wc: W.import_files(wc.model),
        problems="results/problems/{dataset}.parquet",
    output:
        samples="results/samples/{model}/{dataset}/imported/{block}.parquet",
        grades="results/samples/{model}/{dataset}/imported/{block}.grades.parquet",
        sidecar="results/samples/{model}/{dataset}/imported/{block}.json",
    log:
        "results/logs/import/{model}/{dataset}/{block}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        format=lambda wc: W.models[wc.model]["samples"]["format"],
        spec=lambda wc: spec_json(W.import_spec(wc.model)),
    shell:
        "python -m rlvr_limits import --problems {input.problems} --format {params.format} --files {input.files}"
        " --spec {params.spec:q} --block {wildcards.block} --out {output.samples} --log {log}"
