"""The math verifier: extraction, policy choices, the anchors' known bugs, gold records, CLI and batch API."""

from __future__ import annotations

import json
import threading

import polars as pl
import pytest

from rlvr_limits import cli
from rlvr_limits.errors import UserError
from rlvr_limits.verify.math import VERSION, Checker, Verdict, verify
from rlvr_limits.verify.math.batch import verify_table
from rlvr_limits.verify.math.extract import extract_answer
from rlvr_limits.verify.math.gold import gold_from_record
from rlvr_limits.verify.math.normalize import clean


def boxed(answer: str) -> str:
    return f"We compute step by step.\nThe final answer is $\\boxed{{{answer}}}$."


# (gold, answer boxed in a response, expected verdict, why)
CASES = [
    # numbers: exact, no tolerance, no x100 leniency
    ("18", "18", "correct", "integer"),
    ("18", "18.0", "correct", "same value"),
    ("27.0", "27", "correct", "AMC23 golds are floats"),
    ("1000000", "1000001", "wrong", "no relative tolerance on integers"),
    ("8", "800", "wrong", "no percent leniency without a percent sign"),
    ("2", "2.0001", "wrong", "no relative tolerance"),
    ("7425000", "7,425,000", "correct", "thousands separators"),
    ("10,\\!080", "10080", "correct", "thousands separator with a thin space"),
    ("\\$32,\\!348", "32348", "correct", "currency sign"),
    ("-5", "-5", "correct", "negative"),
    ("\\frac{1}{2004!}", "\\frac{1}{2006!}", "wrong", "tiny numbers compared exactly (Math-Verify says equal)"),
    ("\\frac{1}{2^{99}}", "\\frac{1}{2^{98}}", "wrong", "tiny numbers compared exactly (Math-Verify says equal)"),
    ("1.24e-8", "2.55e-10", "wrong", "small scientific numbers are not zero"),
    # fractions and decimals
    ("0.5", "\\dfrac{1}{2}", "correct", "exact decimal = fraction"),
    ("\\frac{1}{3}", "0.333", "correct", "decimal at its printed precision, 3 significant figures"),
    ("\\frac{1}{3}", "0.33", "wrong", "only 2 significant figures"),
    ("\\frac{1}{12}", "0.0833333333333333", "correct", "long decimal"),
    ("(\\frac{3}{5},\\frac{8}{3}]", "(0.6,2.6667]", "correct", "interval with decimal ends"),
    ("\\frac{2}{3}", "0.666", "wrong", "truncated, not rounded"),
    ("\\frac{\\sqrt{3}}{2}", "0.866", "correct", "irrational gold, rounded decimal"),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}", "correct", "symbolic rewriting"),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt{2}}{2}", "wrong", "different surd"),
    ("\\frac13", "1/3", "correct", "malformed \\frac and slash"),
    ("1\\frac{4}{5}", "\\frac{9}{5}", "correct", "mixed number"),
    ("137 \\frac{1}{2}", "137.5", "correct", "mixed number with a space"),
    ("\\pi", "3.14", "correct", "3 significant figures of pi"),
    ("\\pi", "3.1", "wrong", "2 significant figures"),
    # partial parses never count
    ("1-\\frac{1}{\\mathrm{e}}", "1+\\frac{1}{e}", "wrong", "Math-Verify's partial parse reads both as 1"),
    ("4\\sqrt{2}", "4", "wrong", "no partial parse of 4\\sqrt(2)"),
    # percent and degrees are units
    ("50\\%", "50", "correct", "percent gold, number answer"),
    ("50\\%", "0.5", "correct", "50% is 0.5"),
    ("0.5", "50\\%", "correct", "0.5 is 50%"),
    ("28\\%", "28 percent", "correct", "percent word"),
    ("90^\\circ", "90", "correct", "degree sign dropped"),
    ("90^\\circ", "\\frac{\\pi}{2}", "correct", "90 degrees is pi/2"),
    ("\\frac{\\pi}{4}", "45^\\circ", "correct", "45 degrees is pi/4"),
    ("90", "\\frac{\\pi}{2}", "wrong", "nothing says 90 is an angle"),
    ("\\frac{270}7\\text{ degrees}", "\\frac{270}{7}", "correct", "degree word"),
    # units, only around plain numbers
    ("864 \\mbox{ inches}^2", "864", "correct", "unit in the gold"),
    ("18", "18 \\text{ dollars}", "correct", "unit in the answer"),
    ("18", "18 dollars", "correct", "bare unit word"),
    ("5", "5x", "wrong", "a letter after a number is not a unit"),
    ("6.5", "6.5 \\mathrm{~m}", "correct", "\\mathrm unit"),
    # x = 5 and equations
    ("5", "x=5", "correct", "assignment dropped"),
    ("x=5", "5", "correct", "assignment dropped from the gold"),
    ("11", "x = 5+5+1 = 11", "correct", "last member of an assignment chain"),
    ("\\frac{3}{4}", "\\frac{3}{4} = 0.75", "correct", "a chain of numbers"),
    ("I(0)", "y'+ry-rx(t)=0", "wrong", "an equation is not its right-hand side"),
    ("y = 2x + 3", "y=3+2x", "correct", "same named equation"),
    ("y = 2x + 3", "2x-y+3=0", "correct", "equivalent equation"),
    ("y = 2x + 3", "y=2x+4", "wrong", "different line"),
    ("34x+45y-20z+100=0", "-34x-45y+20z-100=0", "correct", "equation times -1"),
    ("x^2/4 + y^2/3 = 1", "x^2/16 + y^2/12 = 1/4", "correct", "equation divided by 4"),
    ("x=5", "y=5", "wrong", "different names"),
    ("f(x)=2x", "2x", "correct", "a function's name dropped"),
    # lists, sets, tuples, intervals
    ("1,-2", "-2, 1", "correct", "solutions in any order"),
    ("1,-2", "1", "wrong", "a missing solution"),
    ("1,-2", "1,-2,3", "wrong", "an extra solution"),
    ("3, 5, 7", "\\{3,5,7\\}", "correct", "a list is a set"),
    ("(1,2)", "(2,1)", "wrong", "a tuple is ordered"),
    ("(0,9)", "[0,9)", "wrong", "interval brackets count"),
    ("(3,4]", "(3,4]", "correct", "same interval"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", "correct", "\\left( \\right) dropped"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "3, \\frac{\\pi}{2}", "correct", "bare list for a point, same order"),
    ("(-\\infty, 2) \\cup (3, \\infty)", "(3,\\infty)\\cup(-\\infty,2)", "correct", "union in any order"),
    ("k \\geqslant 2", "[2,\\infty)", "correct", "inequality as interval"),
    ("x \\leq 5", "5 \\geq x", "correct", "flipped inequality"),
    ("x >= 5", "x \\geq 5", "correct", "ASCII relation"),
    ("x > 5", "x < 5", "wrong", "opposite inequality"),
    ("1 < x < 2", "(1,2)", "correct", "double inequality as interval"),
    ("x \\in [-2,7]", "[-2,7]", "correct", "x \\in dropped"),
    ("1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}", "correct", "\\pm is two answers"),
    ("(1,8,19), (2,7,13), (4,5,7)", "(4,5,7), (1,8,19), (2,7,13)", "correct", "list of tuples"),
    ("\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", "\\begin{bmatrix}-1&0\\\\0&-1\\end{bmatrix}",
     "correct", "matrix environments"),
    ("\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}", "\\left(\\frac{1}{5}, -\\frac{18}{5}\\right)", "correct",
     "a column vector is a tuple"),
    ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix} 1 & 2 \\\\ 4 & 3 \\end{pmatrix}",
     "wrong", "matrices element-wise"),
    # words, bases, complex numbers
    ("\\text{Evelyn}", "evelyn", "correct", "word answers ignore case"),
    ("\\text{(C)}", "C", "correct", "multiple choice letter"),
    ("\\text{(C)}", "D", "wrong", "another letter"),
    ("52_8", "52", "correct", "base may be omitted"),
    ("52_8", "42", "wrong", "digits must match"),
    ("1112112_3", "1112122_3", "wrong", "Qwen/prime_math accept this"),
    ("6 - 5i", "6-5i", "correct", "complex"),
    ("6 - 5i", "6+5i", "wrong", "conjugate"),
    # symbolic
    ("x^3+3x-6", "-6+3x+x^3", "correct", "polynomial reordered"),
    ("(a+5)(b+2)", "ab+2a+5b+10", "correct", "expanded product"),
    ("(a+5)(b+2)", "(+5)(b+2)", "wrong", "Qwen's false positive"),
    ("\\binom{2n}{n}", "\\frac{(2n)!}{(n!)^2}", "correct", "binomial identity"),
    ("\\sqrt{2} \\cos (2 t-\\pi / 4)", "\\cos(2t)+\\sin(2t)", "correct", "trigonometric identity"),
    ("\\tan^2(y)+1", "\\sec^2(y)", "correct", "secant identity"),
    ("I(0) e^{-\\frac{t}{R C}}", "I(0)\\exp(-t/(RC))", "correct", "unknown function I"),
    ("I(0)", "I(1)", "wrong", "unknown function at another point"),
    ("\\left\\lfloor\\log _{2} n\\right\\rfloor+1", "\\lfloor\\frac{2 n}{3}\\rfloor+1", "wrong", "floors differ"),
    ("2^{1009}", "2^{1009}", "correct", "big power"),
    ("1024", "2^{10}", "correct", "power"),
    ("5", "\\sqrt{25}", "correct", "root"),
]


