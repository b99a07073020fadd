"""The findings of a comparison in plain sentences, each number with its interval, as a small HTML page.

The report shows this page next to the figures (a CSV is only a download there). It states what the data say,
whichever way they go: a difference the paired test does not establish is called inconclusive (its interval
then includes zero), each difference names its test and p-value, and a missing crossover is stated as such.
"""

from __future__ import annotations

import html
from typing import Any

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 60em; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.4em; }
li { margin: 0.35em 0; line-height: 1.4; }
.yes { color: #1a7f37; font-weight: 600; } .no { color: #b35900; font-weight: 600; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; }
"""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _interval(iv: dict[str, Any]) -> str:
    return f"{_pct(iv['value'])} [{_pct(iv['low'])}, {_pct(iv['high'])}]"


def _points(iv: dict[str, Any]) -> str:
    return f"{100 * iv['value']:+.1f} points [{100 * iv['low']:+.1f}, {100 * iv['high']:+.1f}]"


def _p(p: float) -> str:
    return f"= {p:.3g}" if p >= 0.001 else "&lt; 0.001"


def _difference(diff: dict[str, Any], ci: float) -> str:
    """The difference with its family-wise interval, raw and adjusted p-values, verdict and method."""
    level = f"{1 - ci:.0%}"
    verdict = (f'<span class="yes">a difference at the {level} level</span>' if diff["excludes_zero"]
               else f'<span class="no">inconclusive at the {level} level</span>')
    adjusted = "" if len(diff["family"]) < 2 else f", adjusted p {_p(diff['p_adjusted'])}"
    return (f"difference {_points(diff)} ({diff['level']:.1%} interval), p {_p(diff['p_value'])}{adjusted}: "
            f"{verdict} ({html.escape(diff['method'])})")


def _samples(result: dict[str, Any], base: str, other: str) -> str:
    n = result["n_samples"]
    if n["base"] == n["other"] and len(n["base"]) == 1:
        return f"{n['base'][0]} samples"
    return f"n = {'/'.join(map(str, n['base']))} ({base}) and {'/'.join(map(str, n['other']))} ({other}) samples"


def _delta_se(delta: dict[str, Any], base: str, other: str) -> str:
    k = delta["k"]
    if delta["value"] is None:
        return f"ΔSE ({base} pass@{k} − {other} pass@1) is not computable: {html.escape(delta['not_computable'])}."
    return f"ΔSE ({base} pass@{k} − {other} pass@1): {_points(delta)}."


def result_items(summary: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """Sentences (HTML list items) for one model × verifier of one benchmark."""
    base, other, k_max, ci = summary["base"], result["model"], summary["k_max"], summary["ci"]
    cov = result["coverage"]["counts"]
    p1, pk = result["pass_at_1"], result["pass_at_k_max"]
    return [
        f"pass@1: {other} {_interval(p1['other'])} vs {base} {_interval(p1['base'])}; "
        f"{_difference(result['diff_at_1'], ci)}.",
        f"pass@{k_max}: {other} {_interval(pk['other'])} vs {base} {_interval(pk['base'])}; "
        f"{_difference(result['diff_at_k_max'], ci)}.",
        f"Crossover: {html.escape(result['crossover']['statement'])}.",
        f"Coverage within {_samples(result, base, other)} per problem ({result['coverage']['n_problems']} "
        f"problems): both {cov['both']}, {base} only {cov['base_only']}, {other} only {cov['other_only']}, "
        f"neither {cov['neither']}.",
        _delta_se(result["delta_se"], base, other),
    ]


def _method(summary: dict[str, Any]) -> str:
    """How the numbers of one benchmark were obtained, and which family each correction covers."""
    ci, k_max = summary["ci"], summary["k_max"]
    family = " and ".join(f"k={k}" for k in sorted({1, k_max}))
    return (f"Single-curve intervals are {ci:.0%} studentized bootstrap intervals over problems "
            f"({summary['bootstrap']} resamples; exact Clopper–Pearson where every problem is solved or not, "
            "as at k = n). Each difference is tested by a paired sign-flip test over "
            "problems (an exact sign test, i.e. McNemar, where every problem is solved or not, as at k = n) "
            "together with a studentized bootstrap; a difference is claimed only when both reject, and its "
            "interval is the union of both. The headline differences at "
            f"{family} form one family: their p-values are Bonferroni-adjusted and their intervals hold "
            f"simultaneously at {ci:.0%}. The difference figure's bands hold simultaneously over the whole k "
            "grid of each model and verifier.")


def findings_html(comparison: str, summaries: list[dict[str, Any]]) -> str:
    """A self-contained page for one comparison (one section per benchmark, verifier and model)."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(comparison)} findings</title>"
             f"<style>{_STYLE}</style></head><body><h1>Findings: {html.escape(comparison)}</h1>"]
    for summary in summaries:
        parts.append(f"<p>Benchmark <b>{html.escape(summary['benchmark'])}</b>, base model "
                     f"<b>{html.escape(summary['base'])}</b>, k up to {summary['k_max']}; intervals are "
                     f"{summary['ci']:.0%} intervals over problems. {_method(summary)}</p>")
        explorer = f"results/explorer/{summary['comparison']}/{summary['benchmark']}.html"
        parts.append(f"<p>Problem by problem (each model's count of correct samples, the coverage category, and "
                     f"responses with their verdicts): the <b>explorer</b> of this benchmark, in this category of "
                     f"the report and in <code>{html.escape(explorer)}</code>.</p>")
        if "guess_filter" in summary:
            gf = summary["guess_filter"]
            parts.append(f"<p>Problems that <b>{html.escape(gf['direct'])}</b> answers correctly without chain of "
                         f"thought at a rate in (0, {gf.get('threshold', 0.05):g}) are left out (guess filter); "
                         "the coverage counts below are over the problems that remain.</p>")
        for result in summary["results"]:
            parts.append(f"<h2>{html.escape(result['model'])} vs {html.escape(summary['base'])} "
                         f"· {html.escape(summary['benchmark'])} · verifier {html.escape(result['verifier'])}</h2><ul>")
            parts += [f"<li>{item}</li>" for item in result_items(summary, result)]
            parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)
