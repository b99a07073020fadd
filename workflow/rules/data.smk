# Benchmarks: download (pinned revision, sha256 enforced) and normalize to one parquet per benchmark.


localrules:
    problems,


rule problems:
    input:
        local=lambda wc: W.manifest[wc.bench].local_path or [],
    output:
        problems="results/problems/{bench}.parquet",
        sidecar="results/problems/{bench}.json",
    log:
        "results/logs/problems/{bench}.log",
    retries: 2
    conda:
        "../../envs/analysis.yaml"
    params:
        source=lambda wc: spec_json(dataclasses.asdict(W.manifest[wc.bench])),
        dataset=lambda wc: W.dataset(wc.bench),
        manifest=os.path.relpath(W.manifest_path),
        lock=os.path.relpath(W.lock_path),
    shell:
        "python -m rlvr_limits problems --bench {params.dataset} --manifest {params.manifest}"
        " --lock {params.lock} --download-dir results/downloads"
        " --out {output.problems} --log {log}"
