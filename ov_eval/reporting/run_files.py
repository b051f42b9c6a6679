"""Reading results files for comparison: this project's `*_results.json` and the reference's `results.json`."""
from __future__ import annotations

import glob
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ov_eval.errors import OvEvalError
from ov_eval.reporting.validate import read_results_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    """One results file, in this project's layout or the reference harness's."""

    path: Path
    model: str  # the pretrained name
    date: str
    entries: dict[str, dict[str, Any]]  # task or group -> its metrics
    group_names: frozenset[str]
    headlines: dict[str, str]  # task -> configs' headline_metric
    members: dict[str, list[str]]  # group -> its tasks
    n_samples: dict[str, tuple[int, int]]  # task -> (effective, original)
    name: str | None = None  # --run_name as recorded
    scoring_profile: str | None = None
    rescored_from: str | None = None  # the date of the run this one rescored
    served: bool = False  # --model openai_compatible: answers from a server, not the checkpoint in process
    engine: str = "transformers"  # what generated the answers


@dataclass(frozen=True)
class RunFacts:
    """What a report's legend says about one run."""
    short_label: str  # A, B, ... or the user's label
    name: str  # --run_name, else the pretrained name
    profile: str
    date: str
    model: str
    engine: str
    path: str


def run_facts(run: Run, short_label: str) -> RunFacts:
    return RunFacts(short_label=short_label, name=run.name or run.model, profile=run.scoring_profile or "-",
                    date=run.date, model=run.model, engine=run.engine, path=str(run.path))


UNCERTAINTY_SUFFIXES = ("_stderr,", "_ci95,")


def metric_keys(entry: dict[str, Any]) -> list[str]:
    """An entry's "metric,filter" keys, without their stderr and interval companions."""
    return [k for k in entry if "," in k and not any(s in k for s in UNCERTAINTY_SUFFIXES)]


def companion_key(key: str, kind: str) -> str:
    """"acc,none" -> "acc_stderr,none" (kind "stderr") or "acc_ci95,none" (kind "ci95")."""
    metric, _, filter_name = key.partition(",")
    return f"{metric}_{kind},{filter_name}"


def find_results_files(specs: list[str]) -> list[Path]:
    """Results files named by run folders, files or globs; each spec must yield at least one."""
    found: dict[Path, None] = {}
    for spec in specs:
        matches = [Path(m) for m in sorted(glob.glob(spec, recursive=True))] or [Path(spec)]
        files: list[Path] = []
        for match in matches:
            if match.is_dir():
                files += sorted(p for p in match.rglob("*.json")
                                if p.name == "results.json" or p.name.endswith("_results.json"))
            elif match.is_file():
                files.append(match)
        if not files:
            raise OvEvalError(f"{spec}: no results file found (looked for *_results.json and results.json)")
        found.update(dict.fromkeys(files))
    return list(found)


def _model_args(config: dict[str, Any]) -> dict[str, Any]:
    args = config.get("model_args")
    if isinstance(args, str):  # the reference writes the --model_args string as typed
        pairs = (pair.partition("=") for pair in args.split(","))
        return {key.strip(): value.strip() for key, sep, value in pairs if sep}
    return args if isinstance(args, dict) else {}


def _members(data: dict[str, Any]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for task, config in (data.get("configs") or {}).items():
        groups = config.get("group") if isinstance(config, dict) else None
        for group in [groups] if isinstance(groups, str) else groups or []:
            members.setdefault(group, []).append(task)
    for group, tasks in (data.get("group_subtasks") or {}).items():  # the reference's layout
        if isinstance(tasks, list) and tasks:
            members.setdefault(group, list(tasks))
    return members


def _n_samples(path: Path, data: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Checked by the validator: each task's counts are whole numbers."""
    return {task: (counts["effective"], counts["original"]) for task, counts in (data.get("n-samples") or {}).items()}


def read_results_json(path: Path) -> dict[str, Any]:
    """A results file's JSON; unreadable, not UTF-8, invalid, not a results file or a field of the wrong type is
    an error naming the file (and the field)."""
    return read_results_file(path)


def load_run(path: Path) -> Run:
    data = read_results_json(path)
    groups = data.get("groups") if isinstance(data.get("groups"), dict) else {}
    entries = {**groups, **data["results"]}
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    model = _model_args(config).get("pretrained") or config.get("model") or path.parent.name
    served = config.get("model") == "openai_compatible"
    if served:  # a served model is its own column, never the checkpoint's
        model = f"{_model_args(config).get('model') or path.parent.name} (served)"
    headlines = {task: c["headline_metric"] for task, c in (data.get("configs") or {}).items()
                 if isinstance(c, dict) and isinstance(c.get("headline_metric"), str)}
    date = data.get("date") or path.name.removesuffix("results.json").rstrip("_")
    rescored = data.get("rescored_from") if isinstance(data.get("rescored_from"), dict) else {}
    profile = data.get("scoring_profile") or config.get("scoring_profile")
    return Run(path=path, model=str(model), date=str(date), entries=entries, group_names=frozenset(groups),
               headlines=headlines, members=_members(data), n_samples=_n_samples(path, data),
               name=str(config["run_name"]) if config.get("run_name") else None,
               scoring_profile=str(profile) if profile else None,
               rescored_from=str(rescored["date"]) if rescored.get("date") else None,
               served=served, engine=_engine(data, config, served))


def _engine(data: dict[str, Any], config: dict[str, Any], served: bool) -> str:
    """The model description's engine (an `engine` model arg), else the server for a served run, else
    transformers (the in-process default, and what the reference harness uses)."""
    described = data.get("model") if isinstance(data.get("model"), dict) else {}
    described_args = described.get("model_args") if isinstance(described.get("model_args"), dict) else {}
    engine = described.get("engine") or described_args.get("engine") or _model_args(config).get("engine")
    if isinstance(engine, dict):  # a description of the engine: its name
        engine = engine.get("name")
    if engine:
        return str(engine)
    if served:
        base_url = described.get("base_url") or _model_args(config).get("base_url")
        return f"server at {base_url}" if base_url else "server"
    return "transformers"


def _coverage(path: Path) -> dict[str, int] | None:
    """Task -> documents scored, of a results file (None when it cannot be read)."""
    try:
        data = read_results_json(path)
        counts = _n_samples(path, data)
    except OvEvalError:
        return None
    return {task: counts.get(task, (0, 0))[0] for task in data["results"]}


def warn_if_newest_covers_less(found: list[Path]) -> None:
    """`found`: one folder's results files, oldest first. The newest is what browse, rescore and compare read; a
    `--limit` run or a one-task rescore after a full run covers less than an older file, so say so."""
    if len(found) < 2:
        return
    newest = _coverage(found[-1])
    if newest is None:
        return
    for older in reversed(found[:-1]):
        coverage = _coverage(older)
        if coverage is None:
            continue
        missing = sorted(set(coverage) - set(newest))
        fewer = sorted(t for t in coverage if t in newest and newest[t] < coverage[t])
        if missing or fewer:
            what = [f"lacks {len(missing)} of that file's tasks ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})"
                    ] if missing else []
            what += [f"has fewer documents of {t} ({newest[t]} against {coverage[t]})" for t in fewer[:3]]
            log.warning("%s: the newest results file %s (the one used) covers less than the older %s: it %s; "
                        "name a results file to use another", found[-1].parent, found[-1].name, older.name,
                        " and ".join(what))
            return
