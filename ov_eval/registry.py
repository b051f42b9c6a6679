"""Task index: finds task YAMLs by scanning folders, reading only names (hooks are never imported).

Groups come from two places: a task YAML's `group:` key (a scored group: its results row is the members'
sample-weighted mean), and `groups.yaml` files, whose groups may hold tasks and other groups (e.g. the model
card's sweeps) and which also name aliases. In --tasks, `-` and `_` are the same character.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, ValidationError

from ov_eval.config import Strict, read_yaml, resolve_includes
from ov_eval.errors import OvEvalError, did_you_mean
from ov_eval.paths import project_folder

log = logging.getLogger(__name__)

GROUPS_FILE = "groups.yaml"


def builtin_task_dir() -> Path:
    return project_folder("tasks", "ov_eval_tasks")


class GroupsFile(Strict):
    groups: dict[str, list[str]] = Field(default_factory=dict)  # group -> its tasks and groups, in order
    aliases: dict[str, str] = Field(default_factory=dict)  # another spelling -> a task or group


def _same_name(name: str) -> str:
    return name.replace("-", "_")


@dataclass
class TaskIndex:
    tasks: dict[str, Path] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)  # group -> direct members (tasks or groups)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> task or group
    doc_counts: dict[str, int] = field(default_factory=dict)  # task -> rows of its full split, where known
    _defined_in: dict[str, Path] = field(default_factory=dict, repr=False)  # group or alias -> its groups file

    @classmethod
    def scan(cls, folders: list[Path]) -> "TaskIndex":
        index = cls()
        for folder in folders:
            if not folder.is_dir():
                raise OvEvalError(f"--include_path: '{folder}' is not a folder")
            for path in sorted(folder.rglob("*.yaml")):
                if path.name == GROUPS_FILE:
                    index._add_groups_file(path)
                else:
                    index._add(path)
        index._check()
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
        count = data.get("doc_count")
        if count is not None:
            if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
                raise OvEvalError(f"{path}: 'doc_count' must be a positive integer, got {count!r}")
            self.doc_counts[name] = count
        groups = data.get("group", [])
        for group in [groups] if isinstance(groups, str) else groups:
            if group in self._defined_in:
                raise OvEvalError(f"{path}: group '{group}' is also defined in {self._defined_in[group]}")
            self.groups.setdefault(group, []).append(name)

    def _add_groups_file(self, path: Path) -> None:
        try:
            spec = GroupsFile.model_validate(read_yaml(path))
        except ValidationError as exc:
            problems = "; ".join(f"'{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in exc.errors())
            raise OvEvalError(f"{path}: {problems}") from None
        for name in [*spec.groups, *spec.aliases]:
            if name in self.groups or name in self.aliases:
                where = self._defined_in.get(name, "a task YAML's 'group:' key")
                raise OvEvalError(f"{path}: '{name}' is already defined in {where}")
            self._defined_in[name] = path
        self.groups.update(spec.groups)
        self.aliases.update(spec.aliases)

    def _check(self) -> None:
        """Members and alias targets exist, names stay distinct when `-` is read as `_`, no group holds itself."""
        by_spelling: dict[str, str] = {}
        for kind, names in (("task", self.tasks), ("group", self.groups), ("alias", self.aliases)):
            for name in names:
                other = by_spelling.setdefault(_same_name(name), f"{kind} '{name}'")
                if other != f"{kind} '{name}'":
                    raise OvEvalError(f"{self._where(name)}: {kind} '{name}' and {other} have one name ('-' and "
                                      "'_' are the same in task names)")
        known = [*self.tasks, *self.groups]
        for group, members in self.groups.items():
            for member in members:
                if member not in self.tasks and member not in self.groups:
                    raise OvEvalError(f"{self._defined_in[group]}: group '{group}' names an unknown task or group "
                                      f"'{member}'{did_you_mean(member, known)}")
        for alias, target in self.aliases.items():
            if target not in self.tasks and target not in self.groups:
                raise OvEvalError(f"{self._defined_in[alias]}: alias '{alias}' names an unknown task or group "
                                  f"'{target}'{did_you_mean(target, known)}")
        for group in self.groups:
            self._leaves(group, ())

    def _where(self, name: str) -> Path:
        """The file defining a name: its groups file, its task YAML, or (a `group:` key) its first member's YAML."""
        return self._defined_in.get(name) or self.tasks.get(name) or self.tasks[self.groups[name][0]]

    def _leaves(self, name: str, path: tuple[str, ...]) -> list[str]:
        if name in self.tasks:
            return [name]
        if name in path:
            raise OvEvalError(f"{self._where(name)}: group cycle "
                              f"{' -> '.join([*path[path.index(name):], name])}")
        leaves: list[str] = []
        for member in self.groups[name]:
            leaves += [task for task in self._leaves(member, (*path, name)) if task not in leaves]
        return leaves

    def resolve(self, name: str, notice: bool = False) -> str:
        """The task or group a --tasks name means (`-` read as `_`, aliases followed; `notice` logs the alias)."""
        spelled = {_same_name(n): n for n in [*self.tasks, *self.groups, *self.aliases]}
        found = spelled.get(_same_name(name))
        if found is None:
            hint = did_you_mean(_same_name(name), [*self.tasks, *self.groups])
            raise OvEvalError(f"--tasks: unknown task or group '{name}'{hint}; `--tasks list` shows them all")
        if found in self.aliases:
            if notice:
                log.warning("--tasks: '%s' is read as '%s' (a documented alias)", name, self.aliases[found])
            return self.aliases[found]
        return found

    def expand(self, names: list[str]) -> list[str]:
        """Task names for a --tasks list (groups expanded, duplicates dropped, order kept)."""
        chosen: list[str] = []
        for name in names:
            chosen += [task for task in self._leaves(self.resolve(name, notice=True), ()) if task not in chosen]
        return chosen

    def scored_groups(self, names: list[str]) -> dict[str, list[str]]:
        """The groups of a --tasks list that get a results row, with their tasks: those named, or reached through
        groups of groups, whose members are all tasks (a group holding groups gets no row of its own)."""
        out: dict[str, list[str]] = {}

        def visit(name: str) -> None:
            if name in self.tasks or name in out:
                return
            members = self.groups[name]
            if all(member in self.tasks for member in members):
                out[name] = list(members)
            for member in members:
                visit(member)

        for name in names:
            try:
                resolved = self.resolve(name)
            except OvEvalError:  # a name the registry no longer knows (rescoring an old run): no row
                continue
            visit(resolved)
        return out

    def _size(self, tasks: list[str]) -> str:
        known = [self.doc_counts[t] for t in tasks if t in self.doc_counts]
        unknown = [t for t in tasks if t not in self.doc_counts]
        total = f"{sum(known)} docs" + (f" + {', '.join(unknown)} (count unknown)" if unknown else "")
        return f"{len(tasks)} tasks, {total}" if len(tasks) > 1 else total

    def listing(self) -> str:
        width = max(map(len, self.tasks), default=0)
        lines = ["Tasks (documents in the full split, where known):"]
        lines += [f"  {name:<{width}}  {self.doc_counts.get(name, '?'):>6}  ({path})"
                  for name, path in sorted(self.tasks.items())]
        lines.append("Groups:")
        lines += [f"  {group}: {', '.join(members)}  [{self._size(self._leaves(group, ()))}]"
                  for group, members in sorted(self.groups.items())]
        if self.aliases:
            lines.append("Aliases:")
            lines += [f"  {alias} -> {target}" for alias, target in sorted(self.aliases.items())]
        lines.append("In --tasks, '-' and '_' are the same ('llava-interleave-bench' is llava_interleave_bench).")
        return "\n".join(lines)


def task_index(include_paths: list[str] | None = None) -> TaskIndex:
    folders = [builtin_task_dir()] + [Path(p) for p in include_paths or []]
    return TaskIndex.scan(folders)