@pytest.mark.parametrize(("gold", "answer", "expected", "why"), CASES, ids=[c[3] for c in CASES])
def test_policy_cases(gold: str, answer: str, expected: str, why: str) -> None:
    verdict = verify(boxed(answer), gold)
    assert verdict.status == expected, (why, verdict)


def test_sympy_path_cases() -> None:
    """Notation the fast parser refuses is decided by latex2sympy + sympy in a worker process."""
    checker = Checker(workers=1)
    try:
        assert checker.verify(boxed("2^10"), "1024").status == "correct"  # as typed in plain text
        assert checker.verify(boxed("\\sum_{k=1}^{3} k"), "6").status == "correct"
        assert checker.verify(boxed("\\int_0^1 x\\,dx"), "\\frac{1}{2}").status == "correct"
        assert checker.verify(boxed("\\sum_{k=1}^{4} k"), "6").status == "wrong"
    finally:
        checker.close()


def test_minerva_golds_are_compared_at_their_significant_figures() -> None:
    assert verify(boxed("1.62"), "1.6", "minerva_math").correct
    assert not verify(boxed("1.66"), "1.6", "minerva_math").correct
    assert not verify(boxed("1.2e-8"), "1.24e-8", "minerva_math").correct
    assert verify(boxed("1.237e-8"), "1.24e-8", "minerva_math").correct
    assert not verify(boxed("1.62"), "1.6").correct  # other benchmarks: exact gold
    # integer golds of two significant figures or more are rounded values too, at their last digit (`31` for
    # 31.2 micrometres); one of a single significant figure (`300`: trailing zeros do not count) is exact
    assert verify(boxed("31.2"), "31", "minerva_math").correct and verify(boxed("310.4"), "310", "minerva_math").correct
    assert not verify(boxed("311"), "310", "minerva_math").correct
    assert not verify(boxed("300.4"), "300", "minerva_math").correct
    assert verify(boxed("300.0"), "300", "minerva_math").correct
    assert not verify(boxed("31.2"), "31").correct


