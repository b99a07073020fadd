# The miniature study's own models: task data, tokenizer, base (pretraining), RL (GRPO) and distillation.
# Settings come from config["toy"] (sections data, model, pretrain, rl, distill); a key left out keeps the
# default of the stage's command line (`python -m rlvr_limits toy-<stage> --help`). Every stage runs torch on
# one thread, so RL and distillation run side by side on two cores and the same seed gives the same models.


rule toy_data:
    input:
        code=code_stamp("toy_data", "toy/task", "toy/data_stage"),
    output:
        test="results/toy/data/test.jsonl",
        pretrain="results/toy/data/pretrain.parquet",
        distill="results/toy/data/distill.parquet",
        rl="results/toy/data/rl.parquet",
    log:
        "results/logs/toy/data.log",
    conda:
        "../../envs/sample-hf.yaml"
    threads: 1
    params:
        seed=TOY_SEED,
        options=toy_options("data"),
    shell:
        "python -m rlvr_limits toy-data --out results/toy/data --seed {params.seed} {params.options} --log {log}"


rule toy_tokenizer:
    input:
        code=code_stamp("toy_tokenizer", "toy/tokenizer", "toy/task"),
    output:
        directory("results/toy/tokenizer"),
    log:
        "results/logs/toy/tokenizer.log",
    conda:
        "../../envs/sample-hf.yaml"
    threads: 1
    shell:
        "python -m rlvr_limits toy-tokenizer --out {output} --log {log}"


rule toy_pretrain:
    input:
        data=rules.toy_data.output.pretrain,
        tokenizer=rules.toy_tokenizer.output[0],
        code=code_stamp("toy_pretrain", "toy/pretrain", "toy/train", "toy/model"),
    output:
        model=directory("results/toy/models/base"),
        metrics="results/toy/train/pretrain.parquet",
    log:
        "results/logs/toy/pretrain.log",
    conda:
        "../../envs/sample-hf.yaml"
    threads: 1
    params:
        seed=TOY_SEED,
        options=toy_options("model", "pretrain"),
    shell:
        "python -m rlvr_limits toy-pretrain --data {input.data} --tokenizer {input.tokenizer} --out {output.model}"
        " --metrics {output.metrics} --seed {params.seed} {params.options} --log {log}"


rule toy_rl:
    input:
        base=rules.toy_pretrain.output.model,
        data=rules.toy_data.output.rl,
        code=code_stamp("toy_rl", "toy/rl", "toy/reward", "toy/train", "toy/model", "verify/math"),
        sampling=sampling_behaviour_stamp(),  # its rollouts sample like the sample rule
    output:
        **{f"step{n}": directory(f"results/toy/models/rl_step{n}") for n in TOY_RL_CHECKPOINTS},
        model=directory("results/toy/models/rl"),
        metrics="results/toy/train/rl.parquet",
    log:
        "results/logs/toy/rl.log",
    conda:
        "../../envs/sample-hf.yaml"
    threads: 1
    params:
        seed=TOY_SEED,
        options=toy_options("rl"),
        checkpoints=",".join(str(n) for n in TOY_RL_CHECKPOINTS),
    shell:
        "python -m rlvr_limits toy-rl --base {input.base} --data {input.data} --out {output.model}"
        " --metrics {output.metrics} --checkpoints '{params.checkpoints}' --checkpoint-dir results/toy/models"
        " --seed {params.seed} {params.options} --log {log}"


rule toy_distill:
    input:
        base=rules.toy_pretrain.output.model,
        data=rules.toy_data.output.distill,
        code=code_stamp("toy_distill", "toy/distill", "toy/strict", "toy/task", "toy/train", "toy/model"),
    output:
        model=directory("results/toy/models/distill"),
        metrics="results/toy/train/distill.parquet",
    log:
        "results/logs/toy/distill.log",
    conda:
        "../../envs/sample-hf.yaml"
    threads: 1
    params:
        seed=TOY_SEED,
        options=toy_options("distill"),
    shell:
        "python -m rlvr_limits toy-distill --base {input.base} --data {input.data} --out {output.model}"
        " --metrics {output.metrics} --seed {params.seed} {params.options} --log {log}"


# The vision-language miniature (config/vl-mini.yaml): tiny random Qwen2.5-VL models, one per seed, and picture
# problems in MathVista's layout. Neither is trained: the miniature drives the visual path, not the study.


rule toy_vl_data:
    input:
        code=code_stamp("toy_vl_data", "toy/vl_data"),
    output:
        "results/toy/vl/mathvista-mini.parquet",
    log:
        "results/logs/toy/vl_data.log",
    conda:
        "../../envs/sample-hf.yaml"
    threads: 1
    shell:
        "python -m rlvr_limits toy-vl-data --out {output} --log {log}"


rule toy_vl_model:
    input:
        code=code_stamp("toy_vl_model", "toy/vl_model"),
    output:
        directory("results/toy/vl/models/seed{seed}"),
    log:
        "results/logs/toy/vl_model_seed{seed}.log",
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../../envs/sample-hf.yaml"
    threads: 1
    shell:
        "python -m rlvr_limits toy-vl-model --out {output} --seed {wildcards.seed} --log {log}"
