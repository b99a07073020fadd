"""The explorer as one self-contained HTML file: data embedded as JSON, plain JavaScript, no request to anything.

A content security policy forbids every fetch, so the page works offline and can never reach out. Its state
(compared model, category filter, opened problem) lives in the URL's fragment, so a view can be linked;
`#selftest` (or `#selftest=neither`, another filter) opens the "base only" filter and clicks the first problem,
writing what it saw into the page (the browser test reads it).
"""

from __future__ import annotations

import html
import json
from typing import Any

_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1em 1.5em; color: #222; }
h1 { font-size: 1.25em; margin-bottom: 0.2em; } .note { color: #555; font-size: 0.9em; max-width: 70em; }
#controls { margin: 0.8em 0; display: flex; gap: 0.6em; flex-wrap: wrap; align-items: center; }
button.filter { border: 1px solid #999; background: #f4f4f4; padding: 0.25em 0.7em; border-radius: 4px;
  cursor: pointer; } button.filter.on { background: #2b6cb0; color: white; border-color: #2b6cb0; }
#layout { display: flex; gap: 1.2em; align-items: flex-start; }
#list { max-height: 80vh; overflow: auto; flex: 0 0 auto; }
table { border-collapse: collapse; font-size: 0.88em; } th, td { border-bottom: 1px solid #ddd;
  padding: 0.2em 0.5em; text-align: right; white-space: nowrap; } th { cursor: pointer; position: sticky;
  top: 0; background: #fafafa; } td.q { text-align: left; max-width: 22em; overflow: hidden;
  text-overflow: ellipsis; } tr.problem { cursor: pointer; } tr.problem:hover { background: #eef4fb; }
tr.open { background: #dbe9f8; }
#detail { flex: 1 1 auto; min-width: 30em; } .response { border: 1px solid #ddd; border-radius: 4px;
  margin: 0.5em 0; padding: 0.4em 0.6em; } pre { white-space: pre-wrap; word-break: break-word;
  font-size: 0.85em; margin: 0.3em 0; } mark { background: #ffe58f; }
.verdict { display: inline-block; padding: 0 0.4em; border-radius: 3px; margin-right: 0.3em; font-size: 0.85em; }
.correct { background: #d3f2dc; } .wrong { background: #fadbd8; } .other { background: #eee; }
.cat-both { color: #1a7f37; } .cat-base_only { color: #b35900; } .cat-other_only { color: #2b6cb0; }
.cat-neither { color: #777; } img { max-width: 100%; border: 1px solid #ddd; }
"""

_SCRIPT = r"""
const DATA = JSON.parse(document.getElementById('data').textContent);
const TITLES = {both: 'both', base_only: 'base only', other_only: 'model only', neither: 'neither'};
const state = {model: DATA.models[0], filter: 'all', problem: null, sort: 'index', desc: false};
const label = m => (DATA.labels[m] || m);
const pct = x => (100 * x).toFixed(1) + '%';
const esc = s => String(s ?? '').replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get('model') && DATA.models.includes(params.get('model'))) state.model = params.get('model');
  if (params.get('filter')) state.filter = params.get('filter');
  state.problem = params.get('problem');
}
function writeHash() {
  const params = new URLSearchParams({model: state.model, filter: state.filter});
  if (state.problem !== null) params.set('problem', state.problem);
  history.replaceState(null, '', '#' + params.toString());
}
function visible() {
  const rows = DATA.problems.map((p, i) => ({p, i})).filter(({p}) =>
    state.filter === 'all' || p.category[state.model] === state.filter);
  const key = ({p, i}) => state.sort === 'index' ? i : state.sort === 'category' ? p.category[state.model]
    : p.models[state.sort.split(':')[0]][state.sort.split(':')[1]];
  rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.i - b.i) * (state.desc ? -1 : 1));
  return rows;
}
function renderControls() {
  const counts = {all: DATA.problems.length};
  for (const p of DATA.problems) counts[p.category[state.model]] = (counts[p.category[state.model]] || 0) + 1;
  const select = DATA.models.length > 1 ? '<label>compared model <select id="model">' + DATA.models.map(m =>
    `<option value="${esc(m)}"${m === state.model ? ' selected' : ''}>${esc(label(m))}</option>`).join('') +
    '</select></label>' : '';
  document.getElementById('controls').innerHTML = select + ['all', 'both', 'base_only', 'other_only', 'neither']
    .map(f => `<button class="filter${state.filter === f ? ' on' : ''}" data-filter="${f}">` +
      `${f === 'all' ? 'all' : TITLES[f]} (${counts[f] || 0})</button>`).join('');
  for (const b of document.querySelectorAll('button.filter')) b.onclick = () => {
    state.filter = b.dataset.filter; state.problem = null; render(); };
  const m = document.getElementById('model');
  if (m) m.onchange = () => { state.model = m.value; render(); };
}
function renderTable() {
  const models = [DATA.base, ...DATA.models];
  const head = '<tr><th data-sort="index">#</th><th>problem</th><th data-sort="category">category</th>' +
    models.map(m => `<th data-sort="${esc(m)}:c">${esc(label(m))} c/n</th><th data-sort="${esc(m)}:pass1">pass@1` +
      `</th><th data-sort="${esc(m)}:passk">pass@${DATA.k_max}</th>`).join('') + '</tr>';
  const body = visible().map(({p, i}) => `<tr class="problem${p.id === state.problem ? ' open' : ''}" ` +
    `data-id="${esc(p.id)}"><td>${i}</td><td class="q" title="${esc(p.id)}">${esc(p.question.slice(0, 90))}</td>` +
    `<td class="cat-${p.category[state.model]}">${TITLES[p.category[state.model]]}</td>` +
    models.map(m => { const s = p.models[m]; return `<td>${s.c}/${s.n}</td><td>${pct(s.pass1)}</td>` +
      `<td>${pct(s.passk)}</td>`; }).join('') + '</tr>').join('');
  document.getElementById('list').innerHTML = `<table><thead>${head}</thead><tbody>${body}</tbody></table>`;
  for (const th of document.querySelectorAll('th[data-sort]')) th.onclick = () => {
    state.desc = state.sort === th.dataset.sort ? !state.desc : false; state.sort = th.dataset.sort; render(); };
  for (const tr of document.querySelectorAll('tr.problem')) tr.onclick = () => {
    state.problem = tr.dataset.id; render(); };
}
function highlighted(text, answers) {
  let out = esc(text);
  for (const a of answers) {
    if (a && a.length < 200) out = out.split(esc(a)).join('<mark>' + esc(a) + '</mark>');
  }
  return out;
}
function renderDetail() {
  const detail = document.getElementById('detail');
  const p = DATA.problems.find(q => q.id === state.problem);
  if (!p) { detail.innerHTML = '<p class="note">Click a problem to read its responses.</p>'; return; }
  let out = `<h2>Problem ${esc(p.id)} <span class="cat-${p.category[state.model]}">` +
    `(${TITLES[p.category[state.model]]})</span></h2>`;
  if (p.image) out += `<img alt="the problem's image" src="${p.image}">`;
  out += `<pre>${esc(p.question)}${p.question_cut ? '\n[... cut ...]' : ''}</pre><p><b>Gold answer:</b> ` +
    `<code>${esc(p.answer)}</code></p>`;
  for (const m of [DATA.base, ...DATA.models]) {
    const s = p.models[m];
    out += `<h3>${esc(label(m))}: ${s.c} of ${s.n} correct</h3>`;
    if (s.responses.length === 0) out += '<p class="note">no response shown</p>';
    for (const r of s.responses) {
      const badges = r.verdicts.map(v => `<span class="verdict ${v.verdict === 'correct' ? 'correct' :
        v.verdict === 'wrong' ? 'wrong' : 'other'}">${esc(v.verifier)}: ${esc(v.verdict)}` +
        `${v.extracted ? ' (' + esc(v.extracted) + ')' : ''}</span>`).join('');
      const details = r.verdicts.filter(v => v.detail).map(v =>
        `<div class="note">${esc(v.verifier)}: ${esc(v.detail)}</div>`).join('');
      out += `<div class="response" data-sample="${r.index}"><div>sample ${r.index} ${badges}` +
        `<span class="note"> finish: ${esc(r.finish_reason ?? 'unknown')}, tokens: ${esc(r.tokens ?? 'unknown')}` +
        `${r.left_out ? ', ' + r.left_out.toLocaleString() + ' characters left out' : ''}</span></div>` +
        `${details}<pre>${highlighted(r.text, r.verdicts.map(v => v.extracted))}</pre></div>`;
    }
  }
  detail.innerHTML = out;
}
function render() { renderControls(); renderTable(); renderDetail(); writeHash(); }

const selftest = new URLSearchParams(location.hash.slice(1)).get('selftest');
readHash();
render();
if (selftest !== null) {
  state.filter = selftest || 'base_only'; state.problem = null; render();
  const rows = document.querySelectorAll('tr.problem');
  if (rows.length) rows[0].click();
  const responses = document.querySelectorAll('#detail .response');
  const verdicts = document.querySelectorAll('#detail .verdict');
  document.getElementById('selftest').textContent = JSON.stringify({filter: state.filter, rows: rows.length,
    opened: state.problem, responses: responses.length, verdicts: verdicts.length});
}
"""


def render(data: dict[str, Any]) -> str:
    """The page for `data` (explorer.data.page_data)."""
    models = [data["base"], *data["models"]]
    shown = data["shown"]
    title = f"{data['title']}: {data['benchmark']}, problem by problem"
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    note = (f"{len(data['problems'])} problems; n = {data['n_samples']} samples per problem and model, verified "
            f"by {', '.join(data['verifiers'])} (categories and counts under {data['verifier']}). Each model shows "
            f"at most {shown['correct']} correct and {shown['wrong']} other responses per problem, those with the "
            f"lowest sample indices, each cut to its first {shown['head']:,} and last {shown['tail']:,} "
            "characters; the extracted answers are highlighted. Every response is in "
            + ", ".join(f"<code>{html.escape(data['sample_dirs'][m])}</code> ({html.escape(m)})" for m in models)
            + ", and every verdict in <code>results/verdicts/</code>.")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>{html.escape(title)}</title><style>{_STYLE}</style></head>
<body><h1>{html.escape(title)}</h1>
<p class="note">{note}</p>
<div id="controls"></div>
<div id="layout"><div id="list"></div><div id="detail"></div></div>
<pre id="selftest" class="note"></pre>
<script type="application/json" id="data">{payload}</script>
<script>{_SCRIPT}</script>
</body></html>
"""
