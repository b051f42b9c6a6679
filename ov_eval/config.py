"""Strict task-YAML schema and loading (`include:` deep merge); errors name the file and the key."""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ov_eval.errors import OvEvalError, did_you_mean
from ov_eval.scoring.normalize import PROFILES


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VideoArchiveSpec(Strict):
    """The dataset repo's video archives, fetched through the hub cache and extracted once (data/video_archives.py)."""

    repo: str  # hub dataset id holding the archives
    patterns: list[str] = Field(min_length=1)  # allow_patterns of the archives, e.g. "videos_chunked_*.zip"
    cache_name: str  # folder under the video cache ($OV_EVAL_VIDEO_CACHE or ~/.cache/ov_eval/videos)
    subdir: str = ""  # the folder inside the extracted tree that holds the videos
    revision: str | None = None


class DatasetSpec(Strict):
    path: str  # hub id, or a local parquet file / folder / saved dataset (relative to the YAML)
    name: str | None = None  # dataset config
    split: str
    revision: str | None = None
    video_dir: str | None = None  # folder holding the videos named by `visual.field`; wins over video_archives
    video_archives: VideoArchiveSpec | None = None
    subtitle_dir: str | None = None  # Video-MME subtitles; default `{video folder}/../subtitle`


class PromptSpec(Strict):
    text: str = "{question}"  # str.format over the doc's fields, plus {options}
    options_field: str | None = None  # a list field rendered as "A. x\nB. y"
    pre_prompt: str = ""
    post_prompt: str = ""


class VisualSpec(Strict):
    kind: Literal["none", "image", "video"] = "none"
    fields: list[str] = Field(default_factory=list)  # image columns, or the video-id column
    video_pattern: str = "{}.mp4"  # file name inside the video folder for a video id
    # tried in order when the pattern's file is missing: the same name with these extensions
    video_fallback_extensions: list[str] = Field(default_factory=list)
    # true: a document whose image fields hold no image is generated text-only (mixed text/image benchmarks);
    # false: that document is an error of its own
    optional: bool = Field(default=False, strict=True)


class TargetSpec(Strict):
    field: str
    transform: Literal["none", "index_to_letter"] = "none"
    # index_to_letter: the options the index counts in: a list column, or one column per option (NExT-QA's
    # a0..a4); default prompt.options_field. Without either, an index must name one of the letters A-Z.
    options_field: str | list[str] | None = None


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
    metric: str  # the per-sample function
    name: str | None = None  # the result key's metric part ("name,filter"); defaults to `metric`
    aggregation: str = "mean"
    higher_is_better: bool = True
    # Only documents whose field's value (as a string) is listed count for this key, e.g. a category split.
    where: dict[str, list[str]] = Field(default_factory=dict)
    where_not: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("where", "where_not", mode="before")
    @classmethod
    def _values_as_lists(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @property
    def key_name(self) -> str:
        return self.name or self.metric

    def applies_to(self, doc: dict[str, Any]) -> bool:
        """Whether a document counts for this key; a `where` field missing from the doc raises KeyError."""
        return (all(str(doc[f]) in allowed for f, allowed in self.where.items())
                and not any(str(doc[f]) in barred for f, barred in self.where_not.items()))


class JudgeSpec(Strict):
    """An LLM-judge step of the scoring stage (docs/scoring_rules.md §4); the client lives in ov_eval.judges."""

    kind: list[str] = Field(min_length=1)  # judge kinds, in the order they run
    model: str  # the judge model of the reference run, recorded with the results
    required: bool = True  # False: rows the rules resolve score without a judge, the rest count unresolved

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class UncertaintySpec(Strict):
    """How a task's questions depend on each other: `cluster` names the column shared by the questions of one
    image or video, which the stderr and every bootstrap then treat as one unit."""

    cluster: str = Field(min_length=1)


class TaskConfig(Strict):
    task: str
    group: list[str] = Field(default_factory=list)
    dataset: DatasetSpec
    doc_count: int | None = Field(default=None, gt=0, strict=True)  # rows of the full split, for `--tasks list` (datasets.md)
    prompt: PromptSpec = PromptSpec()
    visual: VisualSpec = VisualSpec()
    target: TargetSpec
    generation: GenerationSpec = GenerationSpec()
    filter: FilterSpec = FilterSpec()
    metrics: list[MetricSpec] = Field(min_length=1)
    judge: JudgeSpec | None = None
    uncertainty: UncertaintySpec | None = None
    headline_metric: str | None = None  # a full result key, e.g. "anls,none"
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


def _schema_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The schema class that holds the key at `loc` (list indexes and dict keys are stepped over)."""
    model: type[BaseModel] = TaskConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        candidates = [field.annotation]
        while candidates:
            annotation = candidates.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                model = annotation
                break
            candidates += list(get_args(annotation))
        else:
            return None
    return model


def _describe_validation_error(path: Path, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "<top>"
        if err["type"] == "extra_forbidden":
            schema = _schema_at(tuple(err["loc"]))
            hint = did_you_mean(str(err["loc"][-1]), schema.model_fields) if schema is not None else ""
            problems.append(f"unknown key '{key}'{hint}")
        elif err["type"] == "missing":
            problems.append(f"missing key '{key}'")
        else:
            problems.append(f"'{key}': {err['msg']}")
    return f"{path}: " + "; ".join(problems)


def apply_profile(path: Path, data: dict[str, Any], profile: str) -> dict[str, Any]:
    """`profiles: {corrected: {...}}` holds a profile's differences, deep-merged over the task's keys."""
    if profile not in PROFILES:
        raise OvEvalError(f"unknown scoring profile '{profile}'; expected one of {', '.join(PROFILES)}")
    overlays = data.pop("profiles", None) or {}
    if not isinstance(overlays, dict) or any(not isinstance(v, dict) for v in overlays.values()):
        raise OvEvalError(f"{path}: 'profiles' must map a profile name to a mapping of task keys")
    unknown = sorted(set(overlays) - set(PROFILES))
    if unknown:
        raise OvEvalError(f"{path}: unknown profile '{unknown[0]}' under 'profiles' "
                          f"(expected one of {', '.join(PROFILES)})")
    return deep_merge(data, overlays[profile]) if profile in overlays else data


def load_task_config(path: Path, profile: str = "published") -> TaskConfig:
    data = apply_profile(path, resolve_includes(path), profile)
    try:
        return TaskConfig.model_validate(data)
    except ValidationError as exc:
        raise OvEvalError(_describe_validation_error(path, exc)) from None


# Keys added after tasks were first hashed: left out of the hash at their defaults, so that a task not using them
# keeps its hash (and its journal and comparability with earlier runs).
_LATER_KEYS = {"visual": {"optional": False}, "target": {"options_field": None}}


def config_hash(config: TaskConfig, hooks_source: str | None) -> str:
    """Identity of everything that decides a task's prompts and scores (the informative doc_count does not)."""
    dump = config.model_dump(exclude={"doc_count"})
    for section, defaults in _LATER_KEYS.items():
        for key, default in defaults.items():
            if dump[section].get(key) == default:
                del dump[section][key]
    payload = json.dumps({"config": dump, "hooks": hooks_source}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
