"""Config validation: every mistake stops the run at load with a message naming the key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from rlvr_limits.config import WorkflowConfig
from rlvr_limits.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def demo() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def paper() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())


def load(config: dict[str, Any]) -> WorkflowConfig:
    return WorkflowConfig.load(copy.deepcopy(config), ROOT)


def test_shipped_configs_load() -> None:
    for config in (demo(), paper(), yaml.safe_load((ROOT / "config" / "vl-mini.yaml").read_text())):
        w = load(config)
        assert w.sampled_pairs()


def test_defaults_are_filled_in() -> None:
    config = demo()
    del config["sampling"]["top_k"]
    w = load(config)
    assert w.raw["sampling"]["top_k"] == -1
    assert w.raw["verification"]["timeout_s"] == 2.0
    assert w.models["toy_base"]["tensor_parallel"] == 1


def test_gpus_per_job_follow_the_engine_unless_the_model_says() -> None:
    config = paper()
    vllm = next(name for name, m in config["models"].items() if m.get("engine", "vllm") == "vllm")
    config["models"][vllm]["tensor_parallel"] = 2
    config["models"]["on_cpu"] = {**config["models"][vllm], "gpu": False}
    demo_config = demo()
    demo_config["models"]["toy_rl"]["gpu"] = True
    w, d = load(config), load(demo_config)
    assert (w.gpus(vllm), w.gpus("on_cpu")) == (2, 0)
    assert (d.gpus("toy_base"), d.gpus("toy_rl")) == (0, 1)
    demo_config["models"]["toy_rl"]["gpu"] = "yes"
    expect_error(demo_config, "models.toy_rl.gpu")


def expect_error(config: dict[str, Any], *fragments: str) -> str:
    with pytest.raises(UserError) as info:
        load(config)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_unknown_key_is_named_with_the_allowed_ones() -> None:
    config = demo()
    config["sampling"]["temprature"] = 0.7
    expect_error(config, "sampling", "'temprature'", "temperature")


def test_unknown_top_level_key() -> None:
    config = demo()
    config["modles"] = {}
    expect_error(config, "(top level)", "'modles'")


def test_wrong_type_names_the_key() -> None:
    config = demo()
    config["models"]["toy_rl"]["max_model_len"] = "long"
    expect_error(config, "models.toy_rl.max_model_len", "integer")


def test_wrong_enum_lists_allowed_values() -> None:
    config = demo()
    config["models"]["toy_rl"]["engine"] = "tgi"
    expect_error(config, "models.toy_rl.engine", "hf", "vllm")


def test_unknown_model_in_comparison() -> None:
    config = demo()
    config["comparisons"]["rl_vs_base"]["models"] = ["toy_rll"]
    expect_error(config, "comparisons.rl_vs_base.models", "'toy_rll'")


def test_unknown_base_in_comparison() -> None:
    config = demo()
    config["comparisons"]["rl_vs_base"]["base"] = "nobody"
    expect_error(config, "comparisons.rl_vs_base.base", "'nobody'")


def test_unknown_benchmark_in_comparison() -> None:
    config = demo()
    config["comparisons"]["rl_vs_base"]["benchmarks"] = ["aime25"]
    expect_error(config, "comparisons.rl_vs_base.benchmarks", "'aime25'")


def test_benchmark_missing_from_manifest() -> None:
    config = demo()
    config["benchmarks"]["not_a_benchmark"] = {"n_samples": 4, "k_max": 4, "max_tokens": 8}
    expect_error(config, "benchmarks.not_a_benchmark", "manifest")


def test_n_samples_below_k_max() -> None:
    config = demo()
    config["benchmarks"]["toy_arith"]["n_samples"] = 64
    expect_error(config, "benchmarks.toy_arith.n_samples", "k_max=256")


def test_prompt_cannot_fit_max_model_len() -> None:
    config = demo()
    config["benchmarks"]["toy_arith"]["max_tokens"] = 4096
    expect_error(config, "benchmarks.toy_arith.max_tokens", "max_model_len")


def test_model_cap_names_the_model_key() -> None:
    config = paper()
    config["models"]["oat_zero_7b"]["max_tokens"] = 5000
    expect_error(config, "models.oat_zero_7b.max_tokens", "max_model_len=4096")


def test_hub_model_needs_revision() -> None:
    config = paper()
    del config["models"]["qwen25_7b"]["revision"]
    expect_error(config, "models.qwen25_7b.revision")


def test_path_and_hf_id_are_exclusive() -> None:
    config = demo()
    config["models"]["toy_rl"]["hf_id"] = "org/model"
    expect_error(config, "models.toy_rl", "exactly one")


def test_unknown_template() -> None:
    config = demo()
    config["models"]["toy_rl"]["template"] = "no-such-template"
    expect_error(config, "models.toy_rl.template", "available")


def test_toy_verifier_refused_on_math_benchmark() -> None:
    config = paper()
    config["benchmarks"]["math500"]["verifiers"] = ["math", "toy_strict"]
    expect_error(config, "benchmarks.math500.verifiers", "toy_strict")


def test_steps_comparison_needs_steps() -> None:
    config = demo()
    config["comparisons"]["steps"] = {"kind": "steps", "base": "toy_base", "models": ["toy_distill"],
                                      "benchmarks": ["toy_arith"]}
    config["models"]["toy_distill"].pop("step", None)
    expect_error(config, "models.toy_distill.step")


def test_bad_name_is_refused() -> None:
    config = demo()
    config["models"]["bad/name"] = config["models"]["toy_rl"]
    expect_error(config, "models", "bad/name")


def test_draw_merges_per_model_overrides() -> None:
    config = demo()
    config["models"]["toy_rl"]["sampling"] = {"temperature": 0.6}
    w = load(config)
    assert w.draw_identity("toy_rl", "toy_arith")["temperature"] == 0.6
    assert w.draw_identity("toy_base", "toy_arith")["temperature"] == config["sampling"]["temperature"]
    assert w.draw_folder("toy_rl", "toy_arith") != load(demo()).draw_folder("toy_rl", "toy_arith")
    assert w.draw_folder("toy_base", "toy_arith") == load(demo()).draw_folder("toy_base", "toy_arith")


def test_verifier_settings_do_not_reach_sampling() -> None:
    w = load(demo())
    draw = w.draw_identity("toy_rl", "toy_arith")
    assert "timeout_s" not in str(draw) and "verifiers" not in draw


@pytest.mark.parametrize("change", [
    lambda c: c["benchmarks"]["toy_arith"].update(n_samples=512, k_max=512),
    lambda c: c["benchmarks"]["toy_arith"].update(k_max=64),
    lambda c: c["benchmarks"]["toy_arith"].update(limit=10),
    lambda c: c["sampling"].update(shard={"problems": 7, "samples": 3}),
    lambda c: c["models"]["toy_rl"].update(max_model_len=400),
])
def test_what_never_changes_a_draw(change) -> None:
    """n_samples, k_max, limit, the shard layout and engine settings are not part of a sample's identity."""
    config = demo()
    change(config)
    assert load(config).draw_folder("toy_rl", "toy_arith") == load(demo()).draw_folder("toy_rl", "toy_arith")


