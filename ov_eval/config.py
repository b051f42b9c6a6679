"""Strict task-YAML schema and loading (`include:` deep merge); errors name the file and the key."""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ov_eval.errors import OvEvalError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSpec(Strict):
    path: str  # hub id, or a local parquet file / folder / saved dataset (relative to the YAML)
    name: str | None = None  # dataset config
    split: str
    revision: str | None = None
    video_dir: str | None = None  # folder holding the videos named by `visual.field`


class PromptSpec(Strict):
    text: str = "{question}"  # str.format over the doc's fields, plus {options}
    options_field: str | None = None  # a list field rendered as "A. x\nB. y"
    pre_prompt: str = ""
    post_prompt: str = ""


class VisualSpec(Strict):
    kind: Literal["none", "image", "video"] = "none"
    fields: list[str] = Field(default_factory=list)  # image columns, or the video-id column
    video_pattern: str = "{}.mp4"  # file name inside dataset.video_dir for a video id


class TargetSpec(Strict):
    field: str
    transform: Literal["none", "index_to_letter"] = "none"


class GenerationSpec(Strict):
    max_new_tokens: int = 1024
    temperature: float = 0.0
    do_sample: bool = False
    top_p: float | None = None
    num_beams: int = 1
    until: list[str] = Field(default_factory=list)


class FilterSpec(Strict):
    name: str = "none"  # the suffix of result keys, as in "exact_match,flexible-extract"
    steps: list[str] = Field(default_factory=list)


class MetricSpec(Strict):
    metric: str
    aggregation: str = "mean"
    higher_is_better: bool = True


class TaskConfig(Strict):
    task: str
    group: list[str] = Field(default_factory=list)
    dataset: DatasetSpec
    prompt: PromptSpec = PromptSpec()
    visual: VisualSpec = VisualSpec()
    target: TargetSpec
    generation: GenerationSpec = GenerationSpec()
    filter: FilterSpec = FilterSpec()
    metrics: list[MetricSpec] = Field(min_length=1)
    headline_metric: str | None = None
    hooks: str | None = None  # a Python file beside the YAML, for what the schema cannot express
    version: int = 1

    @field_validator("group", mode="before")
    @classmethod
    def _group_as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse one YAML mapping; a syntax error or a non-mapping names the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise OvEvalError(f"{path}{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    except OSError as exc:
        raise OvEvalError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise OvEvalError(f"{path}: expected a mapping at the top level")
    return data


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_includes(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The YAML at `path` with its `include:` files merged underneath it (includes first, then the file)."""
    path = path.resolve()
    if path in seen:
        raise OvEvalError(f"{path}: include cycle through {' -> '.join(str(p) for p in seen)}")
    data = read_yaml(path)
    includes = data.pop("include", [])
    includes = [includes] if isinstance(includes, str) else includes
    merged: dict[str, Any] = {}
    for name in includes:
        target = (path.parent / name).resolve()
        if not target.is_file():
            raise OvEvalError(f"{path}: include '{name}' not found")
        merged = deep_merge(merged, resolve_includes(target, seen + (path,)))
    return deep_merge(merged, data)


def _describe_validation_error(path: Path, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "<top>"
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown key '{key}'")
        elif err["type"] == "missing":
            problems.append(f"missing key '{key}'")
        else:
            problems.append(f"'{key}': {err['msg']}")
    return f"{path}: " + "; ".join(problems)


def load_task_config(path: Path) -> TaskConfig:
    data = resolve_includes(path)
    try:
        return TaskConfig.model_validate(data)
    except ValidationError as exc:
        raise OvEvalError(_describe_validation_error(path, exc)) from None


def config_hash(config: TaskConfig, hooks_source: str | None) -> str:
    """Identity of everything that decides a task's prompts and scores."""
    payload = json.dumps({"config": config.model_dump(), "hooks": hooks_source}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
