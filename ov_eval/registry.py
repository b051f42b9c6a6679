"""Task index: finds task YAMLs by scanning folders, reading only names (hooks are never imported)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ov_eval.config import read_yaml, resolve_includes
from ov_eval.errors import OvEvalError, did_you_mean
from ov_eval.paths import project_folder


def builtin_task_dir() -> Path:
    return project_folder("tasks", "ov_eval_tasks")


@dataclass
class TaskIndex:
    tasks: dict[str, Path] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def scan(cls, folders: list[Path]) -> "TaskIndex":
        index = cls()
        for folder in folders:
            if not folder.is_dir():
                raise OvEvalError(f"--include_path: '{folder}' is not a folder")
            for path in sorted(folder.rglob("*.yaml")):
                index._add(path)
        return index

    def _add(self, path: Path) -> None:
        if read_yaml(path).get("task") is None:  # a base file meant for `include:`
            return
        data = resolve_includes(path)
        name = data["task"]
        if not isinstance(name, str):
            raise OvEvalError(f"{path}: 'task' must be a string")
        if name in self.tasks and self.tasks[name] != path:
            raise OvEvalError(f"{path}: task '{name}' is already defined in {self.tasks[name]}")
        self.tasks[name] = path
        groups = data.get("group", [])
        for group in [groups] if isinstance(groups, str) else groups:
            self.groups.setdefault(group, []).append(name)

    def expand(self, names: list[str]) -> list[str]:
        """Task names for a --tasks list (groups expanded, duplicates dropped, order kept)."""
        chosen: list[str] = []
        for name in names:
            if name in self.tasks:
                members = [name]
            elif name in self.groups:
                members = self.groups[name]
            else:
                hint = did_you_mean(name, [*self.tasks, *self.groups])
                raise OvEvalError(f"--tasks: unknown task or group '{name}'{hint}; `--tasks list` shows them all")
            chosen.extend(m for m in members if m not in chosen)
        return chosen

    def listing(self) -> str:
        lines = ["Tasks:"]
        lines += [f"  {name}  ({path})" for name, path in sorted(self.tasks.items())]
        lines.append("Groups:")
        lines += [f"  {group}: {', '.join(members)}" for group, members in sorted(self.groups.items())]
        return "\n".join(lines)


def task_index(include_paths: list[str] | None = None) -> TaskIndex:
    folders = [builtin_task_dir()] + [Path(p) for p in include_paths or []]
    return TaskIndex.scan(folders)
