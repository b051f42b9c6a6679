"""The browse page: samples embedded as JSON, rendered 50 at a time by a small inline script.

All model and dataset text reaches the page through `textContent`, never as markup, and the embedded JSON has
every `<` escaped, so a response holding `<script>` or `</div>` shows as text. Filters live in the URL fragment
(`#task=...&status=wrong&flip=right_to_wrong&q=...&page=2`), so a view can be linked to.
"""
from __future__ import annotations

import json
from html import escape
from typing import Any

PAGE_SIZE = 50
STATUSES = ("right", "wrong", "unresolved", "error", "judge_error", "unscored")

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
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
  return {task: params.get('task') || '', status: params.get('status') || '', flip: params.get('flip') || '',
          q: params.get('q') || '', page: Math.max(1, parseInt(params.get('page') || '1', 10) || 1)};
}
let state = readHash();
function writeHash() {
  const params = new URLSearchParams();
  for (const k of ['task', 'status', 'flip', 'q']) if (state[k]) params.set(k, state[k]);
  if (state.page > 1) params.set('page', state.page);
  history.replaceState(null, '', '#' + params.toString());
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
  field(node, 'prompt', s.prompt);
  field(node, 'target', s.target);
  const sides = el('div', 'sides');
  sides.appendChild(side(s, s.b ? 'A' : ''));
  if (s.b) sides.appendChild(side(s.b, 'B'));
  node.appendChild(sides);
  return node;
}
function render() {
  const shown = DATA.filter(matches);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  state.page = Math.min(state.page, pages);
  $('count').textContent = shown.length;
  $('pageinfo').textContent = 'page ' + state.page + ' of ' + pages;
  const list = $('list');
  list.replaceChildren(...shown.slice((state.page - 1) * PAGE, state.page * PAGE).map(card));
  writeHash();
}
function setup() {
  $('total').textContent = DATA.length;
  const tasks = [...new Set(DATA.map((s) => s.task))];
  for (const t of tasks) $('task').appendChild(new Option(t, t));
  if (!META.against) $('flipbox').hidden = true;
  $('task').value = state.task; $('status').value = state.status; $('flip').value = state.flip; $('q').value = state.q;
  for (const id of ['task', 'status', 'flip']) $(id).addEventListener('change', () => { state[id] = $(id).value; state.page = 1; render(); });
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


def render_page(samples: list[dict[str, Any]], run_label: str, against_label: str | None) -> str:
    title = f"ov_eval browse: {run_label}" + (f" against {against_label}" if against_label else "")
    status_options = "".join(f'<option value="{s}">{s.replace("_", " ")}</option>' for s in STATUSES)
    meta = {"page_size": PAGE_SIZE, "against": against_label is not None}
    runs = f"<p>A: {escape(run_label)}" + (f"<br>B: {escape(against_label)}" if against_label else "") + "</p>"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>ov_eval browse</h1>\n{runs}\n<header>\n"
        '<label>task <select id="task"><option value="">all</option></select></label>\n'
        f'<label>status <select id="status"><option value="">all</option>{status_options}</select></label>\n'
        '<label id="flipbox">flips <select id="flip"><option value="">all</option>'
        '<option value="right_to_wrong">A right, B wrong</option>'
        '<option value="wrong_to_right">A wrong, B right</option></select></label>\n'
        '<label>search <input id="q" type="search"></label>\n'
        '<span><span id="count">0</span> of <span id="total">0</span> samples</span>\n'
        '<nav><button id="prev">previous</button><span id="pageinfo"></span><button id="next">next</button></nav>\n'
        "</header>\n<main id=\"list\"></main>\n"
        "<p>right: the headline metric's per-sample value is at least 1; unscored: a sample without one.</p>\n"
        f'<script type="application/json" id="samples">{_json_for_script(samples)}</script>\n'
        f'<script type="application/json" id="meta">{_json_for_script(meta)}</script>\n'
        f"<script>{SCRIPT}</script>\n</body>\n</html>\n")
