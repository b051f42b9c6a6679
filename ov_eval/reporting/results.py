"""results.json and samples_<task>.jsonl in the reference layout, plus provenance."""
from __future__ import annotations

import datetime
import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any

import ov_eval
from ov_eval.disk import writing
from ov_eval.run_folder import run_folder_name
from ov_eval.reporting.run_files import companion_key, metric_keys
from ov_eval.scoring.score import TaskScores
from ov_eval.scoring.uncertainty import ANALYTIC_METHOD, BOOTSTRAP_METHOD, MEAN_SCALES, BootstrapSettings, \
    Uncertainty, cluster_methods, weighted_group_uncertainty
from ov_eval.task import Task


SERVED_FOLDER_SUFFIX = "__served"


def model_folder_name(model: str, model_args: dict[str, str]) -> str:
    """The run folder's name: the pretrained id or path (a served model's name), see run_folder_name."""
    name = model_args.get("pretrained") or model_args.get("model") or model
    return served_folder_name(model, run_folder_name(name) or model)


def served_folder_name(model: str, folder: str) -> str:
    """A served run of a checkpoint gets its own folder, apart from the in-process runs of the same path."""
    return folder + SERVED_FOLDER_SUFFIX if model == "openai_compatible" else folder


def new_run_date(folder: Path) -> str:
    """Now (YYYYmmdd_HHMMSS), moved on by seconds while a run of that date exists in the folder: two runs
    finishing within one second (a sweep of fast runs, a rescore) never overwrite each other's files."""
    moment = datetime.datetime.now().replace(microsecond=0)
    while True:
        date = moment.strftime("%Y%m%d_%H%M%S")
        if not list(folder.glob(f"{date}_*")):
            return date
        moment += datetime.timedelta(seconds=1)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(ov_eval.__file__).parent, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _finite(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def task_entry(task: Task, scores: TaskScores, throughput: dict[str, Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"alias": task.name}
    for key, value in scores.metrics.items():
        entry[key] = _finite(value)
        _put_uncertainty(entry, key, scores.uncertainty.get(key))
    entry.update(n_samples=scores.n_samples, n_errors=scores.n_errors, n_unresolved=scores.n_unresolved)
    if scores.scoring_error is not None:
        entry["scoring_error"] = scores.scoring_error
    if scores.n_truncated_reasoning is not None:  # with --reasoning_tags: also counted in n_unresolved
        entry["n_truncated_reasoning"] = scores.n_truncated_reasoning
    if scores.judge is not None:  # samples without a verdict are not in the metrics (see provenance.judge)
        entry.update(n_judged=scores.n_judged, n_judge_errors=scores.n_judge_errors)
    if throughput is not None:
        entry["throughput"] = throughput
    return entry


def _put_uncertainty(entry: dict[str, Any], key: str, uncertainty: Uncertainty | None) -> None:
    entry[companion_key(key, "stderr")] = None if uncertainty is None else uncertainty.stderr
    entry[companion_key(key, "ci95")] = None if uncertainty is None or uncertainty.ci95 is None \
        else list(uncertainty.ci95)


def group_entries(groups: dict[str, list[str]], entries: dict[str, dict[str, Any]],
                  scores: dict[str, TaskScores] | None = None) -> dict[str, dict[str, Any]]:
    """Per group, each metric its members share: the member mean weighted by scored-sample count; its stderr
    and interval from the members' bootstrap replicates (`scores`)."""
    out: dict[str, dict[str, Any]] = {}
    for group, members in groups.items():
        present = [m for m in members if m in entries]
        if not present:
            continue
        row: dict[str, Any] = {"alias": group}
        shared = set.intersection(*(set(metric_keys(entries[m])) for m in present))
        for key in sorted(shared):
            pairs = [(m, entries[m][key], entries[m]["n_samples"] - entries[m]["n_errors"]) for m in present
                     if entries[m][key] is not None]
            weight = sum(n for _, _, n in pairs)
            row[key] = sum(v * n for _, v, n in pairs) / weight if weight else None
            if scores is not None and weight:
                missing = Uncertainty(None, None, BOOTSTRAP_METHOD)
                _put_uncertainty(row, key, weighted_group_uncertainty(
                    [(scores[m].uncertainty.get(key, missing), n) for m, _, n in pairs]))
        row["n_samples"] = sum(entries[m]["n_samples"] for m in present)
        out[group] = row
    return out


def build_results(tasks: list[Task], scores: dict[str, TaskScores], groups: dict[str, list[str]],
                  generation: dict[str, dict[str, Any]], run_config: dict[str, Any], model_info: dict[str, Any],
                  date: str, bootstrap: BootstrapSettings = BootstrapSettings(),
                  throughput: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    entries = {task.name: task_entry(task, scores[task.name], (throughput or {}).get(task.name)) for task in tasks}
    return {
        "results": entries,
        "groups": group_entries(groups, entries, scores),
        "configs": {task.name: task.config.model_dump() for task in tasks},
        "versions": {task.name: task.config.version for task in tasks},
        "n-samples": {task.name: {"original": len(task.dataset), "effective": scores[task.name].n_samples}
                      for task in tasks},
        "higher_is_better": {task.name: {m.key_name: m.higher_is_better for m in task.config.metrics}
                             for task in tasks},
        "config": run_config,
        "model": model_info,
        "provenance": {task.name: task.provenance() | {"generation": generation[task.name]}
                       | ({"judge": scores[task.name].judge} if scores[task.name].judge is not None else {})
                       for task in tasks},
        "scoring_profile": run_config["scoring_profile"],
        "uncertainty": uncertainty_provenance(bootstrap, {task.name: task.cluster_column for task in tasks}),
        "ov_eval_version": ov_eval.__version__,
        "git_hash": git_commit(),
        "date": date,
    }


def _write_temporary(path: Path, text: str) -> Path:
    """`text` complete on disk under a hidden temporary name beside `path` (no reader globs it)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with writing(path), tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def uncertainty_provenance(bootstrap: BootstrapSettings, clusters: dict[str, str | None] | None = None
                           ) -> dict[str, Any]:
    """How stderr and intervals were computed; `clusters`: task -> its cluster column (None: independent docs)."""
    return {"bootstrap_iters": bootstrap.iters, "bootstrap_seed": bootstrap.seed,
            "plain_means": {"aggregations": sorted(MEAN_SCALES), "method": ANALYTIC_METHOD},
            "other_aggregations_and_groups": BOOTSTRAP_METHOD,
            "clusters": dict(clusters or {}),
            "clustered_tasks": {task: dict(zip(("plain_means", "other_aggregations"), cluster_methods(column)))
                                for task, column in (clusters or {}).items() if column is not None}}


def write_outputs(folder: Path, date: str, results: dict[str, Any], scores: dict[str, TaskScores],
                  log_samples: bool) -> Path:
    """Every file is written in full under a temporary name first, then renamed into place: the results file
    first, its samples files after it. A run killed while writing leaves only hidden temporary files; one killed
    between the renames leaves a results file whose samples are not all there yet, never samples files without
    their results file (which readers, starting from results files, would never find)."""
    with writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{date}_results.json"
    pending: list[tuple[Path, Path]] = []
    try:
        pending.append((_write_temporary(path, json.dumps(results, indent=2, ensure_ascii=False, default=str)
                                         + "\n"), path))
        if log_samples:
            for name, task_scores in scores.items():
                final = folder / f"{date}_samples_{name}.jsonl"
                lines = "".join(json.dumps(s, ensure_ascii=False, default=str) + "\n" for s in task_scores.samples)
                pending.append((_write_temporary(final, lines), final))
        for tmp, final in pending:
            with writing(final):
                os.replace(tmp, final)
    finally:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
    return path