@pytest.mark.parametrize("change", [
    lambda c: c["benchmarks"]["toy_arith"].update(max_tokens=100),
    lambda c: c["models"]["toy_rl"].update(sampling={"top_p": 0.9}),
    lambda c: c.update(seed=7),
    lambda c: c["models"]["toy_rl"].update(dtype="bfloat16"),
    lambda c: c["models"]["toy_rl"].update(path="elsewhere"),
])
def test_what_makes_a_new_draw(change) -> None:
    config = demo()
    change(config)
    assert load(config).draw_folder("toy_rl", "toy_arith") != load(demo()).draw_folder("toy_rl", "toy_arith")


def test_entropy_matching_needs_distinct_temperatures() -> None:
    config = paper()
    config["models"]["simplerl_zoo_7b_t10"]["sampling"] = {"temperature": 0.6}
    expect_error(config, "entropy_matching.simplerl_7b_aime24.sweep", "distinct temperatures")


def test_entropy_matching_unknown_model() -> None:
    config = paper()
    config["entropy_matching"]["simplerl_7b_math500"]["reference"] = "nobody"
    expect_error(config, "entropy_matching.simplerl_7b_math500.reference", "'nobody'")


def test_entropy_matching_models_are_sampled() -> None:
    w = load(paper())
    assert ("simplerl_zoo_7b_t12", "math500") in w.sampled_pairs()


