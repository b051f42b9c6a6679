"""The scoring stage: responses of one task -> filters -> judge step -> per-sample values -> metrics."""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Mapping

from ov_eval.config import load_task_config
from ov_eval.errors import OvEvalError, without_addresses
from ov_eval.pipeline import SampleFailure
from ov_eval.scoring.judge_step import JudgeSettings, judge_task
from ov_eval.scoring.reasoning import ReasoningSplit, ReasoningTags, split_reasoning
from ov_eval.scoring.uncertainty import BootstrapSettings, Uncertainty, metric_uncertainty
from ov_eval.task import Task
from ov_eval.throughput import StageClock
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
    n_judged: int = 0  # samples with a judge verdict (judge tasks only)
    n_judge_errors: int = 0  # samples whose verdict could not be obtained: not in the metrics
    judge: dict[str, Any] | None = None  # judge models, prompt versions, cache and call counts
    uncertainty: dict[str, Uncertainty] = field(default_factory=dict)  # "metric,filter" -> stderr and interval
    scoring_error: str | None = None  # the fault that stopped this task's scoring (its metrics are then None)
    n_truncated_reasoning: int | None = None  # with reasoning tags: answers whose reasoning never closed


def score_task_or_fault(task: Task, responses: list[Response], generation: dict[str, Any], profile: str,
                        predict_only: bool, judge: JudgeSettings | None = None,
                        bootstrap: BootstrapSettings = BootstrapSettings(), clock: StageClock | None = None,
                        **options: Any) -> TaskScores:
    """score_task, where a fault while scoring costs this task alone its metrics: they come back None with the
    fault in `scoring_error`, and the samples as --predict_only logs them (so `rescore` can score them later).
    `options` go to score_task (both times)."""
    try:
        return score_task(task, responses, generation, profile, predict_only, judge, bootstrap=bootstrap, clock=clock,
                          **options)
    except Exception as exc:  # any fault: the other tasks' results must still be written
        log.debug("scoring task %s failed", task.name, exc_info=True)
        fault = str(exc) if isinstance(exc, (OvEvalError, SampleFailure)) else f"{type(exc).__name__}: {exc}"
    try:
        scores = score_task(task, responses, generation, profile, predict_only=True, **options)
    except Exception:  # the fault is in what even unscored records need (prompt, filter): log no samples
        n_errors = sum(r.error is not None for r in responses)
        scores = TaskScores({}, [], len(responses), n_errors, 0)
    scores.metrics = {key: None for key in task.metric_keys()}
    scores.scoring_error = without_addresses(fault)
    return scores


