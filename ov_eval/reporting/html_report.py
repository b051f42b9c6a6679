"""A leaderboard as one self-contained HTML file: inline CSS, the table, one inline SVG bar chart per task group."""
from __future__ import annotations

import math
from html import escape

from ov_eval.reporting.leaderboard import (LEADING_COLUMNS, OUTSIDE_LEGEND, Leaderboard, cell_text, format_value,
                                           group_order, outside_column)

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
REFERENCE_COLOUR = "#9e9e9e"
LABEL_WIDTH, BAR_WIDTH, VALUE_WIDTH = 260, 320, 70
BAR_HEIGHT, ROW_GAP, LEGEND_LINE = 12, 10, 16

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 100%; }
table { border-collapse: collapse; font-size: 14px; width: 100%; }
th, td { border: 1px solid #ccc; padding: 4px 8px; overflow-wrap: anywhere; }
th { background: #f2f2f2; }
td.note { min-width: 12em; }
svg { max-width: 100%; height: auto; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.pos { color: #1b7a1b; } td.neg { color: #b22222; }
section.chart { margin-top: 2em; }
svg text { font-size: 12px; }
"""


def _q(value: object) -> str:
    return escape(str(value), quote=True)


def _table(board: Leaderboard) -> str:
    columns = board.shown_columns
    head = "".join(f"<th>{_q(c)}</th>" for c in columns)
    body = []
    for _, row in board.frame.iterrows():
        cells = []
        for column in columns:
            value = row[column]
            classes = ["note"] if column == "note" else [] if column in LEADING_COLUMNS else ["num"]
            if column in board.delta_columns and isinstance(value, float) and not math.isnan(value) and value:
                classes.append("pos" if value > 0 else "neg")
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{_q(cell_text(board, column, value, row))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    marked = any(board.frame[outside_column(label)].eq(True).any() for label in board.run_labels)
    legend = f"\n<p>{_q(OUTSIDE_LEGEND)}</p>" if marked else ""
    return (f'<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n' + "\n".join(body) + "\n</tbody>\n</table>"
            + legend)


def _chart(board: Leaderboard, group: str) -> str:
    rows = board.frame[board.frame["group"] == group]
    series = [(board.reference_column, REFERENCE_COLOUR)]
    series += [(label, PALETTE[i % len(PALETTE)]) for i, label in enumerate(board.run_labels)]
    repeated = rows["task"].duplicated(keep=False)
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    legend_height = LEGEND_LINE * len(series) + ROW_GAP
    block = BAR_HEIGHT * len(series) + ROW_GAP
    height = legend_height + block * len(rows)
    parts = [f'<svg width="{width}" height="{height}" role="img" '
             f'aria-label="{_q(group)} tasks: runs against the reference">']
    for i, (name, colour) in enumerate(series):
        y = i * LEGEND_LINE
        parts.append(f'<rect x="0" y="{y + 2}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="16" y="{y + 11}">{_q(name)}</text>')
    for r, (_, row) in enumerate(rows.iterrows()):
        top = legend_height + r * block
        label = f"{row['task']} ({row['metric']})" if repeated.iloc[r] else row["task"]
        parts.append(f'<text x="0" y="{top + BAR_HEIGHT * len(series) / 2 + 4:g}">{_q(label)}</text>')
        values = [row[name] for name, _ in series]
        # MME points, 0-5 scores and percentages share a chart, so each task's bars scale to its own maximum.
        largest = max((v for v in values if not math.isnan(v) and v > 0), default=0.0)
        for s, ((name, colour), value) in enumerate(zip(series, values)):
            y = top + s * BAR_HEIGHT
            length = 0.0 if math.isnan(value) or largest == 0 else max(value, 0.0) / largest * BAR_WIDTH
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 1}" width="{length:.1f}" height="{BAR_HEIGHT - 2}" '
                         f'fill="{colour}"><title>{_q(name)}: {_q(format_value(value))}</title></rect>'
                         f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + BAR_HEIGHT - 2}">'
                         f'{_q(format_value(value))}</text>')
    parts.append("</svg>")
    return f'<section class="chart">\n<h2>{_q(group)}</h2>\n' + "\n".join(parts) + "\n</section>"


def render_html(board: Leaderboard) -> str:
    present = set(board.frame["group"])
    charts = [_chart(board, group) for group in sorted(present, key=group_order)]
    title = f"ov_eval leaderboard against {board.reference_model}"
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{_q(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{_q(title)}</h1>\n"
            f"{_table(board)}\n" + "\n".join(charts) + "\n</body>\n</html>\n")