def test_extraction_order_and_forms() -> None:
    assert extract_answer("so \\boxed{\\frac{1}{2}} done", False) == "\\frac{1}{2}"
    assert extract_answer("\\boxed 5.", True) == "5"
    assert extract_answer("\\fbox{7}", True) == "7"
    assert extract_answer("\\boxed{3}, \\boxed{4} and \\boxed{5}", False) == "3, 4, 5"
    assert extract_answer("\\boxed{1} no no no \\boxed{2}", False) == "2"  # distant boxes not joined
    assert extract_answer("\\boxed{840} then \\boxed{840}", False) == "840"
    assert extract_answer("<think>\\boxed{1}</think> so \\boxed{2}", False) == "2"
    assert extract_answer("<think>I think it is \\boxed{1}", True) is None  # reasoning never ended
    assert extract_answer("x</think>The answer is 7.", True) == "7"
    assert extract_answer("Final Answer: The final answer is $28 \\%$. I hope it is correct.", False) == "28 \\%"
    assert extract_answer("blah\n**Answer:** $69$, $84$", False) == "69, 84"
    assert extract_answer("Final Answer: **73**", True) == "73"
    assert extract_answer("the answer is $x = 1$. Later text", False) == "x = 1"
    assert extract_answer("reasoning\n#### 18", True) == "18"
    assert extract_answer("we get 6,000 - 3,000 = 3,000", True) == "3,000"
    assert extract_answer("so 2023-3", True) is None  # 3 is an operand of a subtraction, and never -3
    assert extract_answer("we get 2.7778e-6", True) == "2.7778e-6"
    assert extract_answer("no final answer here, x is 5", False) is None  # symbolic gold: no guessing
    assert extract_answer("cut off at 5", True, truncated=True) is None  # no last number when truncated
    assert extract_answer("cut off, but the answer is $5$", True, truncated=True) == "5"
    assert extract_answer("\\boxed{\\frac{1}{2}", True) is None  # an unclosed box is no box; 2 is a denominator


