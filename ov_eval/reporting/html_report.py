"""A built leaderboard as one self-contained HTML page: legend, table, and one chart per metric kind."""
from __future__ import annotations

from ov_eval.reporting.html_page import Bar, Cell, Chart, ChartRow, chart_svg, page, q, run_legend, table
from ov_eval.reporting.leaderboard_table import (FRACTION, KIND_AXIS_MAX, KIND_ORDER, OTHER, OUTSIDE_LEGEND, PERCENT,
                                                 POINTS, SCORE_0_5, Leaderboard, delta_column, format_value,
                                                 is_missing, run_value_text, stderr_column)

KIND_TITLES = {PERCENT: "Percent (0-100): every task with a percentage",
               POINTS: "MME points (sums of the subtask scores)",
               SCORE_0_5: "Judge scores (0-5)",
               FRACTION: "Fractions (0-1): tasks without a published figure",
               OTHER: "Other metrics"}


def _table(board: Leaderboard) -> str:
    shorts = {label: r.short_label for label, r in zip(board.run_labels, board.runs)}
    header = ["task", "metric", "published", *(shorts[label] for label in board.run_labels), "note"]
    rows: list[list[Cell] | str] = []
    for index, (_, row) in enumerate(board.frame.iterrows()):
        if index == 0 or board.frame["group"].iloc[index - 1] != row["group"]:
            rows.append(str(row["group"]))
        cells = [Cell(str(row["task"])), Cell(str(row["metric"])),
                 Cell("" if is_missing(row[board.reference_column]) else format_value(row[board.reference_column]),
                      numeric=True)]
        for label in board.run_labels:
            delta, stderr = row[delta_column(label)], row[stderr_column(label)]
            sub = [] if is_missing(row[label]) or is_missing(stderr) else [f"± {stderr:.2f}"]
            sub += [] if is_missing(delta) or is_missing(row[label]) else [f"Δ {format_value(delta, signed=True)}"]
            tone = "" if is_missing(delta) or not delta else "pos" if delta > 0 else "neg"
            cells.append(Cell(run_value_text(board, label, row, missing="", with_stderr=False), numeric=True,
                              sub=tuple(sub), sub_classes=("",) * (len(sub) - 1) + (tone,)))
        notes = board.notes[index]
        multiple = len(board.run_labels) > 1
        cells.append(Cell("; ".join(f"{shorts[label]}: {note}" if multiple else note
                                    for label, note in notes.items()), classes=("wide",)))
        rows.append(cells)
    explain = (f"published: {board.reference_model}'s figure in the paper; under each run's value: ± its standard "
               "error, Δ: the run minus the published figure.")
    explain += f" {OUTSIDE_LEGEND}" if board.any_outside() else ""
    return table(header, rows) + f"\n<p>{q(explain)}</p>"


def _charts(board: Leaderboard) -> list[str]:
    series = [r.short_label for r in board.runs]
    charts = []
    for kind in [k for k in KIND_ORDER if k in board.kinds]:
        positions = [i for i, k in enumerate(board.kinds) if k == kind]
        tasks = [board.frame["task"].iloc[i] for i in positions]
        rows = []
        for i in positions:
            record = board.frame.iloc[i]
            label = f"{record['task']} ({record['metric'].partition(',')[0]})" if tasks.count(record["task"]) > 1 \
                else record["task"]
            bars = [Bar(s, None if is_missing(record[run]) else float(record[run]), board.intervals[i].get(run))
                    for s, run in enumerate(board.run_labels)]
            reference = record[board.reference_column]
            rows.append(ChartRow(str(label), bars, None if is_missing(reference) else float(reference)))
        charts.append(chart_svg(Chart(kind=kind, title=KIND_TITLES[kind], series=series, rows=rows,
                                      axis_max=KIND_AXIS_MAX.get(kind),
                                      mark_name=f"{board.reference_model} (published)")))
    return charts


def render_html(board: Leaderboard) -> str:
    title = f"ov_eval leaderboard against {board.reference_model}"
    explain = ("<p>Bars: each run's score, on one axis per kind of metric; whiskers: its 95 % interval; dashed mark: "
               f"the published figure of {q(board.reference_model)}. Missing values are left empty.</p>")
    body = ("<h2>Runs</h2>\n" + run_legend(board.runs) + "\n<h2>Scores</h2>\n" + _table(board) + "\n<h2>Charts</h2>\n"
            + explain + "\n" + "\n".join(_charts(board)))
    return page(title, body)
