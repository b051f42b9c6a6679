"""The built leaderboard: the table leaderboard.py makes and the markdown, CSV and HTML writers read."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ov_eval.reporting.run_files import RunFacts

LEADING_COLUMNS = ("group", "task", "metric")
OUTSIDE_MARK = "†"
OUTSIDE_LEGEND = f"{OUTSIDE_MARK}: the run's 95% interval excludes the published figure."

# Metric kinds: the bars of one kind share an axis (a percentage next to MME's 1,600 points says nothing).
PERCENT, POINTS, SCORE_0_5, FRACTION, OTHER = "percent", "MME points", "score 0-5", "fraction 0-1", "other"
KIND_ORDER = (PERCENT, POINTS, SCORE_0_5, FRACTION, OTHER)
KIND_AXIS_MAX = {PERCENT: 100.0, SCORE_0_5: 5.0, FRACTION: 1.0}


@dataclass(frozen=True)
class Leaderboard:
    frame: pd.DataFrame  # LEADING_COLUMNS, reference_column, run_labels, delta_columns, "note", per run
    # label: stderr_column (on the published scale) and outside_column (its 95 % interval excludes the published)
    run_labels: list[str]
    reference_model: str
    runs: list[RunFacts]  # in the order of run_labels
    # per frame row, in order: run label -> its note / its 95 % interval (published scale); the row's metric kind
    notes: list[dict[str, str]]
    intervals: list[dict[str, tuple[float, float]]]
    kinds: list[str]

    @property
    def reference_column(self) -> str:
        return reference_column(self.reference_model)

    @property
    def delta_columns(self) -> list[str]:
        return [delta_column(label) for label in self.run_labels]

    @property
    def shown_columns(self) -> list[str]:
        """The columns markdown shows: a run's stderr and interval mark go into its value's cell."""
        hidden = {c for label in self.run_labels for c in (stderr_column(label), outside_column(label))}
        return [c for c in self.frame.columns if c not in hidden]

    def any_outside(self) -> bool:
        return any(self.frame[outside_column(label)].eq(True).any() for label in self.run_labels)


def reference_column(model: str) -> str:
    return f"{model} (published)"


def stderr_column(label: str) -> str:
    return f"{label} stderr"


def outside_column(label: str) -> str:
    return f"{label} CI95 excludes published"


def delta_column(label: str) -> str:
    return f"Δ {label} vs ref"


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(value: Any, signed: bool = False) -> str:
    if is_missing(value):
        return "-"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def run_value_text(board: Leaderboard, label: str, row: Any, missing: str = "-", with_stderr: bool = True) -> str:
    """A run's value with ± its stderr and a † where its interval excludes the published figure."""
    value = row[label]
    if is_missing(value):
        return missing
    stderr = row[stderr_column(label)]
    text = format_value(value) + ("" if is_missing(stderr) or not with_stderr else f" ± {stderr:.2f}")
    return text + (f" {OUTSIDE_MARK}" if row[outside_column(label)] is True else "")


def cell_text(board: Leaderboard, column: str, value: Any, row: Any = None) -> str:
    """A cell as shown in markdown: numbers to 2 decimals, differences signed, blanks as '-'; a run's value with
    ± its stderr and its interval mark (`row`: the frame row)."""
    if column in (*LEADING_COLUMNS, "note"):
        return str(value)
    if row is not None and column in board.run_labels:
        return run_value_text(board, column, row)
    return format_value(value, signed=column in board.delta_columns)
