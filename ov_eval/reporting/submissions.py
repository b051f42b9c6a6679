"""Submission files for benchmarks with hidden labels, written from logged sample records (never from a metric).

- mmmu_test -> `mmmu_test_for_submission.json`: {id: raw stripped response} (published) or {id: parsed answer}
  (corrected: the letter for multiple choice, "" when unresolved; the list of normalised predictions for open
  questions), docs/scoring_rules.md §1 mmmu_test.
- egoschema / egoschema_subset -> `inference_results_egoschema_MC.json` / `inference_results_egoschema_subset_MC.json`:
  {video_idx: option index}, -1 when unresolved (§0.7); the corrected profile writes none for the subset.
  The reference appends a timestamp to the name; ov_eval does not, so regenerating from a run's logs gives a
  byte-identical file (the run folder's files already carry the run's date).

Output is deterministic: keys sorted, two-space indent, ASCII-escaped, trailing newline.
"""
from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any, Callable

from ov_eval.disk import writing
from ov_eval.errors import OvEvalError
from ov_eval.reporting.run_files import warn_if_newest_covers_less
from ov_eval.reporting.validate import read_results_file, read_samples_file
from ov_eval.scoring.choice import egoschema_parse_choice
from ov_eval.scoring.normalize import strip_reasoning_blocks
from ov_eval.scoring.text_metrics import mmmu_parse_open_response
from ov_eval.scoring.video_benchmarks import mmmu_test_answer

log = logging.getLogger(__name__)

SUBMISSION_FOLDER = "submissions"


def _response(sample: dict[str, Any], profile: str) -> str | None:
    """The sample's response after the task filter (as logged); None for a sample that failed."""
    if sample.get("error") is not None:
        return None
    filtered = sample.get("filtered_resps") or []
    if filtered:
        text = str(filtered[0])
    else:
        resps = sample.get("resps") or [[]]
        if not resps or not resps[0]:
            return None
        text = str(resps[0][0]).strip()
    return strip_reasoning_blocks(text) if profile == "corrected" else text


def _mmmu_entries(samples: list[dict[str, Any]], profile: str) -> dict[str, Any]:
    entries: dict[str, Any] = {}
    for sample in samples:
        response = _response(sample, profile)
        if response is None:
            continue
        doc = sample["doc"]
        if profile == "published":
            entries[doc["id"]] = response
        elif doc["question_type"] == "multiple-choice":
            entries[doc["id"]] = mmmu_test_answer(response, doc) or ""
        else:
            entries[doc["id"]] = mmmu_parse_open_response(response)
    return entries


def _egoschema_entries(samples: list[dict[str, Any]], profile: str) -> dict[str, Any]:
    entries: dict[str, Any] = {}
    for sample in samples:
        response = _response(sample, profile)
        if response is not None:
            entries[str(sample["doc"]["video_idx"])] = egoschema_parse_choice(response, list(sample["doc"]["option"]))
    return entries


# task -> (file name, entries builder, profiles that write it)
SUBMITTERS: dict[str, tuple[str, Callable[[list[dict[str, Any]], str], dict[str, Any]], tuple[str, ...]]] = {
    "mmmu_test": ("mmmu_test_for_submission.json", _mmmu_entries, ("published", "corrected")),
    "egoschema": ("inference_results_egoschema_MC.json", _egoschema_entries, ("published", "corrected")),
    "egoschema_subset": ("inference_results_egoschema_subset_MC.json", _egoschema_entries, ("published",)),
}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with writing(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True) + "\n", encoding="utf-8")
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_submissions(out_dir: Path, task_name: str, samples: list[dict], profile: str) -> list[Path]:
    """The task's submission files under `out_dir/submissions/` (none for a task without one)."""
    if task_name not in SUBMITTERS:
        return []
    file_name, build, profiles = SUBMITTERS[task_name]
    if profile not in profiles:
        return []
    try:
        entries = build(samples, profile)
    except (KeyError, TypeError) as exc:
        raise OvEvalError(f"task '{task_name}': a logged sample lacks the field {exc} its submission file needs")
    skipped = len(samples) - len(entries)
    if skipped:
        log.warning("task %s: %d sample(s) without a response (or sharing an id) are not in %s", task_name,
                    skipped, file_name)
    path = Path(out_dir) / SUBMISSION_FOLDER / file_name
    _write_json(path, entries)
    return [path]


_SAMPLES_FILE = re.compile(r"^(?P<date>.+)_samples_(?P<task>.+)\.jsonl$")


def submissions_from_log(run_dir: Path, out_dir: Path | None = None, tasks: list[str] | None = None) -> list[Path]:
    """Regenerate the submission files of a logged run folder (`*_results.json` + `*_samples_<task>.jsonl`),
    using the newest results file's scoring profile and its samples files, under `out_dir/submissions/`
    (default: the output path the run wrote them to, the run folder's parent)."""
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir.parent
    results_files = sorted(run_dir.glob("*_results.json"))
    if not results_files:
        raise OvEvalError(f"{run_dir}: no *_results.json file (is this a run folder?)")
    warn_if_newest_covers_less(results_files)
    results_path = results_files[-1]
    date = results_path.name[: -len("_results.json")]
    results = read_results_file(results_path)
    profile = results.get("scoring_profile", "published")
    written: list[Path] = []
    for samples_path in sorted(run_dir.glob(f"{date}_samples_*.jsonl")):
        match = _SAMPLES_FILE.match(samples_path.name)
        if match is None or match["task"] not in SUBMITTERS or (tasks and match["task"] not in tasks):
            continue
        samples = read_samples_file(samples_path)
        written += write_submissions(out_dir, match["task"], samples, profile)
    if tasks and not written:
        raise OvEvalError(f"{run_dir}: no logged samples of {', '.join(tasks)} with a submission file "
                          f"(run with --log_samples)")
    if not written:
        raise OvEvalError(f"{run_dir}: nothing to submit: only {', '.join(sorted(SUBMITTERS))} have submission "
                          f"files, and this run logged samples of none of them under its '{profile}' profile "
                          "(run them with --log_samples)")
    return written
