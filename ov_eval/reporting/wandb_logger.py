"""`--wandb_args project=P,name=N,...`: the run's config, every metric with its interval, the throughput and
judge figures, and a table of samples per task, logged to Weights & Biases (the optional `wandb` extra).

Logging happens after the results file is written, so a tracker that fails loses nothing: the failure is one
error line and the results stay where they are.
"""
from __future__ import annotations

import logging
from typing import Any

from ov_eval.errors import OvEvalError, did_you_mean
from ov_eval.reporting.run_files import companion_key, metric_keys

log = logging.getLogger(__name__)

# wandb.init's arguments a run may set; tags are separated by ';' (the pairs by ',')
WANDB_KEYS = ("project", "name", "entity", "group", "job_type", "tags", "notes", "mode", "dir", "id", "resume")


def parse_wandb_args(text: str) -> dict[str, Any]:
    """'project=P,name=N,tags=a;b' -> wandb.init's keyword arguments; checks that wandb is installed."""
    values: dict[str, Any] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not value.strip():
            raise OvEvalError(f"--wandb_args: '{pair}' is not of the form key=value")
        if key not in WANDB_KEYS:
            raise OvEvalError(f"--wandb_args: unknown key '{key}'{did_you_mean(key, WANDB_KEYS)}; accepted: "
                              f"{', '.join(WANDB_KEYS)}")
        values[key] = [t for t in value.strip().split(";") if t] if key == "tags" else value.strip()
    try:
        import wandb  # noqa: F401
    except ImportError:
        raise OvEvalError("--wandb_args: the wandb package is not installed (pip install 'ov_eval[wandb]')") from None
    return values


def summary_figures(results: dict[str, Any]) -> dict[str, Any]:
    """Flat 'task/metric' figures: each metric with its stderr and interval, throughput, judge usage."""
    figures: dict[str, Any] = {}
    for section in ("results", "groups"):
        for name, entry in (results.get(section) or {}).items():
            for key in metric_keys(entry):
                figures[f"{name}/{key}"] = entry[key]
                figures[f"{name}/{companion_key(key, 'stderr')}"] = entry.get(companion_key(key, "stderr"))
                interval = entry.get(companion_key(key, "ci95"))
                if isinstance(interval, list) and len(interval) == 2:
                    figures[f"{name}/{companion_key(key, 'ci95')}_low"] = interval[0]
                    figures[f"{name}/{companion_key(key, 'ci95')}_high"] = interval[1]
            for count in ("n_samples", "n_errors", "n_unresolved", "n_truncated_reasoning"):
                if count in entry:
                    figures[f"{name}/{count}"] = entry[count]
            for key, value in (entry.get("throughput") or {}).items():
                if isinstance(value, dict):
                    figures.update({f"{name}/throughput/{key}_{k}": v for k, v in value.items()})
                else:
                    figures[f"{name}/throughput/{key}"] = value
    figures.update({f"throughput/{k}": v for k, v in (results.get("throughput") or {}).items()})
    usage = (results.get("judge_usage") or {}).get("total") or {}
    figures.update({f"judge/{k}": v for k, v in usage.items() if k != "tasks_without_price"})
    return figures


SAMPLE_COLUMNS = ["doc_id", "prompt", "response", "filtered", "target", "error"]


def sample_rows(samples: list[dict[str, Any]], metrics: list[str]) -> list[list[Any]]:
    rows = []
    for record in samples:
        response = (record.get("resps") or [[]])[0]
        filtered = record.get("filtered_resps") or []
        rows.append([record["doc_id"], (record.get("arguments") or {}).get("text"),
                     response[0] if response else None, filtered[0] if filtered else None,
                     _text(record.get("target")), record.get("error")] + [record.get(m) for m in metrics])
    return rows


def _text(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, type(None))) else str(value)


def log_run(results: dict[str, Any], samples: dict[str, list[dict[str, Any]]], wandb_args: dict[str, Any]) -> None:
    """One W&B run: config, summary figures, a samples table per task. A failure is logged, never raised."""
    try:
        import wandb

        run = wandb.init(config={"config": results.get("config"), "model": results.get("model"),
                                 "scoring_profile": results.get("scoring_profile"),
                                 "uncertainty": results.get("uncertainty"), "date": results.get("date")},
                         **wandb_args)
        try:
            figures = summary_figures(results)
            run.summary.update(figures)
            tables = {}
            for task, records in samples.items():
                metrics = sorted({k for r in records for k in r if "," in k})
                tables[f"samples/{task}"] = wandb.Table(columns=SAMPLE_COLUMNS + metrics,
                                                        data=sample_rows(records, metrics))
            run.log({**figures, **tables})
        finally:
            run.finish()
    except Exception as exc:  # noqa: BLE001 - the results are written; the tracker must not lose them
        log.error("wandb: logging the run failed (%s: %s); the results file is unaffected", type(exc).__name__, exc)
