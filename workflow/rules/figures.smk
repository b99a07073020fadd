# Figures: one rule per figure the paper shows, each writing .svg (in the report), .png, .vl.json and a
# self-contained .html that renders offline.

FIGURES = {
    "passk": "passk_curves",
    "difference": "passk_difference",
    "coverage": "coverage_split",
    "histogram": "accuracy_histogram",
    "perplexity": "perplexity_distribution",
    "steps": "training_steps",
    "efficiency": "sampling_efficiency",
}

for kind, rule_name in FIGURES.items():

    rule:
        name:
            rule_name
        input:
            unpack(figure_inputs(kind)),
        output:
            svg=report(
                f"results/figures/{{comparison}}/{kind}.svg",
                caption=f"../report/{kind}.rst",
                category="{comparison}",
                labels={"figure": rule_name.replace("_", " ")},
            ),
            png=f"results/figures/{{comparison}}/{kind}.png",
            vl=f"results/figures/{{comparison}}/{kind}.vl.json",
            html=f"results/figures/{{comparison}}/{kind}.html",
        log:
            f"results/logs/figures/{{comparison}}/{kind}.log",
        conda:
            "../../envs/analysis.yaml"
        params:
            spec=figure_spec(kind),
            inputs=figure_args(kind),
            kind=kind,
        shell:
            "python -m rlvr_limits figures --kind {params.kind} --spec {params.spec:q}"
            " --inputs {params.inputs} --out {output.svg} --log {log}"


# One figure per entropy_matching entry, beside its JSON: the swept model's entropy against temperature and the
# reference model's entropy.
rule entropy_matching_curve:
    input:
        "results/entropy/{name}.json",
    output:
        svg=report(
            "results/entropy/{name}.svg",
            caption="../report/entropy.rst",
            category="entropy matching",
            labels={"figure": "entropy matching", "name": "{name}"},
        ),
        png="results/entropy/{name}.png",
        vl="results/entropy/{name}.vl.json",
        html="results/entropy/{name}.html",
    log:
        "results/logs/entropy/{name}.figure.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        spec=lambda wc: spec_json(W.entropy_figure_spec(wc.name)),
    shell:
        "python -m rlvr_limits figures --kind entropy --spec {params.spec:q}"
        " --inputs {wildcards.name}={input} --out {output.svg} --log {log}"
