"""The results table printed at the end of a run."""
from __future__ import annotations

from typing import Any


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def results_table(results: dict[str, Any]) -> str:
    rows = ["| Task | Metric | Value | Samples | Errors | Unresolved |", "|---|---|---:|---:|---:|---:|"]
    for section in ("results", "groups"):
        for name, entry in results.get(section, {}).items():
            metric_keys = [k for k in entry if "," in k and "_stderr," not in k]
            for index, key in enumerate(metric_keys):
                label = name if index == 0 else ""
                if section == "groups" and index == 0:
                    label = f"{name} (group)"
                rows.append(f"| {label} | {key} | {_format(entry[key])} | {entry.get('n_samples', '-')} "
                            f"| {entry.get('n_errors', '-')} | {entry.get('n_unresolved', '-')} |")
    return "\n".join(rows)
