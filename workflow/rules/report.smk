# Summary tables (CSV, in the report), provenance of the run, and an archive that replays without a GPU.


rule summary_table:
    input:
        lambda wc: expand(
            "results/compare/{comparison}/{bench}.json",
            comparison=wc.comparison,
            bench=W.comparisons[wc.comparison]["benchmarks"],
        ),
    output:
        csv=report(
            "results/tables/{comparison}.csv",
            caption="../report/table.rst",
            category="{comparison}",
            labels={"figure": "summary table"},
        ),
        wide=report(
            "results/tables/{comparison}.models.csv",
            caption="../report/models_table.rst",
            category="{comparison}",
            labels={"figure": "per-model table"},
        ),
        html=report(
            "results/tables/{comparison}.findings.html",
            caption="../report/findings.rst",
            category="{comparison}",
            labels={"figure": "findings"},
        ),
    log:
        "results/logs/tables/{comparison}.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "python -m rlvr_limits tables --summaries {input} --out {output.csv} --wide {output.wide}"
        " --html {output.html} --log {log}"


rule provenance:
    input:
        models=lambda wc: expand("results/models/{model}.json", model=sorted({m for m, _ in W.drawn_pairs()})),
        problems=lambda wc: expand("results/problems/{bench}.json", bench=sorted({b for _, b in W.sampled_pairs()})),
    output:
        "results/provenance.json",
    log:
        "results/logs/provenance.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        config=lambda wc: spec_json(W.raw),
    shell:
        "python -m rlvr_limits provenance --config-json {params.config:q} --models {input.models}"
        " --problems {input.problems} --out {output} --log {log}"


rule archive:
    input:
        all_targets(),
    output:
        "results/archive.tar.gz",
    log:
        "results/logs/archive.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "tar --create --gzip --file {output}"
        " $(ls -d config resources results/provenance.json results/problems results/models results/samples results/verdicts"
        " results/passk results/unguessed results/compare results/perplexity results/entropy results/figures"
        " results/explorer results/agreement"
        " results/tables results/toy results/stamps 2>/dev/null)"
        " 2> {log}"