def test_guess_filter_samples_the_direct_model_and_reads_its_counts() -> None:
    w = load(paper())
    assert ("qwen25_7b_direct", "aime24") in w.sampled_pairs()
    assert ("qwen25_7b_direct", "math500") not in w.sampled_pairs()
    assert w.unguessed_passk_spec("simplerl_7b_unguessed", "aime24")["guess_threshold"] == 0.05
    assert w.compare_spec("simplerl_7b_unguessed", "aime24")["guess_filter"]["direct"] == "qwen25_7b_direct"


def test_guess_filter_unknown_model() -> None:
    config = demo()
    config["comparisons"]["rl_vs_base"]["guess_filter"] = {"direct": "toy_direct"}
    expect_error(config, "comparisons.rl_vs_base.guess_filter.direct", "'toy_direct'")


def test_guess_filter_threshold_range() -> None:
    config = demo()
    config["comparisons"]["rl_vs_base"]["guess_filter"] = {"direct": "toy_base", "threshold": 0}
    expect_error(config, "comparisons.rl_vs_base.guess_filter.threshold")


def test_reference_responses_are_scored_by_the_base_model() -> None:
    w = load(demo())
    jobs = {(j.scorer, j.generator) for j in w.perplexity_jobs()}
    assert ("toy_base", "reference") in jobs and ("toy_rl", "reference") not in jobs
    job = next(j for j in w.perplexity_jobs() if j.generator == "reference")
    assert w.perplexity_spec(job)["reference"] == "solution"
    amc = {j for j in load(paper()).perplexity_jobs() if j.benchmark == "amc23"}
    assert amc and all(j.generator != "reference" for j in amc)  # AMC23 supplies no solutions


def test_responses_to_images_are_not_scored_for_perplexity() -> None:
    """Scoring reads token ids alone; a response scored without its image would measure something else."""
    w = load(yaml.safe_load((ROOT / "config" / "vl-mini.yaml").read_text()))
    assert w.raw["analysis"]["perplexity"]["enabled"] and w.comparisons["vl_pipeline"]["kind"] == "rl"
    assert w.perplexity_jobs() == []


def test_model_named_reference_is_refused() -> None:
    config = demo()
    config["models"]["reference"] = config["models"]["toy_base"]
    expect_error(config, "models.reference", "reserved")


def with_visual(config: dict[str, Any], *, vision: bool = True, template: str = "easyr1-vl") -> dict[str, Any]:
    """The demo config plus a model and a comparison on MathVista testmini."""
    config["models"]["vl"] = {"path": "results/vl", "engine": "vllm", "vision": vision, "template": template,
                              "max_model_len": 32768}
    config["models"]["vl_rl"] = {**config["models"]["vl"], "path": "results/vl_rl"}
    config["benchmarks"]["mathvista_testmini"] = {"n_samples": 8, "k_max": 8, "max_tokens": 1024}
    config["comparisons"]["visual"] = {"kind": "rl", "base": "vl", "models": ["vl_rl"],
                                       "benchmarks": ["mathvista_testmini"]}
    return config


def test_a_vision_pair_on_an_image_benchmark_loads() -> None:
    w = load(with_visual(demo()))
    assert w.models["vl"]["vision"] is True and w.models["toy_base"]["vision"] is False
    assert ("vl", "mathvista_testmini") in w.sampled_pairs()


def test_a_text_only_model_is_refused_an_image_benchmark() -> None:
    config = with_visual(demo())
    config["comparisons"]["visual"]["models"] = ["toy_rl"]
    expect_error(config, "config key models.toy_rl.vision", "mathvista_testmini", "text-only", "vision: true")


