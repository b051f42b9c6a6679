"""Leaderboard: runs' headline scores beside the published LLaVA-OneVision figures (markdown, CSV, HTML)."""
from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ov_eval.errors import OvEvalError, did_you_mean
from ov_eval.reporting.html_report import render_html
from ov_eval.reporting.leaderboard_table import (FRACTION, LEADING_COLUMNS, OTHER, OUTSIDE_LEGEND, PERCENT, POINTS,
                                                 SCORE_0_5, Leaderboard, cell_text, delta_column,
                                                 outside_column, reference_column, stderr_column)
from ov_eval.reporting.run_files import (Run, companion_key, find_results_files, load_run, metric_keys,
                                        run_facts)
from ov_eval.reporting.reference import (DEFAULT_REFERENCE_MODEL, TASK_GROUP_ORDER, TASK_GROUPS, ReferenceTable,
                                         canonical_key, load_reference)

FORMATS = ("md", "csv", "html")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def headline_keys(run: Run, name: str, reference: ReferenceTable) -> list[str]:
    """The headline key, then any other key the paper publishes for this task (MME has two)."""
    present = metric_keys(run.entries[name])
    by_canonical = {canonical_key(key): key for key in present}
    published = [by_canonical[k] for k in map(canonical_key, reference.metric_keys(name)) if k in by_canonical]
    headline = run.headlines.get(name)
    if headline not in present:
        numeric = [key for key in present if _number(run.entries[name][key]) is not None]
        headline = (published or numeric or present or [None])[0]
    return list(dict.fromkeys([headline, *published])) if headline else []


def _group_of(name: str, runs: list[Run]) -> str:
    """The paper's group of a task; else the group its YAML declares (mapped to the paper's where it has one)."""
    if name in TASK_GROUPS:
        return TASK_GROUPS[name]
    declared = [group for run in runs for group, tasks in run.members.items() if name in tasks]
    known = [group for group in declared if group in TASK_GROUPS]
    if known:
        return TASK_GROUPS[known[0]]
    return declared[0] if declared else "other"


def group_order(group: str) -> tuple[int, str]:
    """The paper's groups first, then YAML-declared groups by name, then 'other'."""
    if group in TASK_GROUP_ORDER[:-1]:
        return TASK_GROUP_ORDER.index(group), ""
    return (len(TASK_GROUP_ORDER), "") if group == "other" else (len(TASK_GROUP_ORDER) - 1, group)


def _note(run: Run, name: str) -> str:
    """'n=effective/original' where the score rests on part of the split, and the judge errors, if any."""
    tasks = run.members.get(name, [name]) if name in run.group_names else [name]
    counted = [run.n_samples[t] for t in tasks if t in run.n_samples]
    effective, original = sum(c[0] for c in counted), sum(c[1] for c in counted)
    judge_errors = sum(_number(run.entries.get(t, {}).get("n_judge_errors")) or 0 for t in tasks)
    notes = [f"n={effective}/{original}"] if counted and effective < original else []
    notes += [f"judge errors: {judge_errors:g}"] if judge_errors > 0 else []
    return ", ".join(notes)


def run_labels(runs: list[Run], names: list[str] | None = None) -> list[str]:
    """`names` (--labels), else the run's --run_name, else the pretrained name (with the date where two runs
    share it), marked `(served)` for a served run; then the scoring profile and any rescoring in brackets;
    numbered where labels still match."""
    per_model = Counter(run.model for run in runs if run.name is None)
    labels = []
    for index, run in enumerate(runs):
        base = names[index] if names else run.name or (
            f"{run.model} ({run.date})" if per_model[run.model] > 1 else run.model)
        base += " (served)" if run.served and "(served)" not in base else ""
        facts = [run.scoring_profile] if run.scoring_profile else []
        facts += [f"rescored from {run.rescored_from}"] if run.rescored_from else []
        labels.append(f"{base} [{', '.join(facts)}]" if facts else base)
    totals, seen = Counter(labels), Counter()
    out = []
    for label in labels:
        seen[label] += 1
        out.append(f"{label} #{seen[label]}" if totals[label] > 1 else label)
    return out


