# The check: on the submit host, right after the models are resolved and before any GPU job, every model x
# benchmark pair renders its prompts through the model's tokenizer, resolves its stop tokens and fits
# max_model_len (tokenizer files only). One message lists every problem found. Sampling and scoring jobs take
# its record as an `ancient` input: they wait for it, but a rerun of the check never reruns them. It is a checkpoint
# so that Snakemake evaluates the jobs downstream again once it has run: when a job whose output others read as
# `ancient` reruns, Snakemake 9 never looks at those others' own reasons to run (snakemake/snakemake#4166), and a
# raised limit or a new model would draw its missing blocks only in a second invocation. A dry run lists the check
# alone in that case ("DAG of jobs will be updated after completion"); the run does the rest.


localrules:
    check,


checkpoint check:
    input:
        models=lambda wc: expand("results/models/{model}.json", model=sorted({m for m, _ in W.drawn_pairs()})),
        problems=lambda wc: expand("results/problems/{bench}.parquet", bench=sorted({b for _, b in W.drawn_pairs()})),
        templates=lambda wc: sorted({template_file(m) for m, _ in W.drawn_pairs()}),
    output:
        "results/check.json",
    log:
        "results/logs/check.log",
    conda:
        "../../envs/sample-vllm.yaml"
        if any(m["engine"] == "vllm" for m in W.models.values())
        else "../../envs/sample-hf.yaml"
    params:
        spec=lambda wc: spec_json(W.check_spec()),
    shell:
        "python -m rlvr_limits check --spec {params.spec:q} --out {output} --log {log}"
