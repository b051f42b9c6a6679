"""`ov_eval prepare --tasks onevision_image,...`: fill the caches a run reads, so that it can run offline.

For each task: its split is loaded once (a hub dataset is downloaded into the hub cache and prepared by
`datasets` into its Arrow cache: offline, `datasets` reads only splits it has prepared), and a video task's
archives are fetched into the hub cache and extracted once (ov_eval.data.video_archives). Sizes are printed per
task. At the end the same tasks are loaded again in a child process with HF_HUB_OFFLINE=1 and
HF_DATASETS_OFFLINE=1: "offline-ready" is printed only when that works. `--offline_check` does that check alone
(on a compute node, to see whether its caches are enough).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from ov_eval.errors import OvEvalError

OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def _parser() -> argparse.ArgumentParser:
    from ov_eval.cli import _Parser

    parser = _Parser(prog="ov_eval prepare", allow_abbrev=False,
                     description="Download and prepare the datasets and videos of tasks, so that runs need no "
                                 "network; prints sizes, then checks that the tasks load offline.")
    parser.add_argument("--tasks", required=True, help="comma-separated tasks or groups (e.g. onevision_image)")
    parser.add_argument("--include_path", action="append", default=[], help="extra folder of task YAMLs")
    parser.add_argument("--dataset_override", action="append", default=[], metavar="TASK=PATH",
                        help="a local copy of a task's dataset, as in a run")
    parser.add_argument("--offline_check", action="store_true",
                        help="only check that every task loads from the caches, without network")
    return parser


def folder_bytes(path: Path) -> int:
    """Bytes of the files under `path` (following links: the hub cache's snapshots link to its blobs)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def human(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def _hub_repo_bytes(repo: str) -> int | None:
    """Bytes the hub cache holds for a dataset repo (None when it holds none, e.g. a local dataset)."""
    from huggingface_hub import scan_cache_dir

    try:
        cache = scan_cache_dir()
    except Exception:  # no cache folder yet
        return None
    return next((r.size_on_disk for r in cache.repos if r.repo_type == "dataset" and r.repo_id == repo), None)


def _prepare_one(task) -> str:
    """Load the task's split (and videos); one line of what it holds and takes."""
    dataset = task.dataset
    source = task.dataset_source()
    parts = [f"{len(dataset)} documents"]
    if Path(source.path).exists():
        parts.append(f"local dataset {human(folder_bytes(Path(source.path)))}")
    else:
        downloaded = _hub_repo_bytes(source.path)
        prepared = sum(Path(f["filename"]).stat().st_size for f in dataset.cache_files if Path(f["filename"]).exists())
        parts.append(f"{source.path}: {human(downloaded) if downloaded is not None else '?'} in the hub cache, "
                     f"{human(prepared)} prepared")
    if task.config.visual.kind == "video":
        folder = task.video_folder()
        parts.append(f"videos {human(folder_bytes(folder))} in {folder}")
    return ", ".join(parts)


def _load_tasks(args: argparse.Namespace) -> list:
    from ov_eval.cli import _overrides
    from ov_eval.registry import task_index
    from ov_eval.task import Task

    index = task_index(args.include_path)
    names = index.expand([t.strip() for t in args.tasks.split(",") if t.strip()])
    overrides = _overrides(args.dataset_override)
    for name in overrides:
        if name not in names:
            raise OvEvalError(f"--dataset_override: task '{name}' is not among the tasks to prepare")
    return [Task.load(index.tasks[name], overrides.get(name)) for name in names]


def prepare_main(argv: list[str]) -> int:
    from ov_eval.cli import _parse_known, configure_logging

    args = _parse_known(_parser(), argv)
    configure_logging("WARNING")
    tasks = _load_tasks(args)
    width = max(len(task.name) for task in tasks)
    failed = []
    for task in tasks:
        try:
            line = _prepare_one(task)
        except OvEvalError as exc:
            failed.append(task.name)
            print(f"{task.name:<{width}}  FAILED: {exc}", file=sys.stderr if args.offline_check else sys.stdout)
            continue
        if not args.offline_check:
            print(f"{task.name:<{width}}  {line}", flush=True)
    if args.offline_check:
        if failed:
            print(f"not offline-ready: {len(failed)} of {len(tasks)} task(s) do not load from the caches: "
                  f"{', '.join(failed)}", file=sys.stderr)
            return 1
        return 0
    if failed:
        print(f"\nnot offline-ready: {len(failed)} of {len(tasks)} task(s) failed: {', '.join(failed)}")
        return 1
    check = subprocess.run([sys.executable, "-m", "ov_eval", "prepare", *argv, "--offline_check"],
                           env=os.environ | OFFLINE, capture_output=True, text=True)
    if check.returncode != 0:
        print(check.stderr.rstrip())
        print(f"\nnot offline-ready: the tasks were prepared but do not load with HF_HUB_OFFLINE=1 (above)")
        return 1
    from ov_eval.data.video_archives import video_cache_root

    print(f"\noffline-ready: {len(tasks)} task(s) load with HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 "
          f"(hub and datasets caches under {os.environ.get('HF_HOME', '~/.cache/huggingface')}, videos under "
          f"{video_cache_root()})")
    return 0
