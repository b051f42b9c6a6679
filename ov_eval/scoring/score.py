"""The scoring stage: responses of one task -> per-sample values and aggregated metrics."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ov_eval.config import load_task_config
from ov_eval.task import Task
from ov_eval.types import Response

log = logging.getLogger(__name__)


@dataclass
class TaskScores:
    metrics: dict[str, float | None]  # "metric,filter" -> aggregate (None with --predict_only)
    samples: list[dict[str, Any]]  # one record per document, for samples_<task>.jsonl
    n_samples: int
    n_errors: int
    n_unresolved: int
    errors: list[str] = field(default_factory=list)


def score_task(task: Task, responses: list[Response], generation: dict[str, Any], profile: str,
               predict_only: bool) -> TaskScores:
    task.check_scorable(predict_only)
    if task.profile != profile and load_task_config(task.source_path, profile) != task.config:
        log.warning("task %s was loaded for the %s profile but is scored with %s: its YAML's settings for %s "
                    "(result names, generation, judge) are not applied", task.name, task.profile, profile, profile)
    keys = task.metric_keys()
    values: dict[str, list[float]] = {key: [] for key in keys}
    scored_docs: dict[str, list[dict[str, Any]]] = {key: [] for key in keys}
    samples, errors, unresolved = [], [], 0
    for response in sorted(responses, key=lambda r: r.doc_id):
        doc = task.doc(response.doc_id)
        record: dict[str, Any] = {
            "doc_id": response.doc_id, "doc": task.loggable_doc(doc), "target": _plain(task.target(doc)),
            "arguments": {"text": task.text(doc, response.doc_id), "generation": generation},
            "resps": [[response.text]] if response.text is not None else [[]],
            "filtered_resps": [], "input_tokens": response.input_tokens, "output_tokens": response.output_tokens,
            "image_tokens": response.image_tokens, "error": response.error,
        }
        if response.error is not None:
            errors.append(f"doc {response.doc_id}: {response.error}")
        elif not predict_only:
            score = task.score(doc, response.text or "", profile)
            record["filtered_resps"] = [score.filtered]
            record["unresolved"] = score.unresolved
            unresolved += score.unresolved
            record.update(score.values)
            for key, value in score.values.items():
                values[key].append(value)
                scored_docs[key].append(doc)
        else:
            record["filtered_resps"] = [task.apply_filter(response.text or "")]
        samples.append(record)
    if errors:
        log.warning("task %s: %d sample(s) failed and are left out of its metrics, e.g. %s",
                    task.name, len(errors), errors[0])
    metrics = {key: None if predict_only or not values[key] else task.aggregate(key, values[key], scored_docs[key])
               for key in keys}
    return TaskScores(metrics, samples, len(responses), len(errors), unresolved, errors)


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else str(value)