#: (response without a box or marker, numeric gold, expected verdict, why): the last number is the answer only when
#: it stands alone, never when it is a token of an expression or a word
FALLBACK = [
    ("$\\frac{1+\\sqrt{5}}{2}$", "2", "no_answer", "the denominator of a fraction is not the answer"),
    ("AZYUK2A", "2", "no_answer", "a digit inside a word"),
    ("so the count is 2^{10}", "10", "no_answer", "an exponent"),
    ("so the count is 2^10", "10", "no_answer", "an exponent without braces"),
    ("the count is 10^2", "2", "no_answer", "a power's exponent"),
    ("we need x_2", "2", "no_answer", "a subscript"),
    ("we compute 3 + 4", "4", "no_answer", "an operand of a sum"),
    ("so 2023-3", "3", "no_answer", "an operand of a subtraction"),
    ("so we get 2 \\cdot 5", "5", "no_answer", "an operand of a product"),
    ("the area is 5\\pi", "5", "no_answer", "the coefficient of pi"),
    ("the ratio is 2/3", "3", "no_answer", "the denominator of a slash fraction"),
    ("we evaluate f(2)", "2", "no_answer", "the argument of a function"),
    ("it is 42!", "42", "no_answer", "a factorial"),
    ("42 = 6 \\times 7", "7", "no_answer", "a factor of a product"),
    ("so she has 42 apples left.", "42", "correct", "a number followed by words"),
    ("reasoning\n#### 42", "42", "correct", "GSM8K's answer line"),
    ("so 3 + 4 = 7.", "7", "correct", "the result of a computation"),
    ("Total: **42**", "42", "correct", "markdown bold"),
    ("hence $x = 5$", "5", "correct", "the value of a named unknown"),
    ("it costs \\$32.", "32", "correct", "a currency sign"),
    ("the angle is 90^\\circ", "90", "correct", "a degree sign is a unit"),
    ("the rate is 50\\%", "50", "correct", "a percent sign is a unit"),
    ("we get 6,000 - 3,000 = 3,000", "3000", "correct", "thousands separators"),
    ("we get 41 apples and 5 pears, so 9 fruits", "9", "correct", "the last number, not an earlier one"),
    ("so she has 42 apples left.", "41", "wrong", "a number standing alone is judged like any answer"),
]


@pytest.mark.parametrize(("response", "gold", "expected", "why"), FALLBACK, ids=[c[3] for c in FALLBACK])
def test_last_number_only_when_it_stands_alone(response: str, gold: str, expected: str, why: str) -> None:
    assert verify(response, gold).status == expected, why


def test_markers_earlier_in_the_reasoning_do_not_beat_the_closing_statement() -> None:
    text = "Thus the final answer is $7$ for part one.\n...\n**Answer:** $9$"
    assert extract_answer(text, True) == "9"


def test_normalization_is_the_cache_key() -> None:
    assert clean("\\left( \\dfrac{1}{2}, 3 \\right)") == clean("(\\frac12,3)".replace("\\frac12", "\\frac{1}{2}"))
    assert clean("\\boxed{ 5 }.") == "5"
    assert clean("\\pi r^2") == "\\pi r^2"  # the space separating a command from a letter stays
    assert clean("2 3") == "2 3"  # two numbers stay two numbers


def test_verdict_api() -> None:
    verdict = verify("no answer", "\\frac{1}{2}")
    assert isinstance(verdict, Verdict) and verdict.status == "no_answer" and verdict.extracted is None
    assert not verdict.correct
    good = verify(boxed("1/2"), "\\frac{1}{2}")
    assert good.to_dict() == {"status": "correct", "extracted": "1/2", "reason": "", "correct": True}
    assert VERSION.startswith("math-")


def test_verify_is_thread_safe() -> None:
    pairs = [(boxed(a), g) for g, a, _, _ in CASES[:40]]
    expected = [verify(r, g).status for r, g in pairs]
    results: dict[int, list[str]] = {}

    def work(index: int) -> None:
        results[index] = [verify(r, g).status for r, g in pairs]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(statuses == expected for statuses in results.values())


# ---------------------------------------------------------------------------------------------- golds

