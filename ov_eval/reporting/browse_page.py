"""The browse page: samples embedded as JSON, rendered by a small inline script as a compact list (one line
per sample, 200 a page; a click opens the sample's card) or as cards (50 a page).

All model and dataset text reaches the page through `textContent`, never as markup, and the embedded JSON has
every `<` escaped, so a response holding `<script>` or `</div>` shows as text. A sample's status is decided on
the page from the metric the reader picks (right: its value is at least the threshold), so switching the metric
needs no new page. Filters and view live in the URL fragment
(`#view=cards&task=...&status=wrong&flip=right_to_wrong&metric=anls,none&right_at=0.5&q=...&page=2`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ov_eval.reporting.html_page import page, path_text, q

PAGE_SIZE = 50
LIST_PAGE_SIZE = 200
STATUSES = ("right", "wrong", "unresolved", "error", "judge_error", "unscored")

STYLE = """
header { position: sticky; top: 0; background: #fff; padding: .5em 0; border-bottom: 1px solid #ccc; }
header label { margin-right: 1em; }
.card { border: 1px solid #ccc; border-radius: 6px; margin: 1em 0; padding: .6em .8em; }
.card h3 { margin: 0 0 .4em 0; font-size: 15px; }
.sides { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1em; }
.media img { height: 120px; margin: 0 4px 4px 0; border: 1px solid #ddd; }
.field { margin: .2em 0; display: grid; grid-template-columns: 12em 1fr; gap: .5em; }
.field b { overflow-wrap: anywhere; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-monospace, monospace; font-size: 13px; }
.status-right { color: #1b7a1b; } .status-wrong { color: #b22222; } .status-error, .status-judge_error { color: #a05a00; }
.nomedia { color: #888; font-style: italic; }
nav button { margin: 0 .3em; }
table.list { border-collapse: collapse; font-size: 13px; width: 100%; min-width: 640px; table-layout: fixed; }
table.list th, table.list td { border-bottom: 1px solid #e3e3e3; padding: 2px 6px; text-align: left;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
table.list tr.line { cursor: pointer; } table.list tr.line:hover { background: #f3f6fa; }
table.list col.task { width: 9em; } table.list col.doc { width: 4em; } table.list col.status { width: 6.5em; }
table.list col.target { width: 16%; }
table.list td.detail { white-space: normal; overflow: visible; }
.prompt-b { color: #8a4b00; }
"""

SCRIPT = r"""
const DATA = JSON.parse(document.getElementById('samples').textContent);
const META = JSON.parse(document.getElementById('meta').textContent);
const PAGE = META.page_size;
const $ = (id) => document.getElementById(id);
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}
function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const rightAt = parseFloat(params.get('right_at'));
  return {view: params.get('view') === 'cards' ? 'cards' : 'list', task: params.get('task') || '',
          status: params.get('status') || '', flip: params.get('flip') || '',
          metric: params.get('metric') ?? META.status_metric, right_at: isNaN(rightAt) ? META.right_at : rightAt,
          q: params.get('q') || '', page: Math.max(1, parseInt(params.get('page') || '1', 10) || 1)};
}
let state = readHash();
function writeHash() {
  const params = new URLSearchParams();
  if (state.view === 'cards') params.set('view', 'cards');
  for (const k of ['task', 'status', 'flip', 'q']) if (state[k]) params.set(k, state[k]);
  if (state.metric !== META.status_metric) params.set('metric', state.metric);
  if (state.right_at !== META.right_at) params.set('right_at', state.right_at);
  if (state.page > 1) params.set('page', state.page);
  history.replaceState(null, '', '#' + params.toString());
}
function statusOf(view, s) {
  if (view.fault) return view.fault;
  const value = view.metrics[state.metric || s.headline];
  if (typeof value !== 'number') return 'unscored';
  return value >= state.right_at ? 'right' : 'wrong';
}
function flipOf(s) {
  if (!s.b) return '';
  const a = statusOf(s, s), b = statusOf(s.b, s);
  return a === 'right' && b === 'wrong' ? 'right_to_wrong' : a === 'wrong' && b === 'right' ? 'wrong_to_right' : '';
}
function decide() {
  for (const s of DATA) { s.status = statusOf(s, s); s.flip = flipOf(s); if (s.b) s.b.status = statusOf(s.b, s); }
  const by = state.metric ? state.metric : "each task's headline metric";
  $('rule').textContent = 'right: ' + by + ' at least ' + state.right_at + '; unscored: a sample without that value';
}
function matches(s) {
  if (state.task && s.task !== state.task) return false;
  if (state.status && s.status !== state.status) return false;
  if (state.flip && s.flip !== state.flip) return false;
  if (state.q) {
    const q = state.q.toLowerCase();
    const hay = [s.prompt, s.response, s.filtered, s.target, s.b ? s.b.response : ''].join('\n').toLowerCase();
    if (!hay.includes(q)) return false;
  }
  return true;
}
function field(parent, name, value) {
  if (value === undefined || value === null || value === '') return;
  const row = el('div', 'field');
  row.appendChild(el('b', '', name));
  row.appendChild(el('span', 'text', typeof value === 'string' ? value : JSON.stringify(value)));
  parent.appendChild(row);
}
function side(view, title) {
  const box = el('div', 'side');
  if (title) box.appendChild(el('h4', '', title));
  const status = el('div', 'field');
  status.appendChild(el('b', '', 'status'));
  status.appendChild(el('span', 'status-' + view.status, view.status));
  box.appendChild(status);
  field(box, 'response', view.response);
  field(box, 'filtered', view.filtered);
  for (const [k, v] of Object.entries(view.metrics)) field(box, k, v);
  field(box, 'judge', view.judge);
  field(box, 'judge error', view.judge_error);
  field(box, 'error', view.error);
  return box;
}
function card(s) {
  const node = el('div', 'card sample');
  node.dataset.status = s.status;
  node.appendChild(el('h3', '', s.task + ' · doc ' + s.doc_id + (s.flip ? ' · ' + s.flip.replace(/_/g, ' ') : '')));
  const media = el('div', 'media');
  if (s.media.length) for (const uri of s.media) { const img = el('img'); img.src = uri; img.alt = 'media'; media.appendChild(img); }
  else media.appendChild(el('span', 'nomedia', s.media_note || 'no media'));
  node.appendChild(media);
  const differs = s.b && s.b.prompt !== s.prompt;
  field(node, differs ? 'prompt (A)' : 'prompt', s.prompt);
  if (differs) { field(node, 'prompt (B)', s.b.prompt); node.lastChild.classList.add('prompt-b'); }
  field(node, 'target', s.target);
  const sides = el('div', 'sides');
  sides.appendChild(side(s, s.b ? 'A' : ''));
  if (s.b) sides.appendChild(side(s.b, 'B'));
  node.appendChild(sides);
  return node;
}
function line(s) {
  const row = el('tr', 'line');
  row.appendChild(el('td', '', s.task));
  row.appendChild(el('td', '', String(s.doc_id)));
  row.appendChild(el('td', 'status-' + s.status, s.status));
  if (s.b) row.appendChild(el('td', 'status-' + s.b.status, s.b.status));
  else if (META.against) row.appendChild(el('td', '', ''));
  row.appendChild(el('td', '', s.target));
  row.appendChild(el('td', '', s.filtered || s.response));
  if (META.against) row.appendChild(el('td', '', s.b ? (s.b.filtered || s.b.response) : ''));
  row.title = s.response;
  row.addEventListener('click', () => {
    const next = row.nextSibling;
    if (next && next.classList.contains('open')) { next.remove(); return; }
    const detail = el('tr', 'open');
    const cell = el('td', 'detail');
    cell.colSpan = row.children.length;
    cell.appendChild(card(s));
    detail.appendChild(cell);
    row.after(detail);
  });
  return row;
}
function listTable(rows) {
  const table = el('table', 'list');
  const columns = ['task', 'doc', 'status', ...(META.against ? ['B status'] : []), 'target', 'response',
                   ...(META.against ? ['B response'] : [])];
  const group = el('colgroup');
  for (const c of columns) group.appendChild(el('col', c.replace(/^B /, '')));
  table.appendChild(group);
  const head = el('tr');
  for (const c of columns) head.appendChild(el('th', '', c));
  table.appendChild(el('thead')).appendChild(head);
  table.appendChild(el('tbody')).replaceChildren(...rows.map(line));
  const wrap = el('div', 'scroll');
  wrap.appendChild(table);
  return wrap;
}
function render() {
  decide();
  const shown = DATA.filter(matches);
  const size = state.view === 'cards' ? PAGE : META.list_page_size;
  const pages = Math.max(1, Math.ceil(shown.length / size));
  state.page = Math.min(state.page, pages);
  $('count').textContent = shown.length;
  $('pageinfo').textContent = 'page ' + state.page + ' of ' + pages;
  const slice = shown.slice((state.page - 1) * size, state.page * size);
  $('list').replaceChildren(...(state.view === 'cards' ? slice.map(card) : [listTable(slice)]));
  writeHash();
}
function setup() {
  $('total').textContent = DATA.length;
  const tasks = [...new Set(DATA.map((s) => s.task))];
  for (const t of tasks) $('task').appendChild(new Option(t, t));
  for (const m of META.metrics) $('metric').appendChild(new Option(m, m));
  if (!META.against) $('flipbox').hidden = true;
  $('view').value = state.view; $('metric').value = state.metric; $('right_at').value = state.right_at;
  $('task').value = state.task; $('status').value = state.status; $('flip').value = state.flip; $('q').value = state.q;
  for (const id of ['view', 'task', 'status', 'flip', 'metric']) $(id).addEventListener('change', () => { state[id] = $(id).value; state.page = 1; render(); });
  $('right_at').addEventListener('change', () => { const v = parseFloat($('right_at').value); if (!isNaN(v)) { state.right_at = v; render(); } });
  $('q').addEventListener('input', () => { state.q = $('q').value; state.page = 1; render(); });
  $('prev').addEventListener('click', () => { state.page = Math.max(1, state.page - 1); render(); });
  $('next').addEventListener('click', () => { state.page += 1; render(); });
  window.addEventListener('hashchange', () => { state = readHash(); render(); });
  render();
  document.body.dataset.firstRenderMs = performance.now().toFixed(1);
}
setup();
"""


def _json_for_script(value: Any) -> str:
    # "<" escaped as \u003c: no "</script>" or "<!--" can end the data block early.
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


@dataclass(frozen=True)
class StatusRule:
    """Which metric makes a sample right (None: each task's headline) and from which value on."""
    metric: str | None = None
    right_at: float = 1.0
    choices: list[str] = field(default_factory=list)


def render_page(samples: list[dict[str, Any]], run_label: str, against_label: str | None,
                status: StatusRule = StatusRule(), warnings: list[str] | None = None) -> str:
    title = f"ov_eval browse: {run_label}" + (f" against {against_label}" if against_label else "")
    status_options = "".join(f'<option value="{s}">{s.replace("_", " ")}</option>' for s in STATUSES)
    meta = {"page_size": PAGE_SIZE, "list_page_size": LIST_PAGE_SIZE, "against": against_label is not None,
            "status_metric": status.metric or "", "right_at": status.right_at, "metrics": status.choices}
    runs = f"<p>A: {path_text(run_label)}" + (f"<br>B: {path_text(against_label)}" if against_label else "") + "</p>"
    warned = "".join(f'<p class="warning">{q(line)}</p>\n' for line in warnings or [])
    body = (
        f"{runs}\n{warned}<header>\n"
        '<label>view <select id="view"><option value="list">list</option><option value="cards">cards</option>'
        "</select></label>\n"
        '<label>task <select id="task"><option value="">all</option></select></label>\n'
        f'<label>status <select id="status"><option value="">all</option>{status_options}</select></label>\n'
        '<label id="flipbox">flips <select id="flip"><option value="">all</option>'
        '<option value="right_to_wrong">A right, B wrong</option>'
        '<option value="wrong_to_right">A wrong, B right</option></select></label>\n'
        '<label>status by <select id="metric"><option value="">headline metric</option></select></label>\n'
        '<label>right at ≥ <input id="right_at" type="number" step="any" style="width:5em"></label>\n'
        '<label>search <input id="q" type="search"></label>\n'
        '<span><span id="count">0</span> of <span id="total">0</span> samples</span>\n'
        '<nav><button id="prev">previous</button><span id="pageinfo"></span><button id="next">next</button></nav>\n'
        '<div id="rule"></div>\n'
        "</header>\n<main id=\"list\"></main>\n"
        f'<script type="application/json" id="samples">{_json_for_script(samples)}</script>\n'
        f'<script type="application/json" id="meta">{_json_for_script(meta)}</script>')
    return page(title, body, STYLE, SCRIPT, heading="ov_eval browse")
