# The miniature study's own models: task data, tokenizer, base (pretraining), RL (GRPO) and distillation.
# Settings come from config["toy"] (sections data, model, pretrain, rl, distill); a key left out keeps the
# default of the stage's command line (`python -m rlvr_limits toy-<stage> --help`). Every stage runs torch on
# one thread, so RL and distillation run side by side on two cores and the same seed gives the same models.

rule toy_data:
    output:
        test="results/toy/data/test.jsonl",
        pretrain="results/toy/data/pretrain.parquet",
        distill="results/toy/data/distill.parquet",
        rl="results/toy/data/rl.parquet",
    input:
        code=code_stamp("toy_data", "toy/task", "toy/data_stage"),
    params:
        seed=TOY_SEED,
        options=toy_options("data"),
    log:
        "results/logs/toy/data.log",
    threads: 1
    conda:
        "../../envs/sample-hf.yaml"
    shell:
        "python -m rlvr_limits toy-data --out results/toy/data --seed {params.seed} {params.options} --log {log}"


rule toy_tokenizer:
    output:
        directory("results/toy/tokenizer"),
    input:
        code=code_stamp("toy_tokenizer", "toy/tokenizer", "toy/task"),
    log:
        "results/logs/toy/tokenizer.log",
    threads: 1
    conda:
        "../../envs/sample-hf.yaml"
    shell:
        "python -m rlvr_limits toy-tokenizer --out {output} --log {log}"


rule toy_pretrain:
    output:
        model=directory("results/toy/models/base"),
        metrics="results/toy/train/pretrain.parquet",
    input:
        data=rules.toy_data.output.pretrain,
        tokenizer=rules.toy_tokenizer.output[0],
        code=code_stamp("toy_pretrain", "toy/pretrain", "toy/train", "toy/model"),
    params:
        seed=TOY_SEED,
        options=toy_options("model", "pretrain"),
    log:
        "results/logs/toy/pretrain.log",
    threads: 1
    conda:
        "../../envs/sample-hf.yaml"
    shell:
        "python -m rlvr_limits toy-pretrain --data {input.data} --tokenizer {input.tokenizer} --out {output.model}"
        " --metrics {output.metrics} --seed {params.seed} {params.options} --log {log}"


rule toy_rl:
    output:
        model=directory("results/toy/models/rl"),
        metrics="results/toy/train/rl.parquet",
        **{f"step{n}": directory(f"results/toy/models/rl_step{n}") for n in TOY_RL_CHECKPOINTS},
    input:
        base=rules.toy_pretrain.output.model,
        data=rules.toy_data.output.rl,
        code=code_stamp("toy_rl", "toy/rl", "toy/reward", "toy/train", "toy/model", "verify/math"),
        sampling=sampling_behaviour_stamp(),  # its rollouts sample like the sample rule
    params:
        seed=TOY_SEED,
        options=toy_options("rl"),
        checkpoints=",".join(str(n) for n in TOY_RL_CHECKPOINTS),
    log:
        "results/logs/toy/rl.log",
    threads: 1
    conda:
        "../../envs/sample-hf.yaml"
    shell:
        "python -m rlvr_limits toy-rl --base {input.base} --data {input.data} --out {output.model}"
        " --metrics {output.metrics} --checkpoints '{params.checkpoints}' --checkpoint-dir results/toy/models"
        " --seed {params.seed} {params.options} --log {log}"


rule toy_distill:
    output:
        model=directory("results/toy/models/distill"),
        metrics="results/toy/train/distill.parquet",
    input:
        base=rules.toy_pretrain.output.model,
        data=rules.toy_data.output.distill,
        code=code_stamp("toy_distill", "toy/distill", "toy/strict", "toy/task", "toy/train", "toy/model"),
    params:
        seed=TOY_SEED,
        options=toy_options("distill"),
    log:
        "results/logs/toy/distill.log",
    threads: 1
    conda:
        "../../envs/sample-hf.yaml"
    shell:
        "python -m rlvr_limits toy-distill --base {input.base} --data {input.data} --out {output.model}"
        " --metrics {output.metrics} --seed {params.seed} {params.options} --log {log}"


# The vision-language miniature (config/vl-mini.yaml): tiny random Qwen2.5-VL models, one per seed, and picture
# problems in MathVista's layout. Neither is trained: the miniature drives the visual path, not the study.


rule toy_vl_data:
    output:
        "results/toy/vl/mathvista-mini.parquet",
    input:
        code=code_stamp("toy_vl_data", "toy/vl_data"),
    log:
        "results/logs/toy/vl_data.log",
    threads: 1
    conda:
        "../../envs/sample-hf.yaml"
    shell:
        "python -m rlvr_limits toy-vl-data --out {output} --log {log}"


rule toy_vl_model:
    output:
        directory("results/toy/vl/models/seed{seed}"),
    input:
        code=code_stamp("toy_vl_model", "toy/vl_model"),
    wildcard_constraints:
        seed=r"\d+",
    log:
        "results/logs/toy/vl_model_seed{seed}.log",
    threads: 1
    conda:
        "../../envs/sample-hf.yaml"
    shell:
        "python -m rlvr_limits toy-vl-model --out {output} --seed {wildcards.seed} --log {log}"
