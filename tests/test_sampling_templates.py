"""Prompt templates: the shipped files render as the paper's code did, stops are explicit, mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from rlvr_limits.errors import UserError
from rlvr_limits.sampling.templates import encode, load_template, problem_fields, render, resolve_stop_ids
from tiny_model import build_tiny_model

PROMPTS = Path(__file__).resolve().parents[1] / "resources" / "prompts"
QUESTION = "What is $1+1$? Give \\frac{1}{2} too."


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory):
    return AutoTokenizer.from_pretrained(build_tiny_model(tmp_path_factory.mktemp("tiny")))


def write(tmp_path: Path, text: str, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_template_is_shipped_and_valid() -> None:
    names = {p.stem for p in PROMPTS.glob("*.yaml")}
    assert names == {"qwen-boxed", "qwen25-math-cot", "dapo", "r1", "code-r1-lcb", "code-r1-evalplus",
                     "deepcoder", "easyr1-vl", "toy", "qwen-direct", "r1-distill", "simplerl-simple",
                     "qwen-boxed-llama"}
    for name in names:
        assert load_template(PROMPTS / f"{name}.yaml").description


def test_direct_answer_template_opens_the_box_and_stops_when_it_closes() -> None:
    template = load_template(PROMPTS / "qwen-direct.yaml")
    text = render(template, "What is 6*7?")
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
                           "What is 6*7?\nGive only the final answer, without any reasoning, within \\boxed{}.")
    assert text.endswith("<|im_start|>assistant\nThe final answer is $\\boxed{")
    assert template.stop == ("}$",) and "<|im_end|>" in template.stop_tokens


def test_math_templates_match_the_papers_strings() -> None:
    # The paper's code: PROMPT_TEMPLATES[...][0].format(input=question) (limit-of-RLVR math_eval utils.py).
    paper = {
        "qwen-boxed": (
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\n{input}\nPlease reason step by step, and put your final answer within "
            "\\boxed{{}}.<|im_end|>\n<|im_start|>assistant\n"),
        "qwen25-math-cot": (
            "<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{{}}."
            "<|im_end|>\n<|im_start|>user\n{input}<|im_end|>\n<|im_start|>assistant\n"),
        "dapo": (
            "A conversation between user and assistant. The user asks a question, and the assistant solves it. "
            "The time limit is set to 20,480 tokens. If the assistant's response exceeds this limit, a "
            "progressively increasing penalty with the number of tokens exceeded will be applied.\nuser\n"
            "Solve the following math problem step by step. The last line of your response should be of the "
            "form Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n{input}\n"
            "Remember to put your answer on its own line after \"Answer:\".\nassistant"),
        "r1": (
            "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
            "The assistant first thinks about the reasoning process in the mind and then provides the user "
            "with the answer. The reasoning process and answer are enclosed within <think> </think> and "
            "<answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> "
            "answer here </answer>. User: {input}. Assistant:"),
    }
    for name, text in paper.items():
        assert render(load_template(PROMPTS / f"{name}.yaml"), QUESTION) == text.format(input=QUESTION), name


def test_no_stop_word_truncates_ordinary_prose() -> None:
    prose = ("As the user asked, the assistant checks: Question: what is 2+2? Answer: 4. The user and the "
             "Assistant agree; User: fine. _start and _end are words too.\nProblem 2 follows.")
    for path in PROMPTS.glob("*.yaml"):
        for stop in load_template(path).stop:
            assert stop not in prose, (path.name, stop)


def test_stop_ids_are_explicit_per_template(tokenizer) -> None:
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>", "<|im_start|>")}
    boxed = resolve_stop_ids(load_template(PROMPTS / "qwen-boxed.yaml"), tokenizer)
    assert boxed == (ids["<|im_end|>"], ids["<|endoftext|>"], ids["<|im_start|>"], tokenizer.eos_token_id)
    assert resolve_stop_ids(load_template(PROMPTS / "toy.yaml"), tokenizer) == (tokenizer.eos_token_id,)


def test_template_for_another_family_is_refused(tmp_path: Path, tokenizer) -> None:
    path = write(tmp_path, 'prompt: "{question}"\nstop_tokens: ["<|eot_id|>"]\n')
    with pytest.raises(UserError, match="does not fit the model's family"):
        resolve_stop_ids(load_template(path), tokenizer)


def test_chat_templates_render_through_the_tokenizer(tokenizer) -> None:
    evalplus = render(load_template(PROMPTS / "code-r1-evalplus.yaml"), "def f(x):\n    pass",
                      tokenizer=tokenizer)
    assert evalplus == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nPlease provide a self-contained Python script that solves the following problem in "
        "a markdown code block:\n```\ndef f(x):\n    pass\n```\n<|im_end|>\n<|im_start|>assistant\n"
        "Below is a Python script with a self-contained function that solves the problem and passes "
        "corresponding tests:\n```python\n")
    deepcoder = load_template(PROMPTS / "deepcoder.yaml")
    plain = render(deepcoder, "Sum two ints.\n\n", tokenizer=tokenizer)
    assert "Sum two ints.\n\n### Format: Read the inputs from stdin" in plain
    assert plain.endswith("### Answer: (use the provided format with backticks)\n\n<|im_end|>\n"
                          "<|im_start|>assistant\n")
    starter = render(deepcoder, "Sum two ints.\n\n", problem_fields('{"starter_code": "class S:"}', "p"),
                     tokenizer=tokenizer)
    assert "```python\nclass S:\n```" in starter and "stdin" not in starter


def test_lcb_variant_follows_starter_code() -> None:
    lcb = load_template(PROMPTS / "code-r1-lcb.yaml")
    stdin = render(lcb, "Q", problem_fields('{"starter_code": ""}', "p"))
    func = render(lcb, "Q", problem_fields('{"starter_code": "class Solution:\\n    pass"}', "p"))
    assert "Read the inputs from stdin" in stdin and "# YOUR CODE HERE" in stdin
    assert "```python\nclass Solution:\n    pass\n```" in func and "stdin" not in func
    assert stdin.endswith("<|im_start|>assistant\n```python") and func.endswith("assistant\n```python")


def test_raw_prompts_get_special_tokens_and_chat_prompts_do_not(tokenizer) -> None:
    class Recorder:
        def encode(self, text: str, add_special_tokens: bool) -> list[int]:
            self.flag = add_special_tokens
            return [1]

    recorder = Recorder()
    encode(load_template(PROMPTS / "qwen-boxed.yaml"), "x", recorder)
    assert recorder.flag is True
    encode(load_template(PROMPTS / "deepcoder.yaml"), "x", recorder)
    assert recorder.flag is False
    text = render(load_template(PROMPTS / "qwen-boxed.yaml"), "1+1")
    assert tokenizer.decode(encode(load_template(PROMPTS / "qwen-boxed.yaml"), text, tokenizer)) == text


@pytest.mark.parametrize("text,match", [
    ("prompt: [unclosed\n", r"t\.yaml:\d+: invalid YAML"),
    ("- a\n- b\n", "must be a YAML mapping"),
    ('prompt: "{question}"\nstops: []\n', r"unknown keys \['stops'\]"),
    ("description: x\n", "key 'prompt': missing"),
    ('prompt: "{question"\n', "not a valid format string"),
    ('prompt: "{question.text}"\n', "must be a plain name"),
    ('prompt: "{question!r}"\n', "must be a plain name"),
    ('prompt: "no placeholder"\n', r"must contain the placeholder \{question\}"),
    ('chat: true\nprompt: "{question}"\n', "key 'prompt': not used with chat: true"),
    ('chat: true\nmessages: [{role: robot, content: "{question}"}]\n', r"messages\[0\]"),
    ('prompt: "{question}"\nmessages: [{role: user, content: x}]\n', "only used with chat: true"),
    ('chat: "yes"\nprompt: "{question}"\n', "key 'chat': must be true or false"),
    ('prompt: "{question}"\nstop: "</s>"\n', "key 'stop': must be a list"),
    ('prompt: "{question}"\nstop_tokens: [""]\n', "key 'stop_tokens'"),
    ('prompt: "{question}"\nvariants: [{when: x}]\n', r"variants\[0\]"),
    ('prompt: "{question}"\nvariants: [{when: "a b", prompt: "{question}"}]\n', r"variants\[0\]\.when"),
    ('prompt: "{question}"\nimages: {placeholder: "<i>", min_pixels: 10, max_pixels: 5}\n', "min_pixels"),
    ('prompt: "{question}"\nimages: {placeholder: "<i>", min_pixels: 1, max_pixels: 5}\n', "exactly once"),
])
def test_template_mistakes_are_named(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(UserError, match=match):
        load_template(write(tmp_path, text))


def test_missing_template_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="template file not found"):
        load_template(tmp_path / "nope.yaml")


def test_render_errors_name_problem_and_field(tmp_path: Path) -> None:
    template = load_template(write(tmp_path, 'prompt: "{question} {starter_code}"\n'))
    with pytest.raises(UserError, match=r"\{starter_code\} has no value for problem p7"):
        render(template, "q", {}, problem_id="p7")
    with pytest.raises(UserError, match="problem p8: meta is not valid JSON"):
        problem_fields("{oops", "p8")
    with pytest.raises(UserError, match="must be a JSON object"):
        problem_fields("[1]", "p9")
    chat = load_template(PROMPTS / "deepcoder.yaml")
    with pytest.raises(UserError, match="needs the model's chat template"):
        render(chat, "q", tokenizer=None)