@dataclass
class _Row:
    task: str
    metric: str  # the published key where the paper has this figure, else the run's
    values: dict[str, float | None] = field(default_factory=dict)  # run label -> value on the published scale
    stderrs: dict[str, float | None] = field(default_factory=dict)  # run label -> stderr, same scale
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # run label -> 95 % interval
    notes: dict[str, str] = field(default_factory=dict)


def _collect_rows(runs: list[Run], labels: list[str], reference: ReferenceTable) -> list[_Row]:
    rows: dict[tuple[str, str], _Row] = {}
    for run, label in zip(runs, labels):
        for name in (n for n in run.entries if n not in run.group_names or n in reference.tasks()):
            note = _note(run, name)
            for key in headline_keys(run, name, reference):
                published = reference.find(name, key)
                metric = published.metric_key if published else key
                row = rows.setdefault((name, canonical_key(key)), _Row(name, metric))
                scale = published.scale if published else 1.0
                entry = run.entries[name]
                raw, stderr = _number(entry.get(key)), _number(entry.get(companion_key(key, "stderr")))
                row.values[label] = None if raw is None else raw * scale
                row.stderrs[label] = None if stderr is None else stderr * scale
                interval = entry.get(companion_key(key, "ci95"))
                if isinstance(interval, list) and len(interval) == 2 and all(_number(v) is not None for v in interval):
                    row.intervals[label] = (interval[0] * scale, interval[1] * scale)
                if note:
                    row.notes[label] = note
    first_seen = {id(row): i for i, row in enumerate(rows.values())}

    def order(row: _Row) -> tuple[tuple[int, str], int]:
        position = reference.position(row.task, row.metric)
        return (group_order(_group_of(row.task, runs)),
                position if position is not None else 10**6 + first_seen[id(row)])

    return sorted(rows.values(), key=order)


def metric_kind(reference: ReferenceTable, task: str, metric: str, values: list[float]) -> str:
    """Which axis a row's bars go on: from the published figure where the paper has one (scale 100: a percent;
    a sum above 100: MME points; at most 5: a 0-5 judge score), else from the runs' values."""
    published = reference.find(task, metric)
    if published is not None:
        if published.scale == 100:
            return PERCENT
        return POINTS if published.score > 100 else SCORE_0_5 if published.score <= 5 else PERCENT
    return FRACTION if values and all(0 <= v <= 1 for v in values) else OTHER


def short_labels(count: int, names: list[str] | None = None) -> list[str]:
    """--labels as given, else A, B, ... Z, then R27, R28, ..."""
    if names:
        return list(names)
    return [chr(ord("A") + i) if i < 26 else f"R{i + 1}" for i in range(count)]


def build_leaderboard(runs: list[Run], reference: ReferenceTable, reference_model: str,
                      names: list[str] | None = None) -> Leaderboard:
    labels = run_labels(runs, names)
    ref_column = reference_column(reference_model)
    records, notes, intervals, kinds = [], [], [], []
    for row in _collect_rows(runs, labels, reference):
        published = reference.find(row.task, row.metric, reference_model)
        ref = published.score if published else None
        record: dict[str, Any] = {"group": _group_of(row.task, runs), "task": row.task, "metric": row.metric,
                                  ref_column: ref}
        for label in labels:
            value = row.values.get(label)
            record[label] = value
            record[delta_column(label)] = value - ref if value is not None and ref is not None else None
            record[stderr_column(label)] = row.stderrs.get(label)
            interval = row.intervals.get(label)
            record[outside_column(label)] = None if interval is None or ref is None \
                else not interval[0] <= ref <= interval[1]
        record["note"] = "; ".join(f"{label}: {note}" if len(runs) > 1 else note for label, note in row.notes.items())
        records.append(record)
        notes.append(dict(row.notes))
        intervals.append(dict(row.intervals))
        values = [v for v in [ref, *row.values.values()] if v is not None]
        kinds.append(metric_kind(reference, row.task, row.metric, values))
    numeric = [ref_column, *labels, *map(delta_column, labels), *map(stderr_column, labels)]
    frame = pd.DataFrame(records, columns=[*LEADING_COLUMNS, *numeric, *map(outside_column, labels), "note"])
    frame[numeric] = frame[numeric].astype(float)
    facts = [run_facts(run, short) for run, short in zip(runs, short_labels(len(runs), names))]
    return Leaderboard(frame=frame, run_labels=labels, reference_model=reference_model, runs=facts, notes=notes,
                       intervals=intervals, kinds=kinds)


