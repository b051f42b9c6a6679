"""The HTML layer the report pages share: page frame, a table that never breaks words, a legend, and a bar
chart with interval whiskers and reference marks. Each report builds its data and hands it here; every text
goes through `escape`, so names from results files never become markup.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

from ov_eval.reporting.run_files import RunFacts

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")

BASE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
.scroll { overflow-x: auto; max-width: 100%; }
table.data { border-collapse: collapse; font-size: 13px; }
table.data th, table.data td { border: 1px solid #ccc; padding: 3px 6px; vertical-align: top;
  overflow-wrap: normal; word-break: keep-all; hyphens: none; }
table.data th { background: #f2f2f2; text-align: left; }
table.data tr.section th { background: #e4e9f0; }
table.data td:first-child, table.data tr.section th { position: sticky; left: 0; }
table.data td:first-child { background: #fff; }
table.data td.num { white-space: nowrap; text-align: right; font-variant-numeric: tabular-nums; }
table.data td.wide { min-width: 10em; }
.nw { white-space: nowrap; }
@media (max-width: 600px) { body { margin: .6em; } }
table.data .sub { display: block; font-size: 12px; color: #666; white-space: nowrap; }
.pos { color: #1b7a1b; } .neg { color: #b22222; }
.warning { background: #fff4e0; border: 1px solid #e0a040; padding: .5em .8em; border-radius: 4px; }
.verdicts li { margin: .2em 0; }
svg.chart { width: 100%; min-width: 640px; max-width: 960px; height: auto; display: block; }
svg.chart text { font-size: 12px; font-family: system-ui, sans-serif; }
"""


def q(value: object) -> str:
    """Text made safe for an element or an attribute."""
    return escape(str(value), quote=True)


def words(text: str) -> str:
    """Escaped text that wraps only at spaces: a word holding a hyphen or a slash is kept on one line."""
    return " ".join(f'<span class="nw">{q(word)}</span>' if any(c in word for c in "-/") else q(word)
                    for word in str(text).split(" "))


def path_text(path: object) -> str:
    """An escaped file path that may wrap after each slash (a narrow screen would otherwise scroll)."""
    return "/<wbr>".join(q(part) for part in str(path).split("/"))


def page(title: str, body: str, style: str = "", script: str = "", heading: str | None = None) -> str:
    """A self-contained page (no network): the shared style, then the report's own; `heading` (default: the
    title) above the body."""
    tail = f"<script>{script}</script>\n" if script else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{q(title)}</title>\n<style>{BASE_STYLE}{style}</style>\n</head>\n<body>\n"
            f"<h1>{path_text(title if heading is None else heading)}</h1>\n{body}\n{tail}</body>\n</html>\n")


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False  # right-aligned, never wrapped
    sub: tuple[str, ...] = ()  # further, smaller lines (never wrapped)
    classes: tuple[str, ...] = ()
    sub_classes: tuple[str, ...] = ()  # a class for each sub line ("pos", "neg"), in order
    swatch: str = ""  # a colour square before the text (the run's colour in the charts)


def _cell(cell: Cell) -> str:
    classes = (("num",) if cell.numeric else ()) + cell.classes
    attrs = f' class="{" ".join(classes)}"' if classes else ""
    swatch = f'<span class="swatch" style="color:{q(cell.swatch)}">■</span> ' if cell.swatch else ""
    tones = cell.sub_classes + ("",) * len(cell.sub)
    sub = "".join(f'<span class="{f"sub {tone}".strip()}">{q(line)}</span>' for line, tone in zip(cell.sub, tones))
    return f"<td{attrs}>{swatch}{q(cell.text) if cell.numeric else words(cell.text)}{sub}</td>"


def table(header: list[str], rows: list[list[Cell] | str], css_class: str = "") -> str:
    """A table whose cells wrap only between words (numbers never), scrolling sideways when it is wider than
    the screen rather than squeezing its columns. A row given as a string is a section heading across it."""
    head = "".join(f"<th>{words(h)}</th>" for h in header)
    body = [f'<tr class="section"><th colspan="{len(header)}">{q(row)}</th></tr>' if isinstance(row, str)
            else "<tr>" + "".join(_cell(cell) for cell in row) + "</tr>" for row in rows]
    classes = f"data {css_class}".strip()
    return (f'<div class="scroll"><table class="{classes}">\n<thead><tr>{head}</tr></thead>\n'
            "<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table></div>")


LEGEND_HEADER = ["run", "name and model", "scoring profile", "date", "engine"]


def run_legend(runs: list[RunFacts], coloured: bool = True) -> str:
    """Who is who: one row per run, its short label (with its chart colour) first."""
    rows: list[list[Cell] | str] = [
        [Cell(r.short_label, swatch=PALETTE[i % len(PALETTE)] if coloured else "", classes=("nw",)),
         Cell(r.name, sub=() if r.model == r.name else (f"model: {r.model}",)), Cell(r.profile), Cell(r.date),
         Cell(r.engine)] for i, r in enumerate(runs)]
    return table(LEGEND_HEADER, rows, css_class="legend")


