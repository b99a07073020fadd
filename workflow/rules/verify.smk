# Verification: every sample of a (model, benchmark) against the gold answer, by each configured verifier.
# Verifier settings live only here, so changing them re-verifies but never resamples.


rule verify:
    input:
        problems="results/problems/{bench}.parquet",
        samples=sample_blocks,
        template=lambda wc: template_file(wc.model),
        template_stamp=lambda wc: template_stamp(wc.model),
        code=verifier_code,
    output:
        verdicts="results/verdicts/{model}/{bench}.parquet",
        sidecar="results/verdicts/{model}/{bench}.json",
    log:
        "results/logs/verify/{model}/{bench}.log",
    conda:
        "../../envs/verify.yaml"
    threads: lambda wc: W.raw["verification"]["workers"]
    params:
        spec=lambda wc: spec_json(W.verify_spec(wc.bench)),
    shell:
        "python -m rlvr_limits verify --problems {input.problems} --samples {input.samples}"
        " --template {input.template} --spec {params.spec:q} --out {output.verdicts} --log {log}"
