# Benchmarks: download (pinned revision, sha256 enforced) and normalize to one parquet per benchmark.


localrules:
    problems,


rule problems:
    input:
        local=lambda wc: W.manifest[wc.bench].local_path or [],
    output:
        problems="results/problems/{bench}.parquet",
        sidecar="results/problems/{bench}.json",
    params:
        source=lambda wc: spec_json(W.manifest[wc.bench].as_dict()),
        limit=lambda wc: W.benchmarks[wc.bench].get("limit", 0),
    log:
        "results/logs/problems/{bench}.log",
    retries: 2
    conda:
        "../../envs/analysis.yaml"
    shell:
        "python -m rlvr_limits problems --bench {wildcards.bench} --manifest {config[manifest]}"
        " --lock resources/benchmarks.lock.yaml --download-dir results/downloads"
        " --limit {params.limit} --out {output.problems} --log {log}"
