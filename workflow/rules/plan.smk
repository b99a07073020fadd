# The plan: `snakemake plan --configfile config/paper.yaml` prints the jobs per rule, the prompts and tokens to
# generate per model x benchmark and the GPU-hours per model (resources/calibration.yaml), before anything
# runs. It has no output, so it runs every time it is named, and it reads no downloads or model files.


localrules:
    plan,


rule plan:
    log:
        "results/logs/plan.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        config=lambda wc: spec_json(W.raw),
        root=workflow.basedir,
    shell:
        "python -m rlvr_limits plan --config-json {params.config:q} --root {params.root:q} --log {log}"