@dataclass(frozen=True)
class Bar:
    series: int  # index into the chart's series (its colour and name)
    value: float | None  # None: no bar, no text
    interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class ChartRow:
    label: str
    bars: list[Bar]
    mark: float | None = None  # the reference figure, drawn across the row


@dataclass(frozen=True)
class Chart:
    kind: str  # one scale per kind: every bar of a chart is measured on the same axis
    title: str
    series: list[str]
    rows: list[ChartRow] = field(default_factory=list)
    axis_max: float | None = None  # None: a round number above every value, interval and mark
    mark_name: str = "published"


LABEL_WIDTH, PLOT_WIDTH, VALUE_ROOM, AXIS_HEIGHT = 230, 600, 70, 30
BAR_HEIGHT, ROW_GAP = 11, 9


def nice_max(largest: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `largest`."""
    if largest <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(largest))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= largest * (1 - 1e-9))


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def chart_svg(chart: Chart) -> str:
    """Horizontal bars on one axis from 0, a whisker for each bar's 95 % interval, the reference as a mark."""
    figures = [v for row in chart.rows for bar in row.bars for v in (bar.value, *(bar.interval or ())) if _finite(v)]
    figures += [row.mark for row in chart.rows if _finite(row.mark)]
    top = chart.axis_max or nice_max(max(figures, default=1.0))
    n_series = max(1, len(chart.series))
    block = BAR_HEIGHT * n_series + ROW_GAP
    height = AXIS_HEIGHT + block * len(chart.rows) + 4
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_ROOM

    def x(value: float) -> float:
        return LABEL_WIDTH + max(0.0, min(value, top)) / top * PLOT_WIDTH

    parts = [f'<svg class="chart" data-kind="{q(chart.kind)}" data-axis-max="{top:g}" viewBox="0 0 {width} '
             f'{height}" width="{width}" height="{height}" role="img" aria-label="{q(chart.title)}">',
             '<g class="axis">']
    for step in range(6):
        tick = top * step / 5
        parts.append(f'<line x1="{x(tick):.1f}" y1="{AXIS_HEIGHT - 6}" x2="{x(tick):.1f}" y2="{height - 4}" '
                     f'stroke="#e3e3e3"/><text x="{x(tick):.1f}" y="{AXIS_HEIGHT - 10}" text-anchor="middle">'
                     f'{tick:g}</text>')
    parts.append("</g>")
    for r, row in enumerate(chart.rows):
        y0 = AXIS_HEIGHT + r * block
        parts.append(f'<text x="0" y="{y0 + BAR_HEIGHT * n_series / 2 + 4:g}">{q(row.label)}</text>')
        for bar in row.bars:
            if not _finite(bar.value):
                continue  # missing: nothing drawn
            y = y0 + bar.series * BAR_HEIGHT
            name = chart.series[bar.series]
            tip = f"{name}: {bar.value:.2f}" + (f" (95 % interval {bar.interval[0]:.2f} to {bar.interval[1]:.2f})"
                                                 if bar.interval else "")
            parts.append(f'<rect class="bar" data-series="{q(name)}" data-value="{bar.value:g}" x="{LABEL_WIDTH}" '
                         f'y="{y + 1}" width="{x(bar.value) - LABEL_WIDTH:.2f}" height="{BAR_HEIGHT - 2}" '
                         f'fill="{PALETTE[bar.series % len(PALETTE)]}"><title>{q(tip)}</title></rect>')
            end = x(bar.value)
            if bar.interval is not None and all(_finite(v) for v in bar.interval):
                low, high, mid = x(bar.interval[0]), x(bar.interval[1]), y + BAR_HEIGHT / 2
                parts.append(f'<g class="whisker" data-low="{bar.interval[0]:g}" data-high="{bar.interval[1]:g}" '
                             f'stroke="#222"><line x1="{low:.2f}" y1="{mid}" x2="{high:.2f}" y2="{mid}"/>'
                             f'<line x1="{low:.2f}" y1="{mid - 3}" x2="{low:.2f}" y2="{mid + 3}"/>'
                             f'<line x1="{high:.2f}" y1="{mid - 3}" x2="{high:.2f}" y2="{mid + 3}"/></g>')
                end = max(end, high)
            parts.append(f'<text x="{end + 4:.1f}" y="{y + BAR_HEIGHT - 2}">{bar.value:.2f}</text>')
        if _finite(row.mark):
            parts.append(f'<line class="mark" data-value="{row.mark:g}" x1="{x(row.mark):.2f}" y1="{y0 - 2}" '
                         f'x2="{x(row.mark):.2f}" y2="{y0 + BAR_HEIGHT * n_series + 2}" stroke="#000" '
                         f'stroke-width="2" stroke-dasharray="3 2"><title>{q(chart.mark_name)}: {row.mark:.2f}'
                         f'</title></line>')
    parts.append("</svg>")
    key = " ".join(f'<span class="nw"><span style="color:{PALETTE[i % len(PALETTE)]}">■</span> {q(name)}</span>'
                   for i, name in enumerate(chart.series))
    key += f' <span class="nw">┆ {q(chart.mark_name)}</span>'
    return (f'<section class="chart">\n<h2>{q(chart.title)}</h2>\n<p class="key">{key}</p>\n<div class="scroll">'
            + "\n".join(parts) + "</div>\n</section>")