def test_a_vision_model_needs_a_template_that_places_the_image() -> None:
    expect_error(with_visual(demo(), template="toy"), "config key models.vl.template", "no `images:` section",
                 "mathvista_testmini")


def test_an_image_template_is_refused_a_text_benchmark() -> None:
    config = with_visual(demo())
    config["comparisons"]["visual"]["benchmarks"] = ["toy_arith"]
    expect_error(config, "config key models.vl.template", "places an image in every prompt", "toy_arith")


def test_without_comparisons_each_model_samples_the_benchmarks_of_its_kind() -> None:
    config = with_visual(demo())
    del config["comparisons"]
    pairs = load(config).sampled_pairs()
    assert ("vl", "mathvista_testmini") in pairs and ("vl", "toy_arith") not in pairs
    assert ("toy_base", "toy_arith") in pairs and ("toy_base", "mathvista_testmini") not in pairs


def test_vision_must_be_a_boolean() -> None:
    config = with_visual(demo())
    config["models"]["vl"]["vision"] = "yes"
    expect_error(config, "models.vl.vision", "boolean")


def test_the_paper_config_has_the_visual_pair_with_a_user_supplied_rl_model() -> None:
    w = load(paper())
    base, rl = w.models["qwen25_vl_7b_instruct"], w.models["easyr1_grpo_7b"]
    assert base["hf_id"] == "Qwen/Qwen2.5-VL-7B-Instruct" and base["vision"] and base["template"] == "easyr1-vl"
    assert rl["user_supplied"] and rl["vision"] and rl["template"] == "easyr1-vl"
    if "easyr1_grpo_7b" in w.missing_checkpoints:
        assert w.skipped_comparisons["comparisons.visual"] == ["easyr1_grpo_7b"]
        assert "easyr1_grpo_7b (checkpoints/easyr1/qwen2_5_vl_7b_geo3k_grpo)" in w.missing_message()
    assert paper()["comparisons"]["visual"]["benchmarks"] == ["mathvista_testmini", "mathvision_testmini"]


def served(config: dict[str, Any], name: str = "toy_rl", **server: Any) -> dict[str, Any]:
    config["models"][name].update(engine="server", server={"base_url": "http://gpu-node:8000/v1", **server})
    return config


def test_a_model_on_a_server_runs_on_no_gpu_and_fetches_no_weights() -> None:
    w = load(served(demo(), concurrency=8))
    assert w.gpus("toy_rl") == 0 and w.model_spec("toy_rl")["weights"] is False
    assert w.engine_settings("toy_rl")["server"] == {"model": w.models["toy_rl"]["path"], "concurrency": 8,
                                                     "base_url": "http://gpu-node:8000/v1", "timeout_s": 1800,
                                                     "retries": 5}
    assert "weights" not in w.model_spec("toy_base")


def test_where_a_server_runs_never_changes_a_draw_but_the_engine_does() -> None:
    one = load(served(demo()))
    other = load(served(demo(), base_url=["http://a:1/v1", "http://b:2/v1"], model="served-name", retries=0))
    assert one.draw_folder("toy_rl", "toy_arith") == other.draw_folder("toy_rl", "toy_arith")
    assert one.draw_folder("toy_rl", "toy_arith") != load(demo()).draw_folder("toy_rl", "toy_arith")


def test_server_settings_mistakes_are_named() -> None:
    config = demo()
    config["models"]["toy_rl"]["engine"] = "server"
    expect_error(config, "models.toy_rl.server", "needs a `server:` block")
    config = demo()
    config["models"]["toy_rl"]["server"] = {"base_url": "http://h:1/v1"}
    expect_error(config, "models.toy_rl.server", "only engine server uses it")
    expect_error(served(demo(), base_url="h:1/v1"), "models.toy_rl.server.base_url")
    config = served(demo())
    config["models"]["toy_rl"]["tensor_parallel"] = 2
    expect_error(config, "models.toy_rl", "the server holds the GPUs")
    expect_error(served(with_visual(demo()), name="vl"), "models.vl.engine", "sample it with engine vllm or hf")
