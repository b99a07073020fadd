"""Every figure kind writes four non-empty files whose SVG draws the expected marks."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analysis_data import counts
from rlvr_limits.analysis.passk import k_grid, passk_table
from rlvr_limits.cli import main
from rlvr_limits.figures.build import efficiency_table, entropy_curve
from rlvr_limits.figures.save import figure_paths
from rlvr_limits.figures.style import ROLE_PALETTES, model_styles
from rlvr_limits.io import write_parquet
from rlvr_limits.tables import PASSK_COLUMNS, PERPLEXITY_COLUMNS, conform

N = 16
MODELS = [{"name": "base", "role": "base", "label": "Base", "step": None},
          {"name": "rl", "role": "rl", "label": "RL", "step": 150},
          {"name": "rl2", "role": "rl", "label": "RL late", "step": 300}]
SPEC = {"title": "toy comparison", "comparison": "toy", "models": MODELS, "ci": 0.95,
        "benchmarks": {"toy": {"n_samples": N, "k_max": N, "verifiers": ["math", "strict"]}}}
SVG = "{http://www.w3.org/2000/svg}g"


def marks(svg: Path) -> Counter:
    """Number of drawn items per mark type (line, area, symbol, rect, rule, text)."""
    found: Counter = Counter()
    for group in ET.parse(svg).getroot().iter(SVG):
        cls = group.get("class", "").split()
        if "role-mark" in cls:
            found[cls[0].removeprefix("mark-")] += len(list(group))
    return found


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, Path]:
    """passk, counts, compare and perplexity tables of three models on one benchmark, two verifiers."""
    root = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(0)
    paths: dict[str, Path] = {}
    for i, model in enumerate(("base", "rl", "rl2")):
        c = rng.binomial(N, rng.beta(0.5 + i, 2.0, 30))
        table = pl.concat([counts([N] * 30, c, verifier=v) for v in ("math", "strict")])
        write_parquet(table, root / f"{model}.counts.parquet")
        write_parquet(passk_table(table, k_grid(N), 50, 0.95, 1), root / f"{model}.parquet")
        paths[model] = root / f"{model}.parquet"
        paths[f"{model}.counts"] = root / f"{model}.counts.parquet"
    spec = {"comparison": "toy", "kind": "steps", "base": "base", "models": ["rl", "rl2"], "benchmark": "toy",
            "k_max": N, "bootstrap": 50, "ci": 0.95, "seed": 1, "delta_se_k": N}
    assert main(["compare", "--spec", json.dumps(spec), "--out", str(root / "compare.parquet"), "--counts",
                 *(f"{m}={root / f'{m}.counts.parquet'}" for m in ("base", "rl", "rl2"))]) == 0
    paths["compare"] = root / "compare.parquet"
    paths["compare.json"] = root / "compare.json"
    for scorer, generator in (("base", "base"), ("base", "rl"), ("rl", "rl"), ("base", "reference")):
        ppl = 1.0 + rng.gamma(2.0, 0.1, 12)
        table = pl.DataFrame({"scorer": scorer, "generator": generator, "benchmark": "toy",
                              "problem_id": [f"p{i}" for i in range(12)], "sample_idx": 0, "n_tokens": 30,
                              "mean_logprob": -np.log(ppl), "perplexity": ppl, "truncated": False})
        paths[f"ppl.{scorer}.{generator}"] = root / f"ppl.{scorer}.{generator}.parquet"
        write_parquet(conform(table, PERPLEXITY_COLUMNS), paths[f"ppl.{scorer}.{generator}"])
    return paths


def draw(kind: str, inputs: list[str], out: Path, spec: dict | None = None) -> int:
    return main(["figures", "--kind", kind, "--spec", json.dumps(spec or SPEC), "--inputs", *inputs,
                 "--out", str(out)])


def per_model(tables: dict[str, Path], suffix: str = "") -> list[str]:
    return [f"{m}:toy={tables[m + suffix]}" for m in ("base", "rl", "rl2")]


def check_files(out: Path) -> Counter:
    for path in figure_paths(out).values():
        assert path.is_file() and path.stat().st_size > 0, path
    html = figure_paths(out)[".html"].read_text()
    assert "vega-embed" in html and "cdn.jsdelivr" not in html  # self-contained: renders offline
    assert figure_paths(out)[".png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(figure_paths(out)[".vl.json"].read_text())["$schema"].startswith(
        "https://vega.github.io/schema/vega-lite/")
    return marks(out)


def check_files_after(code: int, out: Path) -> Counter:
    assert code == 0
    return check_files(out)


def test_passk_curves(tables, tmp_path) -> None:
    out = tmp_path / "passk.svg"
    found = check_files_after(draw("passk", per_model(tables), out), out)
    # 3 models × 2 verifier panels: one line and one band each; 5 k values per curve
    assert found["line"] == 6 and found["area"] == 6 and found["symbol"] == 6 * 5
    svg = out.read_text()
    assert ROLE_PALETTES["base"][0].lower() in svg.lower() and ROLE_PALETTES["rl"][0].lower() in svg.lower()
    assert "toy comparison" in svg and "RL late" in svg


def test_passk_single_verifier(tables, tmp_path) -> None:
    spec = {**SPEC, "verifier": "strict"}
    found = check_files_after(draw("passk", per_model(tables), tmp_path / "p.svg", spec), tmp_path / "p.svg")
    assert found["line"] == 3
    assert "verifier: strict" in (tmp_path / "p.svg").read_text()


def test_difference(tables, tmp_path) -> None:
    out = tmp_path / "difference.svg"
    found = check_files_after(draw("difference", [f"toy={tables['compare']}"], out), out)
    assert found["line"] == 4 and found["area"] == 4  # 2 models × 2 verifiers
    assert found["rule"] >= 2  # zero lines of both panels, plus the crossovers found
    assert "toy [math]: " not in out.read_text()  # the crossover statements are on the findings page


def test_coverage(tables, tmp_path) -> None:
    out = tmp_path / "coverage.svg"
    found = check_files_after(draw("coverage", [f"toy={tables['compare.json']}"], out), out)
    assert found["rect"] == 4 * 2 * 2  # four splits × 2 models × 2 verifiers


def test_histogram(tables, tmp_path) -> None:
    out = tmp_path / "histogram.svg"
    found = check_files_after(draw("histogram", per_model(tables, ".counts"), out), out)
    assert found["rect"] == 12 * 3 * 2  # 12 bins × 3 models × 2 verifiers (empty bins drawn at height 0)
    assert "(0.9,1.0)" in out.read_text()


def test_perplexity(tables, tmp_path) -> None:
    out = tmp_path / "perplexity.svg"
    pairs = (("base", "base"), ("base", "rl"), ("rl", "rl"))
    inputs = [f"{s}:{g}:toy={tables[f'ppl.{s}.{g}']}" for s, g in pairs]
    found = check_files_after(draw("perplexity", inputs, out), out)
    assert found["symbol"] >= 36  # every scored response is drawn as a point
    assert found["rect"] >= 3  # one box per scorer/generator pair


def test_perplexity_of_reference_responses(tables, tmp_path) -> None:
    out = tmp_path / "perplexity.svg"
    inputs = [f"base:{g}:toy={tables[f'ppl.base.{g}']}" for g in ("base", "reference")]
    found = check_files_after(draw("perplexity", inputs, out), out)
    assert found["symbol"] >= 24
    assert "(Y reference solutions)" in (tmp_path / "perplexity.vl.json").read_text()


def test_steps(tables, tmp_path) -> None:
    out = tmp_path / "steps.svg"
    found = check_files_after(draw("steps", per_model(tables), out), out)
    assert found["line"] == 2 * 2 and found["symbol"] == 2 * 2 * 3  # 2 metrics × 2 verifiers, 3 checkpoints
    assert "training step" in out.read_text()


def test_efficiency(tables, tmp_path) -> None:
    out = tmp_path / "efficiency.svg"
    found = check_files_after(draw("efficiency", per_model(tables), out), out)
    # first verifier only: 3 models × 2 bars, an error bar on each, the base's pass@k_max rule, 2 ΔSE labels
    assert found["rect"] == 6 and found["rule"] == 6 + 1 and found["text"] == 2
    svg = out.read_text()
    assert "verifier: math" in svg and "ΔSE = Base pass@k_max − model pass@1 (lower is better)" in svg


def write_passk(path: Path, values: dict[str, dict[int, float]]) -> str:
    """A pass@k table by hand: per verifier, pass@k at each k, with an interval of ±0.05."""
    rows = [{"verifier": verifier, "k": k, "pass_at_k": p, "ci_low": max(0.0, p - 0.05),
             "ci_high": min(1.0, p + 0.05), "n_problems": 30}
            for verifier, by_k in values.items() for k, p in by_k.items()]
    write_parquet(conform(pl.DataFrame(rows), PASSK_COLUMNS), path)
    return str(path)


@pytest.fixture
def hand_tables(tmp_path) -> dict[tuple[str, str], str]:
    """Known pass@1 / pass@4 / pass@16 of the three models under two verifiers."""
    return {("base", "toy"): write_passk(tmp_path / "base.parquet", {"math": {1: 0.30, 4: 0.6, 16: 0.80},
                                                                     "strict": {1: 0.20, 4: 0.5, 16: 0.70}}),
            ("rl", "toy"): write_passk(tmp_path / "rl.parquet", {"math": {1: 0.442, 4: 0.6, 16: 0.75},
                                                                 "strict": {1: 0.25, 4: 0.4, 16: 0.60}}),
            ("rl2", "toy"): write_passk(tmp_path / "rl2.parquet", {"math": {1: 0.85, 4: 0.9, 16: 0.95},
                                                                   "strict": {1: 0.60, 4: 0.6, 16: 0.65}})}


def test_efficiency_table_by_hand(hand_tables) -> None:
    table = efficiency_table(SPEC, hand_tables)
    assert table["model"].to_list() == ["Base", "Base", "RL", "RL", "RL late", "RL late"]
    assert table["metric"].to_list() == ["pass@1", "pass@k_max"] * 3
    assert set(table["verifier"]) == {"math"}  # the benchmark's first verifier
    assert table["value"].to_list() == pytest.approx([0.30, 0.80, 0.442, 0.75, 0.85, 0.95])
    assert table["base_kmax"].to_list() == pytest.approx([0.80] * 6)
    per_model = table.filter(pl.col("metric") == "pass@1")
    assert per_model["delta_se"].to_list()[1:] == pytest.approx([0.358, -0.05])  # 0.80 − 0.442, 0.80 − 0.85
    assert per_model["annotation"].to_list() == [None, "ΔSE 0.358", "ΔSE -0.050"]
    assert per_model["label_y"].to_list() == pytest.approx([0.85, 0.80, 1.0])  # above bars, bars and base rule


def test_efficiency_table_takes_the_spec_verifier_and_k_max(hand_tables) -> None:
    spec = {**SPEC, "verifier": "strict",
            "benchmarks": {"toy": {**SPEC["benchmarks"]["toy"], "k_max": 4}}}
    table = efficiency_table(spec, hand_tables).filter(pl.col("metric") == "pass@k_max")
    assert set(table["verifier"]) == {"strict"}
    assert table["value"].to_list() == pytest.approx([0.5, 0.4, 0.6])  # pass@4 under strict
    assert table["annotation"].to_list() == [None, "ΔSE 0.250", "ΔSE -0.100"]  # 0.5 − 0.25, 0.5 − 0.60


@pytest.mark.parametrize(("values", "spec", "message"), [
    ({"math": {1: 0.4, 4: 0.6}}, SPEC,
     "bad.parquet: expected one pass@16 row for verifier 'math', found none (k values: [1, 4])"),
    ({"math": {1: 0.4, 16: 1.3}}, SPEC, "bad.parquet: pass@16 and its interval must be fractions in [0, 1]"),
    ({"strict": {1: 0.4, 16: 0.6}}, SPEC, "bad.parquet: no rows for verifier 'math' (has ['strict'])"),
    ({"math": {1: 0.4, 16: 0.6}}, {**SPEC, "verifier": "nope"}, "bad.parquet: no rows for verifier 'nope'"),
])
def test_efficiency_refuses_bad_tables(hand_tables, tmp_path, capsys, values, spec, message) -> None:
    bad = write_passk(tmp_path / "bad.parquet", values)
    inputs = [f"rl:toy={bad}", *(f"{m}:toy={hand_tables[m, 'toy']}" for m in ("base", "rl2"))]
    assert draw("efficiency", inputs, tmp_path / "f.svg", spec) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "f.svg").exists()


def test_efficiency_refuses_duplicate_rows(hand_tables, tmp_path, capsys) -> None:
    table = pl.read_parquet(hand_tables["rl", "toy"])
    write_parquet(pl.concat([table, table.head(1)]), tmp_path / "twice.parquet")
    inputs = [f"base:toy={hand_tables['base', 'toy']}", f"rl:toy={tmp_path / 'twice.parquet'}"]
    assert draw("efficiency", inputs, tmp_path / "f.svg") == 2
    assert "twice.parquet: expected one pass@1 row for verifier 'math', found 2 rows" in capsys.readouterr().err


@pytest.mark.parametrize(("spec", "keys", "message"), [
    (SPEC, ("rl", "rl2"), "base model 'base' has no results on ['toy']"),
    ({**SPEC, "benchmarks": {"toy": {"n_samples": N, "k_max": N}}}, ("base", "rl"),
     "benchmark 'toy' lists no 'verifiers'"),
    ({**SPEC, "benchmarks": {"toy": {"n_samples": N, "verifiers": ["math"]}}}, ("base", "rl"),
     "benchmark 'toy' needs a positive integer 'k_max'"),
])
def test_efficiency_refuses_bad_spec_or_inputs(hand_tables, tmp_path, capsys, spec, keys, message) -> None:
    assert draw("efficiency", [f"{m}:toy={hand_tables[m, 'toy']}" for m in keys], tmp_path / "f.svg", spec) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("kind", "inputs", "spec", "message"), [
    ("passk", ["base=x.parquet"], SPEC, "expected NAME:NAME=PATH"),
    ("passk", ["ghost:toy={base}"], SPEC, "model 'ghost' is not among"),
    ("passk", ["base:other={base}"], SPEC, "benchmark 'other' is not among"),
    ("passk", ["base:toy={base}"], {**SPEC, "verifier": "nope"}, "no rows for verifier 'nope'"),
    ("passk", ["base:toy={base}"], {**SPEC, "models": []}, "key 'models'"),
    ("histogram", ["base:toy={base}"], SPEC, "missing columns"),
])
def test_bad_input_is_refused(tables, tmp_path, capsys, kind, inputs, spec, message) -> None:
    args = [item.format(base=tables["base"]) for item in inputs]
    assert draw(kind, args, tmp_path / "f.svg", spec) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "f.svg").exists()


def test_output_must_be_svg(tables, tmp_path, capsys) -> None:
    assert draw("passk", per_model(tables), tmp_path / "f.png") == 2
    assert "must end in .svg" in capsys.readouterr().err


def test_styles_follow_roles() -> None:
    styles = model_styles([{"name": "a", "role": "rl"}, {"name": "b", "role": "base"},
                           {"name": "c", "role": "rl"}, {"name": "d", "role": "mystery"}])
    assert [s.color for s in styles] == [ROLE_PALETTES["rl"][0], ROLE_PALETTES["base"][0],
                                         ROLE_PALETTES["rl"][1], ROLE_PALETTES["other"][0]]
    assert styles[0].label == "a"


ENTROPY_MODELS = [{"name": "base", "role": "base", "label": "Base", "temperature": 0.6},
                  {"name": "rl", "role": "rl", "label": "RL", "temperature": 0.6},
                  {"name": "rl_t09", "role": "rl", "label": "RL hot", "temperature": 0.9},
                  {"name": "rl_t12", "role": "rl", "label": "RL hotter", "temperature": 1.2}]
ENTROPY_SPEC = {"title": "entropy toy", "models": ENTROPY_MODELS, "ci": 0.95,
                "benchmarks": {"amc23": {"n_samples": 64, "k_max": 64, "verifiers": ["math"]}}}
#: The paper's AMC23 numbers (Fig. 17): base 0.51 at T=0.6; RL 0.22 at 0.6 and 0.47 at 0.9.
AMC23 = {"reference_entropy": 0.51, "matching_temperature": 0.95, "statement": "the swept model matches",
         "sweep": [{"temperature": 1.2, "entropy": 0.71}, {"temperature": 0.6, "entropy": 0.22},
                   {"temperature": 0.9, "entropy": 0.47}]}


def write_entropy(path: Path, result: object) -> str:
    path.write_text(json.dumps(result))
    return str(path)


def rule_strokes(svg: Path) -> list[tuple[str | None, str | None]]:
    """(stroke colour, dash pattern) of every drawn rule."""
    groups = [g for g in ET.parse(svg).getroot().iter(SVG)
              if {"mark-rule", "role-mark"} <= set(g.get("class", "").split())]
    return [(line.get("stroke"), line.get("stroke-dasharray")) for group in groups for line in group]


def test_entropy_curve_by_hand(tmp_path) -> None:
    curve = entropy_curve(ENTROPY_SPEC, {("amc",): write_entropy(tmp_path / "amc.json", AMC23)})
    assert curve.points.columns == ["model", "temperature", "entropy"]
    assert curve.points["model"].to_list() == ["RL", "RL hot", "RL hotter"]  # sorted by temperature
    assert curve.points["temperature"].to_list() == [0.6, 0.9, 1.2]
    assert curve.points["entropy"].to_list() == pytest.approx([0.22, 0.47, 0.71])
    assert (curve.reference_label, curve.reference_temperature, curve.reference_entropy) == ("Base", 0.6, 0.51)
    assert curve.reference_color == ROLE_PALETTES["base"][0] and curve.color == ROLE_PALETTES["rl"][0]
    assert curve.matching_temperature == 0.95


def test_entropy_figure(tmp_path) -> None:
    out = tmp_path / "amc.svg"
    found = check_files_after(draw("entropy", [f"amc={write_entropy(tmp_path / 'amc.json', AMC23)}"], out,
                                   ENTROPY_SPEC), out)
    # one line through 3 points; the reference rule and the matching-temperature rule, each with its label
    assert found["line"] == 1 and found["symbol"] == 3 and found["rule"] == 2 and found["text"] == 2
    assert (ROLE_PALETTES["base"][0], "6,3") in rule_strokes(out)  # dashed, in the reference's colour
    svg = out.read_text()
    assert ">T = 0.950<" in svg and ">Base at T = 0.6: 0.510<" in svg
    assert "amc23: n = 64 samples per problem" in svg and "does not bracket" not in svg


def test_entropy_figure_without_a_match(tmp_path) -> None:
    statement = "the swept model does not reach entropy 0.800 within T=0.6..1.2 (entropy 0.220..0.710)"
    result = {**AMC23, "reference_entropy": 0.8, "matching_temperature": None, "statement": statement}
    out = tmp_path / "amc.svg"
    found = check_files_after(draw("entropy", [f"amc={write_entropy(tmp_path / 'amc.json', result)}"], out,
                                   ENTROPY_SPEC), out)
    assert found["rule"] == 1 and found["text"] == 1  # no matching-temperature rule nor label
    assert rule_strokes(out) == [(ROLE_PALETTES["base"][0], "6,3")]
    svg = out.read_text()
    assert "the sweep does not bracket the reference entropy" in svg and f">{statement}<" in svg
    assert ">T = " not in svg


SWEEP = AMC23["sweep"]


@pytest.mark.parametrize(("result", "spec", "message"), [
    ({"sweep": SWEEP}, ENTROPY_SPEC, "missing key(s) ['reference_entropy', 'matching_temperature', 'statement']"),
    ([1, 2], ENTROPY_SPEC, "missing key(s)"),
    ({**AMC23, "reference_entropy": "high"}, ENTROPY_SPEC, "'reference_entropy' must be a finite number"),
    ({**AMC23, "reference_entropy": True}, ENTROPY_SPEC, "'reference_entropy' must be a finite number"),
    ({**AMC23, "sweep": []}, ENTROPY_SPEC, "'sweep' must be a non-empty list"),
    ({**AMC23, "sweep": {"0.6": 0.22}}, ENTROPY_SPEC, "'sweep' must be a non-empty list"),
    ({**AMC23, "sweep": [*SWEEP[:2], {"temperature": 0.9, "entropy": "0.47"}]}, ENTROPY_SPEC,
     "sweep[2] must hold a numeric 'temperature' and 'entropy'"),
    ({**AMC23, "sweep": [*SWEEP[:2], {"temperature": 0.9}]}, ENTROPY_SPEC, "sweep[2] must hold a numeric"),
    ({**AMC23, "sweep": [*SWEEP[:2], 0.47]}, ENTROPY_SPEC, "sweep[2] must hold a numeric"),
    ({**AMC23, "matching_temperature": "0.95"}, ENTROPY_SPEC, "'matching_temperature' must be a number or null"),
    ({**AMC23, "statement": None}, ENTROPY_SPEC, "'statement' must be a string"),
    ({**AMC23, "sweep": SWEEP[:2]}, ENTROPY_SPEC,
     "swept temperatures [0.6, 1.2] differ from those of the figure's models [0.6, 0.9, 1.2]"),
    (AMC23, {**ENTROPY_SPEC, "models": [{**m, "temperature": None} for m in ENTROPY_MODELS]},
     "model 'rl' needs its sampling 'temperature'"),
    (AMC23, {**ENTROPY_SPEC, "models": ENTROPY_MODELS[:1]}, "must list the reference model, then the swept"),
])
def test_entropy_figure_refuses_bad_input(tmp_path, capsys, result, spec, message) -> None:
    bad = write_entropy(tmp_path / "bad.json", result)
    assert draw("entropy", [f"amc={bad}"], tmp_path / "f.svg", spec) == 2
    err = capsys.readouterr().err
    assert message in err and ("bad.json" in err or "--spec" in err)
    assert not (tmp_path / "f.svg").exists()


@pytest.mark.parametrize(("inputs", "message"), [
    (["a:b={good}"], "expected NAME=PATH"),
    (["a={good}", "b={good}"], "draws one entropy-matching result, got 2"),
    (["a={missing}"], "missing.json: file not found"),
])
def test_entropy_figure_refuses_bad_inputs(tmp_path, capsys, inputs, message) -> None:
    paths = {"good": write_entropy(tmp_path / "good.json", AMC23), "missing": tmp_path / "missing.json"}
    assert draw("entropy", [item.format(**paths) for item in inputs], tmp_path / "f.svg", ENTROPY_SPEC) == 2
    assert message in capsys.readouterr().err