def to_markdown(board: Leaderboard) -> str:
    def escape(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    columns = board.shown_columns
    align = ["---" if c in (*LEADING_COLUMNS, "note") else "---:" for c in columns]
    lines = ["| " + " | ".join(escape(c) for c in columns) + " |", "|" + "|".join(align) + "|"]
    for _, row in board.frame.iterrows():
        cells = [escape(cell_text(board, c, row[c], row)) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n" + (f"\n{OUTSIDE_LEGEND}\n" if board.any_outside() else "")


def to_csv(board: Leaderboard) -> str:
    return board.frame.to_csv(index=False, float_format="%.2f", lineterminator="\n")


def render(board: Leaderboard, fmt: str) -> str:
    if fmt == "html":
        return render_html(board)
    return to_csv(board) if fmt == "csv" else to_markdown(board)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise OvEvalError(f"ov_eval leaderboard: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ov_eval leaderboard", allow_abbrev=False,
                     description="Compare runs' headline scores with the published LLaVA-OneVision figures.")
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR_OR_GLOB",
                        help="run folders, results files (*_results.json, results.json) or globs")
    parser.add_argument("--reference", default=None,
                        help=f"published model to compare with (default: the runs' model if published, "
                             f"else {DEFAULT_REFERENCE_MODEL})")
    parser.add_argument("--format", choices=FORMATS, default=None, help="md (default), csv or html")
    parser.add_argument("--output", type=Path, default=None, help="file to write instead of stdout")
    parser.add_argument("--labels", default=None,
                        help="comma-separated run names, one per run, in order (HTML: instead of A, B, ...)")
    return parser


def _reference_model(requested: str | None, runs: list[Run], reference: ReferenceTable) -> str:
    known = reference.models()
    if requested is None:
        names = [Path(run.model).name.lower() for run in runs]
        return next((name for name in names if name in known), DEFAULT_REFERENCE_MODEL)
    if requested not in known:
        raise OvEvalError(f"--reference: unknown model '{requested}'{did_you_mean(requested, known)}; "
                          f"known: {', '.join(known)}")
    return requested


def comparison_table(results_path: Path) -> str:
    """The leaderboard of one run against its published reference, as printed at the end of an eval."""
    reference = load_reference()
    runs = [load_run(results_path)]
    board = build_leaderboard(runs, reference, _reference_model(None, runs, reference))
    return f"Compared with the published {board.reference_model}:\n" + to_markdown(board)


def leaderboard_main(argv: list[str]) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        flag = unknown[0].split("=", 1)[0]
        hint = did_you_mean(flag, [o for a in parser._actions for o in a.option_strings])
        raise OvEvalError(f"ov_eval leaderboard: unknown flag '{flag}'{hint}")
    fmt = args.format or (args.output.suffix.lstrip(".") if args.output else "")
    fmt = fmt if fmt in FORMATS else "md"
    reference = load_reference()
    runs = [load_run(path) for path in find_results_files(args.runs)]
    names = [n.strip() for n in args.labels.split(",")] if args.labels is not None else None
    if names is not None and (len(names) != len(runs) or not all(names)):
        raise OvEvalError(f"--labels: {len(names)} label(s) for {len(runs)} run(s) "
                          f"({', '.join(str(run.path) for run in runs)}); give one non-empty label per run")
    board = build_leaderboard(runs, reference, _reference_model(args.reference, runs, reference), names)
    text = render(board, fmt)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OvEvalError(f"--output: cannot write {args.output}: {exc.strerror}") from None
    return 0