def score_task(task: Task, responses: list[Response], generation: dict[str, Any], profile: str,
               predict_only: bool, judge: JudgeSettings | None = None,
               logged: Mapping[int, dict[str, Any]] | None = None,
               bootstrap: BootstrapSettings = BootstrapSettings(), clock: StageClock | None = None,
               reasoning_tags: ReasoningTags = ()) -> TaskScores:
    """Score one task. `judge` None: no judge may be asked (judge tasks need --predict_only, MMBench keeps to
    its rules). `logged` (doc_id -> a logged sample record) supplies docs and prompts when rescoring, so the
    dataset is not needed. `reasoning_tags` take a thinking model's reasoning out of the text before the
    filters (the samples keep the raw text); an answer whose reasoning never closed is unresolved."""
    task.check_scorable(predict_only, judge_available=judge is not None)
    if task.profile != profile and load_task_config(task.source_path, profile) != task.config:
        log.warning("task %s was loaded for the %s profile but is scored with %s: its YAML's settings for %s "
                    "(result names, generation, judge) are not applied", task.name, task.profile, profile, profile)
    keys = task.metric_keys()
    values: dict[str, list[Any]] = {key: [] for key in keys}
    scored_docs: dict[str, list[dict[str, Any]]] = {key: [] for key in keys}
    samples, errors, unresolved = [], [], 0
    ordered = sorted(responses, key=lambda r: r.doc_id)
    docs = {r.doc_id: logged[r.doc_id]["doc"] if logged is not None else task.doc(r.doc_id) for r in ordered}
    splits = {r.doc_id: split_reasoning(r.text or "", reasoning_tags) if reasoning_tags
              else ReasoningSplit(r.text or "", None, False) for r in ordered if r.error is None}
    filtered = {d: task.filter_response(split.answer, profile) for d, split in splits.items()}
    judgement = None
    if judge is not None and not predict_only and task.config.judge is not None:
        with clock.timing("judging_s") if clock is not None else contextlib.nullcontext():
            judgement = judge_task(task, {d: (docs[d], text) for d, text in filtered.items()}, profile, judge)
    for response in ordered:
        doc = docs[response.doc_id]
        text = logged[response.doc_id]["arguments"]["text"] if logged is not None else _prompt(task, doc, response.doc_id)
        record: dict[str, Any] = {
            "doc_id": response.doc_id, "doc": task.loggable_doc(doc),
            "target": _plain(_target(task, doc, response.doc_id)),
            "arguments": {"text": text, "generation": generation},
            "resps": [[response.text]] if response.text is not None else [[]],
            "filtered_resps": [], "input_tokens": response.input_tokens, "output_tokens": response.output_tokens,
            "image_tokens": response.image_tokens, "error": response.error,
        }
        split = splits.get(response.doc_id)
        if split is not None and split.reasoning is not None:
            record["reasoning"] = split.reasoning
            record["reasoning_truncated"] = split.truncated
        if response.reasoning is not None:  # the server's own reasoning field
            record["reasoning_content"] = response.reasoning
        if response.error is not None:
            errors.append(f"doc {response.doc_id}: {response.error}")
        elif not predict_only:
            sample_judgement = judgement.samples[response.doc_id] if judgement is not None else None
            prediction = None
            if sample_judgement is not None:
                if sample_judgement.record:  # per judge kind: the verdict, the raw reply, whether it was cached
                    record["judge"] = sample_judgement.record
                if sample_judgement.error is not None:
                    record["judge_error"] = sample_judgement.error
                    if task.config.judge.required:  # no verdict, no score: left out of the metrics
                        record["filtered_resps"] = [filtered[response.doc_id]]
                        samples.append(record)
                        continue
                elif sample_judgement.excluded is not None:  # the task's rules leave it out (e.g. unpaired)
                    record["filtered_resps"] = [filtered[response.doc_id]]
                    record["excluded"] = sample_judgement.excluded
                    samples.append(record)
                    continue
                else:
                    prediction = sample_judgement.prediction
            try:
                score = task.score(doc, split.answer, profile, prediction, response.doc_id)
            except SampleFailure as failure:  # e.g. a logged doc whose target cannot be made: its error alone
                record.update(error=str(failure), filtered_resps=[filtered[response.doc_id]])
                errors.append(f"doc {response.doc_id}: {failure}")
                samples.append(record)
                continue
            record["filtered_resps"] = [score.filtered]
            record["unresolved"] = score.unresolved or split.truncated  # no answer, never the reasoning scored
            unresolved += record["unresolved"]
            record.update(score.values)
            for key, value in score.values.items():
                values[key].append(value)
                scored_docs[key].append(doc)
        else:
            record["filtered_resps"] = [task.apply_filter(split.answer)]
        samples.append(record)
    if errors:
        log.warning("task %s: %d sample(s) failed and are left out of its metrics, e.g. %s",
                    task.name, len(errors), errors[0])
    metrics = {key: None if predict_only or not values[key] else task.aggregate(key, values[key], scored_docs[key])
               for key in keys}
    scores = TaskScores(metrics, samples, len(responses), len(errors), unresolved, errors)
    if reasoning_tags:
        scores.n_truncated_reasoning = sum(split.truncated for split in splits.values())
    for key in keys:
        if metrics[key] is not None:
            name, aggregate = task.aggregation(key)
            scores.uncertainty[key] = metric_uncertainty(name, aggregate, values[key], scored_docs[key], bootstrap,
                                                         bootstrap.rng(task.name, key), task.cluster_column)
    if judgement is not None:
        scores.n_judged, scores.n_judge_errors = judgement.n_judged, judgement.n_judge_errors
        scores.judge = judgement.provenance
    return scores


def _prompt(task: Task, doc: dict[str, Any], doc_id: int) -> str | None:
    try:
        return task.text(doc, doc_id)
    except SampleFailure:  # the sample's error already says why it has no prompt
        return None


def _target(task: Task, doc: dict[str, Any], doc_id: int) -> Any:
    try:
        return task.target(doc, doc_id)
    except SampleFailure:  # the sample's error says why (it was found when its request was built)
        return None


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else str(value)
