"""The results table printed at the end of a run."""
from __future__ import annotations

from typing import Any

from ov_eval.reporting.run_files import companion_key, metric_keys


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def value_with_stderr(entry: dict[str, Any], key: str, digits: int = 4) -> str:
    """"0.6250 ± 0.0171", or the value alone when it has no numeric stderr."""
    value, stderr = entry.get(key), entry.get(companion_key(key, "stderr"))
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return _format(value)
    if not isinstance(stderr, (int, float)) or isinstance(stderr, bool):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ± {stderr:.{digits}f}"


def results_table(results: dict[str, Any]) -> str:
    rows = ["| Task | Metric | Value ± stderr | Samples | Errors | Unresolved | Samples/s |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for section in ("results", "groups"):
        for name, entry in results.get(section, {}).items():
            for index, key in enumerate(metric_keys(entry)):
                label = name if index == 0 else ""
                if section == "groups" and index == 0:
                    label = f"{name} (group)"
                rate = _samples_per_s(entry) if index == 0 else ""
                rows.append(f"| {label} | {key} | {value_with_stderr(entry, key)} "
                            f"| {entry.get('n_samples', '-')} | {entry.get('n_errors', '-')} "
                            f"| {entry.get('n_unresolved', '-')} | {rate} |")
    return "\n".join(rows)


def _samples_per_s(entry: dict[str, Any]) -> str:
    """Samples generated per second in this run (answers resumed from the journal are not counted)."""
    rate = (entry.get("throughput") or {}).get("samples_per_s")
    return "-" if rate is None else f"{rate:.2f}"

