# Verification: every sample of a (model, benchmark) against the gold answer, by each configured verifier, and for
# imported samples also by the grades of the harness that drew them (verifier `imported`). Verifier settings live
# only here, so changing them re-verifies but never resamples.


rule verify:
    input:
        problems="results/problems/{bench}.parquet",
        samples=sample_blocks,
        template=lambda wc: template_file(wc.model),
        template_stamp=lambda wc: template_stamp(wc.model),
        grades=lambda wc: W.import_grades(wc.model, wc.bench),
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
        options=lambda wc, input: " ".join(
            f"--{name} {path}" for name, path in (("template", input.template), ("grades", input.grades)) if path
        ),
    shell:
        "python -m rlvr_limits verify --problems {input.problems} --samples {input.samples}"
        " {params.options} --spec {params.spec:q} --out {output.verdicts} --log {log}"


rule agreement:
    input:
        "results/verdicts/{model}/{bench}.parquet",
    output:
        summary=report(
            "results/agreement/{model}/{bench}.csv",
            caption="../report/agreement.rst",
            category="imported samples",
            labels={"figure": "agreement of the verdicts ({model} on {bench})"},
        ),
        disagreements=report(
            "results/agreement/{model}/{bench}.disagreements.csv",
            caption="../report/disagreements.rst",
            category="imported samples",
            labels={"figure": "disagreements ({model} on {bench})"},
        ),
    log:
        "results/logs/agreement/{model}/{bench}.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "python -m rlvr_limits agreement --verdicts {input} --out {output.summary}"
        " --disagreements {output.disagreements} --log {log}"