def test_gold_from_record_per_loader() -> None:
    assert gold_from_record("math500", {"solution": "so $\\boxed{\\frac{1}{2}}$ and \\boxed{\\frac{3}{\n4}}."}) \
        == "\\frac{3}{4}"
    assert gold_from_record("minerva_math", {"solution": "x=\\boxed{1.6} \\mathrm{m}"}) == "1.6"
    assert gold_from_record("gsm8k", {"answer": "3 + 4 = <<3+4=7>>7\n#### 7"}) == "7"
    assert gold_from_record("olympiadbench", {"final_answer": ["$69$,$84$"]}) == "69$,$84"
    assert gold_from_record("aime24", {"answer": "204"}) == "204"
    assert gold_from_record("amc23", {"answer": 27.0}) == "27.0"


@pytest.mark.parametrize(("loader", "record", "error"), [
    ("math500", {"solution": "no box here"}, ValueError),
    ("math500", {"solution": "\\boxed{1"}, ValueError),
    ("math500", {}, KeyError),
    ("gsm8k", {"answer": "no marker"}, ValueError),
    ("olympiadbench", {"final_answer": []}, ValueError),
    ("olympiadbench", {"final_answer": [3]}, TypeError),
    ("aime24", {"answer": None}, TypeError),
    ("mathvista", {"answer": "1"}, ValueError),
])
def test_gold_from_record_errors(loader: str, record: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        gold_from_record(loader, record)


# ---------------------------------------------------------------------------------------------- CLI

def test_cli_prints_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["verify-math", "--gold", "\\frac{1}{2}", "--response", "so \\boxed{0.5}"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "correct" and out["correct"] is True and out["extracted"] == "0.5"
    assert out["version"] == VERSION
    assert cli.main(["verify-math", "--gold", "1.6", "--response", "\\boxed{1.62}", "--benchmark",
                     "minerva_math"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "correct"


def test_cli_refuses_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["verify-math", "--gold", " ", "--response", "5"]) == 2
    assert "--gold" in capsys.readouterr().err
    assert cli.main(["verify-math", "--gold", "5", "--response", "5", "--timeout", "0"]) == 2


# ---------------------------------------------------------------------------------------------- batch

def _tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    problems = pl.DataFrame({"problem_id": ["a", "b", "c"], "answer": ["18", "\\frac{1}{2}", "4.2"],
                             "meta": ["{}", "{}", json.dumps({"error": "1e-1"})]})
    texts = [("a", boxed("18")), ("a", boxed("18")), ("a", "we get 18"), ("a", "we get 18"),
             ("b", boxed("0.5")), ("b", boxed("2^10")), ("b", "nothing"), ("c", boxed("4.25"))]
    samples = pl.DataFrame({"problem_id": [p for p, _ in texts], "sample_idx": list(range(len(texts))),
                            "text": [t for _, t in texts],
                            "finish_reason": ["stop", "stop", "stop", "length", "stop", "stop", "stop", "stop"]})
    return problems, samples


def test_verify_table() -> None:
    problems, samples = _tables()
    table = verify_table(problems, samples, "olympiadbench", {"workers": 1, "timeout_s": 2.0})
    assert table.columns == ["problem_id", "sample_idx", "verdict", "correct", "extracted", "seconds"]
    assert table["seconds"].min() >= 0 and table["seconds"].max() < 2.0
    assert table["verdict"].to_list() == ["correct", "correct", "correct", "no_answer", "correct", "wrong",
                                          "no_answer", "correct"]  # 4.25 is within OlympiadBench's error 0.1
    assert table["correct"].to_list() == [v == "correct" for v in table["verdict"].to_list()]
    assert table["extracted"][3] is None and table["extracted"][0] == "18"
    assert table.schema["sample_idx"] == pl.Int32


@pytest.mark.parametrize(("settings", "message"), [
    ({"workers": 0}, "workers"), ({"timeout_s": "2"}, "timeout_s"), ({"threads": 2}, "unknown"),
])
def test_verify_table_refuses_bad_settings(settings: dict, message: str) -> None:
    problems, samples = _tables()
    with pytest.raises(UserError, match=message):
        verify_table(problems, samples, "math500", settings)


def test_verify_table_refuses_bad_tables() -> None:
    problems, samples = _tables()
    with pytest.raises(UserError, match="missing column"):
        verify_table(problems.drop("answer"), samples, "math500", {})
    with pytest.raises(UserError, match="not in the problems table"):
        verify_table(problems.filter(pl.col("problem_id") != "a"), samples, "math500", {})
    with pytest.raises(UserError, match="appears twice"):
        verify_table(pl.concat([problems, problems]), samples, "math500", {})
    bad_meta = problems.with_columns(meta=pl.lit(json.dumps({"error": "big"})))
    with pytest.raises(UserError, match="error"):
        verify_table(bad_meta, samples, "olympiadbench", {})
