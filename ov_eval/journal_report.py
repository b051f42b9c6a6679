"""`ov_eval journal RUN_FOLDER [--prune]`: what a run folder's journal holds, per task and configuration.

A configuration is what the answers were made with: the task's configuration (its YAML and hooks, by hash), the
model identity and the generation settings. Answers whose task no longer exists, or whose task configuration is
none of the task's current ones (under either scoring profile), can never be reused by a run: the listing marks
them, and `--prune` removes them (with lines that are not records), holding the folder's run lock. Answers of a
current task configuration are always kept, whatever their model or settings (a later run may use those again),
and so are answers written before the journal recorded configurations (nothing says what they were made with).
"""
from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ov_eval.errors import OvEvalError
from ov_eval.journal import parse_record
from ov_eval.types import GenerationSettings

NOT_RECORDED = "(not recorded)"


@dataclass(frozen=True)
class Configuration:
    task: str
    task_config: str
    model: str
    generation: str  # the settings that differ from the defaults, as k=v


def _parser() -> argparse.ArgumentParser:
    from ov_eval.cli import _Parser

    parser = _Parser(prog="ov_eval journal", allow_abbrev=False,
                     description="List what a run folder's journal holds, per task and configuration; with "
                                 "--prune, remove the answers no current task configuration can reuse.")
    parser.add_argument("run_folder", type=Path, help="the run folder: {output_path}/{model}")
    parser.add_argument("--prune", action="store_true",
                        help="remove the unusable answers (default: only list them, a dry run)")
    parser.add_argument("--include_path", action="append", default=None,
                        help="extra folder of task YAMLs (default: the one the newest results file records)")
    return parser


def _generation_label(generation: object) -> str:
    if not isinstance(generation, dict):
        return NOT_RECORDED
    defaults = GenerationSettings().to_dict()
    changed = [f"{k}={v}" for k, v in generation.items() if defaults.get(k) != v]
    return ",".join(changed) or "defaults"


def _configuration(task: str, facets: dict | None) -> Configuration:
    if facets is None:
        return Configuration(task, NOT_RECORDED, NOT_RECORDED, NOT_RECORDED)
    return Configuration(task, str(facets.get("task_config")), str(facets.get("model")),
                         _generation_label(facets.get("generation")))


def _recorded_include_path(folder: Path) -> list[str]:
    found = sorted(folder.glob("*_results.json"))
    if not found:
        return []
    try:
        config = json.loads(found[-1].read_text(encoding="utf-8")).get("config") or {}
    except (OSError, ValueError, AttributeError):
        return []
    return [str(p) for p in config.get("include_path") or []]


def _current_hashes(tasks: set[str], include_path: list[str]) -> dict[str, set[str] | None]:
    """Per task, its configuration hashes now (one per scoring profile); None for a task that no longer exists."""
    from ov_eval.registry import task_index
    from ov_eval.scoring.normalize import PROFILES
    from ov_eval.task import Task

    index = task_index(include_path)
    return {task: {Task.load(index.tasks[task], profile=p).hash for p in PROFILES} if task in index.tasks else None
            for task in tasks}


def _status(config: Configuration, current: dict[str, set[str] | None]) -> str | None:
    """Why no run can reuse these answers, or None when one may."""
    if current.get(config.task) is None:
        return f"unused: no task '{config.task}' now"
    if config.task_config != NOT_RECORDED and config.task_config not in current[config.task]:
        return "unused: the task's configuration changed since"
    return None


def journal_main(argv: list[str]) -> int:
    from ov_eval.cli import _parse_known
    from ov_eval.run_folder import claim_output_folder

    args = _parse_known(_parser(), argv)
    folder: Path = args.run_folder
    if not sorted((folder / ".journal").glob("rank*.jsonl")):
        raise OvEvalError(f"{folder}: no journal here (no .journal/rank*.jsonl); name a run folder "
                          "({output_path}/{model})")
    include_path = args.include_path if args.include_path is not None else _recorded_include_path(folder)
    if not args.prune:
        _report(folder, include_path, prune=False)
        return 0
    with claim_output_folder(folder, str(folder), hold_lock=True):  # no run appends while the files change
        _report(folder, include_path, prune=True)
    return 0


def _report(folder: Path, include_path: list[str], prune: bool) -> None:
    files = sorted((folder / ".journal").glob("rank*.jsonl"))
    lines = {path: path.read_bytes().splitlines(keepends=True) for path in files}
    configs: dict[tuple[Path, int], Configuration | None] = {}
    for path, file_lines in lines.items():
        for number, line in enumerate(file_lines):
            record = parse_record(line)
            configs[path, number] = None if record is None else _configuration(record[0].task, record[1])
    counts = Counter(c for c in configs.values() if c is not None)
    unreadable = sum(c is None for c in configs.values())
    current = _current_hashes({c.task for c in counts}, include_path)
    status = {config: _status(config, current) for config in counts}

    print(f"journal of {folder}: {sum(counts.values())} answers in {len(files)} file(s), "
          f"{unreadable} unreadable line(s)")
    header = ("task", "answers", "task config", "model", "generation", "status")
    rows = [(c.task, str(n), c.task_config, c.model, c.generation,
             status[c] or ("kept: made before configurations were recorded" if c.task_config == NOT_RECORDED
                           else "current"))
            for c, n in sorted(counts.items(), key=lambda item: (item[0].task, item[0].task_config))]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())

    unusable = sum(n for c, n in counts.items() if status[c])
    if not prune:
        print(f"\n{unusable} answer(s) no current task configuration can reuse, and {unreadable} unreadable "
              f"line(s): dry run, nothing removed (`ov_eval journal {folder} --prune` removes them)")
        return
    for path, file_lines in lines.items():
        kept = [line for number, line in enumerate(file_lines)
                if configs[path, number] is not None and not status[configs[path, number]]]
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(b"".join(kept))
        os.replace(temporary, path)
    print(f"\nremoved {unusable} answer(s) and {unreadable} unreadable line(s); "
          f"kept {sum(counts.values()) - unusable} answer(s)")
