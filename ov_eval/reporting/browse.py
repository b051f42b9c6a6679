"""`ov_eval browse RUN [--against RUN_B] --output report.html`: every logged sample of a run on one HTML page.

The logged samples hold each document without its media, so thumbnails come from the task's dataset (found
through the task registry, with the run's --include_path and --dataset_override), decoded by the project's own
media code; a sample whose media cannot be had shows "no media" instead.
"""
from __future__ import annotations

import argparse
import base64
import io
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

from ov_eval.errors import OvEvalError, did_you_mean
from ov_eval.reporting.compare import LoggedRun, load_logged_run
from ov_eval.reporting.run_files import metric_keys

log = logging.getLogger(__name__)

THUMBNAIL_SIDE = 160  # pixels, the longer side
JPEG_QUALITY = 70
VIDEO_FRAMES = 4
DEFAULT_MEDIA_BUDGET_MB = 25.0
DECODE_CHUNK = 256


def _jpeg_data_uri(image: Any) -> str:
    image = image.convert("RGB")
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class MediaSource:
    """Thumbnails of a task's documents, read from its dataset; None (and a reason) where that fails."""

    def __init__(self, run: LoggedRun, task_name: str, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self.used_bytes = 0
        self.task: Any = None
        self.unavailable = ""
        config = run.data.get("config") or {}
        try:
            from ov_eval.registry import task_index
            from ov_eval.task import Task

            index = task_index(list(config.get("include_path") or []))
            if task_name not in index.tasks:
                raise OvEvalError(f"task '{task_name}' is not in the task registry")
            override = (config.get("dataset_overrides") or {}).get(task_name)
            task = Task.load(index.tasks[task_name], override, run.profile or "published")
            if task.config.visual.kind == "video" and task.config.dataset.video_archives is not None and not override:
                raise OvEvalError("video archives are not fetched by browse")
            _ = task.dataset
            self.task = task
        except Exception as exc:  # any failure here means no thumbnails for this task, not a failed page
            self.unavailable = f"no media: {exc}"
            log.warning("browse: task %s: %s", task_name, self.unavailable)

    def _decode(self, doc_id: int) -> tuple[list[str], str]:
        from PIL import Image

        from ov_eval.data.media import decode_image, decode_video

        try:
            uris = []
            for ref in self.task.media(self.task.doc(doc_id), doc_id):
                if ref.kind == "image":
                    uris.append(_jpeg_data_uri(decode_image(ref)))
                else:
                    uris += [_jpeg_data_uri(Image.fromarray(f)) for f in decode_video(ref, VIDEO_FRAMES)]
        except Exception as exc:
            return [], f"no media: {exc}"
        return uris, "" if uris else "no media"

    def thumbnails(self, doc_ids: list[int]) -> Iterator[tuple[list[str], str]]:
        """Per doc, in order: data URIs of its images (or 4 frames of its video), and a note when there are none.
        Decoding runs in threads (PIL releases the GIL), a chunk at a time, until the size budget is spent."""
        if self.task is None:
            yield from (([], self.unavailable) for _ in doc_ids)
            return
        spent = "no media: the page's media size budget is spent (--media_budget_mb)"
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            for start in range(0, len(doc_ids), DECODE_CHUNK):
                chunk = doc_ids[start:start + DECODE_CHUNK]
                if self.used_bytes >= self.budget_bytes:
                    yield from (([], spent) for _ in chunk)
                    continue
                for uris, note in pool.map(self._decode, chunk):
                    if self.used_bytes >= self.budget_bytes:
                        yield [], spent
                        continue
                    self.used_bytes += sum(len(u) for u in uris)
                    yield uris, note


def _headline(run: LoggedRun, task: str) -> str | None:
    config = (run.data.get("configs") or {}).get(task) or {}
    keys = metric_keys(run.data["results"][task])
    headline = config.get("headline_metric")
    return headline if headline in keys else (keys[0] if keys else None)


def sample_fault(record: dict[str, Any]) -> str:
    """error, judge_error or unresolved where the sample has no score to judge it by; else ''. (Right and wrong
    are decided on the page, by the metric the reader picks.)"""
    if record.get("error"):
        return "error"
    if record.get("judge_error"):
        return "judge_error"
    return "unresolved" if record.get("unresolved") else ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _record_view(record: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    resps = record.get("resps") or [[]]
    filtered = record.get("filtered_resps") or []
    return {"fault": sample_fault(record), "prompt": _text((record.get("arguments") or {}).get("text")),
            "response": _text(resps[0][0] if resps and resps[0] else None),
            "filtered": _text(filtered[0] if filtered else None), "target": _text(record.get("target")),
            "metrics": {k: record[k] for k in keys if k in record}, "judge": record.get("judge"),
            "judge_error": _text(record.get("judge_error")), "error": _text(record.get("error"))}


def collect_samples(run: LoggedRun, tasks: list[str], against: LoggedRun | None,
                    media_budget_bytes: int) -> list[dict[str, Any]]:
    """One plain dict per logged sample of `tasks`, with B's view under --against."""
    out = []
    for task in tasks:
        headline, keys = _headline(run, task), metric_keys(run.data["results"][task])
        other = against.samples(task, "browse") if against is not None and task in against.data["results"] else None
        media = MediaSource(run, task, media_budget_bytes - sum(len(u) for s in out for u in s["media"]))
        records = sorted(run.samples(task, "browse").items())
        for (doc_id, record), thumbnails in zip(records, media.thumbnails([d for d, _ in records])):
            sample = {"task": task, "doc_id": doc_id, "headline": headline, **_record_view(record, keys)}
            sample["media"], sample["media_note"] = thumbnails
            if other is not None and doc_id in other:
                sample["b"] = _record_view(other[doc_id], keys)
            out.append(sample)
    return out


def prompt_warnings(samples: list[dict[str, Any]], run: LoggedRun, against: LoggedRun, tasks: list[str]) -> list[str]:
    """What differs between the runs beyond their answers: task configs, profiles, and the prompts themselves."""
    from ov_eval.reporting.compare import config_differences

    lines = config_differences(run, against, [t for t in tasks if t in against.data["results"]])
    shared = [s for s in samples if "b" in s]
    differing = [s for s in shared if s["prompt"] != s["b"]["prompt"]]
    if differing:
        names = ", ".join(dict.fromkeys(s["task"] for s in differing))
        lines.append(f"A and B were asked different prompts on {len(differing)} of {len(shared)} shared samples "
                     f"({names}): their answers are not to the same question; each card shows both prompts")
    return lines


def metric_choices(run: LoggedRun, tasks: list[str]) -> list[str]:
    """The metric keys of the browsed tasks, in order: what the status can follow."""
    return list(dict.fromkeys(key for task in tasks for key in metric_keys(run.data["results"][task])))


def resolve_status_metric(requested: str | None, choices: list[str]) -> str | None:
    """--status_metric as a full key ('anls,none') or a metric name ('anls'); None: each task's headline."""
    if requested is None:
        return None
    if requested in choices:
        return requested
    by_name = [key for key in choices if key.partition(",")[0] == requested]
    if len(by_name) == 1:
        return by_name[0]
    raise OvEvalError(f"--status_metric: '{requested}' is not a metric of the browsed samples"
                      f"{did_you_mean(requested, choices)}; they have: {', '.join(choices) or 'none'}")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise OvEvalError(f"ov_eval browse: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ov_eval browse", allow_abbrev=False,
                     description="Write one self-contained HTML page to look through a run's samples.")
    parser.add_argument("run", type=Path, help="a model folder (its newest results) or a results file")
    parser.add_argument("--against", type=Path, default=None, help="a second run: show its answers and the flips")
    parser.add_argument("--tasks", default=None, help="comma-separated tasks (default: every logged task)")
    parser.add_argument("--output", type=Path, required=True, help="the HTML file to write")
    parser.add_argument("--status_metric", default=None,
                        help="the metric whose per-sample value makes a sample right or wrong (default: each task's "
                             "headline metric; the page can switch it)")
    parser.add_argument("--right_at", type=float, default=1.0,
                        help="a sample is right when that value is at least this (default 1)")
    parser.add_argument("--media_budget_mb", type=float, default=DEFAULT_MEDIA_BUDGET_MB,
                        help=f"total size of the embedded thumbnails (default {DEFAULT_MEDIA_BUDGET_MB:g} MB)")
    return parser


def browse_main(argv: list[str]) -> int:
    from ov_eval.reporting.browse_page import StatusRule, render_page

    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        flag = unknown[0].split("=", 1)[0]
        hint = did_you_mean(flag, [o for a in parser._actions for o in a.option_strings])
        raise OvEvalError(f"ov_eval browse: unknown flag '{flag}'{hint}")
    run = load_logged_run(args.run)
    against = load_logged_run(args.against) if args.against is not None else None
    logged = list(run.data["results"])
    tasks = logged
    if args.tasks:
        tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
        for task in tasks:
            if task not in logged:
                raise OvEvalError(f"--tasks: task '{task}' is not in {run.results_path}{did_you_mean(task, logged)}")
    choices = metric_choices(run, tasks)
    status = StatusRule(resolve_status_metric(args.status_metric, choices), args.right_at, choices)
    samples = collect_samples(run, tasks, against, int(args.media_budget_mb * 1e6))
    warnings = prompt_warnings(samples, run, against, tasks) if against is not None else []
    html = render_page(samples, str(run.results_path), str(against.results_path) if against else None, status,
                       warnings)
    try:
        args.output.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise OvEvalError(f"--output: cannot write {args.output}: {exc.strerror}") from None
    print(f"{len(samples)} samples of {len(tasks)} task(s) written to {args.output} "
          f"({len(html.encode()) / 1e6:.1f} MB)")
    return 0
