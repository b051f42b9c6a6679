"""A task built from its YAML: documents, prompts, media references, targets, and scoring."""
from __future__ import annotations

import importlib.util
import inspect
import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import datasets
import numpy as np

from ov_eval.config import MetricSpec, TaskConfig, config_hash, load_task_config
from ov_eval.data.datasets import DatasetSource, dataset_fingerprint, load_split, share_of
from ov_eval.data.doc_values import LETTERS, answer_list, check_answers_feature, check_option_feature, \
    check_text_feature, describe, is_missing, option_index, option_list
from ov_eval.data.media import media_digest, no_visual_message, resolve_image_paths
from ov_eval.data.video_archives import VideoPathError, prepare_video_folder, resolve_video
from ov_eval.errors import OvEvalError, did_you_mean, without_addresses
from ov_eval.journal import request_identity
from ov_eval.pipeline import SampleFailure
from ov_eval.scoring import registry as scoring
from ov_eval.scoring.normalize import strip_reasoning_blocks
from ov_eval.types import GenerationSettings, MediaRef, Request


def render_options(options: list[str]) -> str:
    return "\n".join(f"{chr(65 + i)}. {text}" for i, text in enumerate(options))


def _load_hooks(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"ov_eval_hooks_{path.parent.name}_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise OvEvalError(f"{path}: cannot load hooks file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class SampleScore:
    values: dict[str, Any]  # metric key -> value (unresolved counted as 0); keys whose `where` admit the doc
    unresolved: bool
    filtered: str


@dataclass
class Task:
    config: TaskConfig
    source_path: Path
    dataset_path_override: str | None = None
    hooks: ModuleType | None = None
    profile: str = "published"  # the scoring profile whose `profiles:` overrides the config holds
    hash: str = ""
    _dataset: datasets.Dataset | None = field(default=None, repr=False)
    _video_folder: Path | None = field(default=None, repr=False)

    @classmethod
    def load(cls, path: Path, dataset_override: str | None = None, profile: str = "published") -> "Task":
        scoring.load_builtins()
        config = load_task_config(path, profile)
        hooks_source, hooks = None, None
        if config.hooks:
            hooks_path = path.parent / config.hooks
            if not hooks_path.is_file():
                raise OvEvalError(f"{path}: hooks file '{config.hooks}' not found")
            hooks_source = hooks_path.read_text(encoding="utf-8")
            hooks = _load_hooks(hooks_path)
        task = cls(config, path, dataset_override, hooks, profile, config_hash(config, hooks_source))
        task._check_names()
        return task

    @property
    def name(self) -> str:
        return self.config.task

    def _check_names(self) -> None:
        for spec in self.config.metrics:
            self._metric_fn(spec.metric)
            self._aggregation_fn(spec.aggregation)
        for step in self.config.filter.steps:
            self._resolve(step, scoring.FILTERS, "filter step")
        try:
            GenerationSettings.from_values(self.config.generation.model_dump())
        except ValueError as exc:
            raise OvEvalError(f"{self.source_path}: generation: {exc}") from None
        headline = self.config.headline_metric
        if headline is not None and headline not in self.metric_keys():
            raise OvEvalError(f"{self.source_path}: headline_metric '{headline}' is not one of the result keys "
                              f"{self.metric_keys()}")

    def check_scorable(self, predict_only: bool, judge_available: bool = False) -> None:
        """A task whose score needs an LLM judge is scored only where a judge can be asked (an endpoint, or a
        verdict cache when rescoring); otherwise it runs with --predict_only. Checked before generation."""
        judge = self.config.judge
        if judge is not None and judge.required and not predict_only and not judge_available:
            raise OvEvalError(f"task '{self.name}' needs an LLM judge ({', '.join(judge.kind)} with {judge.model}) "
                              "and no judge endpoint is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for "
                              "another OpenAI-compatible server, or AZURE_OPENAI_* for Azure), or run with "
                              "--predict_only and score the log later with `ov_eval rescore`")

    def _hook(self, name: str) -> Any:
        return getattr(self.hooks, name, None) if self.hooks else None

    def _resolve(self, name: str, table: dict[str, Any], kind: str) -> Any:
        """A registered function, or `hooks.NAME` from the task's hooks file."""
        fn = self._hook(name.removeprefix("hooks.")) if name.startswith("hooks.") else table.get(name)
        if fn is None:
            raise OvEvalError(f"{self.source_path}: unknown {kind} '{name}'{did_you_mean(name, table)}")
        return fn

    def _metric_fn(self, name: str) -> scoring.Metric:
        return self._resolve(name, scoring.METRICS, "metric")

    def _aggregation_fn(self, name: str) -> scoring.Aggregation:
        return self._resolve(name, scoring.AGGREGATIONS, "aggregation")

    # ---- data -------------------------------------------------------------------------------------
    def dataset_source(self) -> DatasetSource:
        spec = self.config.dataset
        path = self.dataset_path_override or spec.path
        beside = self.source_path.parent / path
        if not Path(path).is_absolute() and beside.exists():
            path = str(beside.resolve())
        return DatasetSource(path, None if self.dataset_path_override else spec.name, spec.split, spec.revision)

    def dataset_folder(self) -> Path | None:
        """The folder relative image paths resolve against: a local dataset's own folder (a parquet file's parent);
        None for a hub dataset."""
        local = Path(self.dataset_source().path)
        if not local.exists():
            return None
        return local if local.is_dir() else local.parent

    @property
    def dataset(self) -> datasets.Dataset:
        if self._dataset is None:
            self._dataset = load_split(self.dataset_source(), self.name)
        return self._dataset

    def read_columns(self) -> list[tuple[str, str]]:
        """(YAML key, column) for every dataset column the YAML reads; parts a hook replaces are the hook's."""
        config, read = self.config, []
        if self._hook("doc_to_text") is None:
            read += [("prompt.text", column) for column in self._prompt_columns()]
            if config.prompt.options_field:
                read.append(("prompt.options_field", config.prompt.options_field))
        if self._hook("doc_to_target") is None:
            read.append(("target.field", config.target.field))
        options = config.target.options_field
        read += [("target.options_field", c) for c in ([options] if isinstance(options, str) else options or [])]
        if config.visual.kind == "video":
            read.append(("visual.fields", config.visual.fields[0]))
        for i, spec in enumerate(config.metrics):
            read += [(f"metrics[{i}].where", column) for column in spec.where]
            read += [(f"metrics[{i}].where_not", column) for column in spec.where_not]
        if config.uncertainty is not None:
            read.append(("uncertainty.cluster", config.uncertainty.cluster))
        return read

    def _prompt_columns(self) -> list[str]:
        """The doc fields `prompt.text` formats ({options} aside when options_field renders it)."""
        computed = {"options"} if self.config.prompt.options_field else set()
        names = (name for _, name, _, _ in string.Formatter().parse(self.config.prompt.text) if name)
        columns = (re.split(r"[.\[]", name, maxsplit=1)[0] for name in names)
        return list(dict.fromkeys(c for c in columns if c and c not in computed))

    def check_columns(self) -> None:
        """Every column the YAML reads exists in the dataset: checked at load, before the model loads."""
        columns = self.dataset.column_names
        read = self.read_columns()
        images = self.config.visual.fields if self.config.visual.kind == "image" else []
        if images and self._hook("doc_to_visual") is None and not set(images) & set(columns):
            read.append(("visual.fields", images[0]))  # image columns may be absent (up to N images), not all
        for key, column in read:
            if column not in columns:
                raise OvEvalError(f"task '{self.name}': {key} reads column '{column}', which the dataset lacks"
                                  f"{did_you_mean(column, columns)}; its columns: {', '.join(columns)}")
        self._check_feature_types(dict(read))

    def _check_feature_types(self, read: dict[str, str]) -> None:
        """Columns whose dataset type already makes every document wrong (options typed as one string)."""
        features, where = self.dataset.features, f"task '{self.name}':"
        # target.options_field as a list names one column per option; only a single column holds option lists
        one_column = isinstance(self.config.target.options_field, str)
        for key in ("prompt.options_field", "target.options_field")[:2 if one_column else 1]:
            if key in read:
                check_option_feature(features, read[key], f"{where} {key}")
        if "target.field" in read and self.config.target.transform == "none":
            shapes = self._target_shapes()
            if "answers" in shapes:
                check_answers_feature(features, read["target.field"], f"{where} target.field")
            if "text" in shapes:
                check_text_feature(features, read["target.field"], f"{where} target.field")

    def provenance(self) -> dict[str, Any]:
        source = self.dataset_source()
        return {"dataset": source.path, "dataset_config": source.name, "split": source.split,
                "revision": source.revision, "fingerprint": dataset_fingerprint(self.dataset),
                "task_config_hash": self.hash, "task_file": str(self.source_path)}

    def doc_ids(self, limit: int | float | None) -> list[int]:
        total = len(self.dataset)
        if limit is None:
            return list(range(total))
        count = share_of(limit, total) if isinstance(limit, float) and limit < 1 else int(limit)
        return list(range(min(count, total)))

    def doc(self, doc_id: int) -> dict[str, Any]:
        return self.dataset[doc_id]

    # ---- prompting --------------------------------------------------------------------------------
    def generation(self, overrides: dict[str, Any]) -> GenerationSettings:
        try:
            return GenerationSettings.from_values(self.config.generation.model_dump() | overrides)
        except ValueError as exc:
            raise OvEvalError(f"--gen_kwargs: {exc}") from None

    def text(self, doc: dict[str, Any], doc_id: int) -> str:
        hook = self._hook("doc_to_text")
        if hook is not None:  # a hook that names a `task` parameter also gets the task (video paths, folders)
            try:
                return hook(doc, task=self) if "task" in inspect.signature(hook).parameters else hook(doc)
            except SampleFailure as failure:  # a value the hook cannot read, e.g. option_list(doc["choices"], ...)
                raise SampleFailure(f"{self._label(doc_id)}, {failure}") from None
        prompt = self.config.prompt
        fields = dict(doc)
        for column in self._prompt_columns():
            if isinstance(fields.get(column), bytes):
                fields[column] = self._utf8_text(fields[column], column, doc_id)
            elif column in fields and is_missing(fields[column]):  # would be rendered as "None" / "nan"
                raise SampleFailure(f"{self._label(doc_id)}, field '{column}': no value ({describe(fields[column])}) "
                                    "for the prompt")
        if prompt.options_field:
            column = prompt.options_field
            fields["options"] = render_options(option_list(doc[column], f"{self._label(doc_id)}, column '{column}'"))
        try:
            body = prompt.text.format_map(fields)
        except (KeyError, IndexError) as exc:
            raise OvEvalError(f"task '{self.name}', doc {doc_id}: prompt names missing field {exc}") from None
        return prompt.pre_prompt + body + prompt.post_prompt

    def _label(self, doc_id: int | None) -> str:
        return f"task '{self.name}'" if doc_id is None else f"task '{self.name}', doc {doc_id}"

    def _utf8_text(self, value: bytes, column: str, doc_id: int) -> str:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SampleFailure(f"task '{self.name}', doc {doc_id}, field '{column}': not UTF-8 text (byte "
                                f"0x{value[exc.start]:02x} at position {exc.start})") from None

    def media(self, doc: dict[str, Any], doc_id: int) -> tuple[MediaRef, ...]:
        visual = self.config.visual
        label = f"task '{self.name}', doc {doc_id}"
        hook = self._hook("doc_to_visual")
        folder = self.dataset_folder()
        if visual.kind == "image":
            columns = list(hook(doc)) if hook is not None else visual.fields  # a hook: the columns a doc refers to
            refs = []
            for column in columns:
                cell = doc.get(column)
                cells = cell if isinstance(cell, list) else [cell]
                refs += [MediaRef("image", resolve_image_paths(c, folder), f"{label}, column '{column}'")
                         for c in cells if c is not None]
            if not refs and not visual.optional:
                raise SampleFailure(no_visual_message(label, columns, doc, hook is not None))
            return tuple(refs)
        if visual.kind == "video":
            try:
                path = self.video_path(doc)
            except VideoPathError as exc:  # an error for this sample only
                return (MediaRef("video", "", f"{label}: {exc}"),)
            except OvEvalError:  # the task's video folder itself: every sample's, so the run stops
                raise
            except Exception as exc:  # whatever else resolving one sample's video raises is that sample's error
                return (MediaRef("video", "", f"{label}: video id {doc.get(visual.fields[0])!r}: "
                                              f"{type(exc).__name__}: {exc}"),)
            return (MediaRef("video", str(path), label),)
        return ()

    def video_folder(self) -> Path:
        """Where video ids resolve: `<override folder>/videos`, else dataset.video_dir, else the extracted archives."""
        if self._video_folder is None:
            self._video_folder = self._find_video_folder()
        return self._video_folder

    def _find_video_folder(self) -> Path:
        override = Path(self.dataset_path_override) if self.dataset_path_override else None
        if override is not None and override.is_dir() and (override / "videos").is_dir():
            return override / "videos"
        spec = self.config.dataset
        if spec.video_dir is not None:
            folder = Path(spec.video_dir).expanduser()
            return folder if folder.is_absolute() else self.source_path.parent / folder
        if spec.video_archives is not None:
            archives = spec.video_archives
            return prepare_video_folder(archives.repo, archives.patterns, archives.cache_name, archives.subdir,
                                        archives.revision)
        raise OvEvalError(f"{self.source_path}: a video task needs dataset.video_dir or dataset.video_archives "
                          "(or a --dataset_override folder holding a videos/ subfolder)")

    def video_path(self, doc: dict[str, Any]) -> Path:
        """The video file of a doc; raises VideoPathError for an id that leaves the video folder."""
        visual = self.config.visual
        video_id = doc[visual.fields[0]]
        if video_id is None:
            raise VideoPathError(f"the video id (column '{visual.fields[0]}') is null")
        name = visual.video_pattern.format(video_id)
        return resolve_video(self.video_folder(), name, visual.video_fallback_extensions)

    def request(self, doc_id: int, generation: GenerationSettings, model_identity: str) -> Request:
        doc = self.doc(doc_id)
        text = self.text(doc, doc_id)
        media = self.media(doc, doc_id)
        self.target(doc, doc_id)  # a target that cannot be made is this sample's error, before generation
        key, facets = request_identity(model_identity, self.hash, doc_id, text, [media_digest(m) for m in media],
                                       generation.to_dict())
        return Request(self.name, doc_id, text, media, generation, key, facets=facets)

    # ---- scoring ----------------------------------------------------------------------------------
    def target(self, doc: dict[str, Any], doc_id: int | None = None) -> Any:
        """The document's target; SampleFailure (naming task, document and column) when it cannot be made."""
        hook = self._hook("doc_to_target")
        spec = self.config.target
        where = f"{self._label(doc_id)}, " + ("doc_to_target" if hook is not None else f"column '{spec.field}'")
        value = self._call_target_hook(hook, doc, where) if hook is not None else doc[spec.field]
        if hook is None and spec.transform == "index_to_letter":
            return LETTERS[option_index(value, self._option_count(doc, doc_id), f"{where}: target")]
        if is_missing(value):
            if self._needs_target():
                raise SampleFailure(f"{where}: no target ({describe(value)})")
            return value
        shapes = self._target_shapes()
        if "answers" in shapes:
            answer_list(value, f"{where}: target")
        if "text" in shapes and not isinstance(value, (str, int, float, np.number)):
            raise SampleFailure(f"{where}: target must be one text or number, got {describe(value)}")
        return value

    @staticmethod
    def _call_target_hook(hook: Any, doc: dict[str, Any], where: str) -> Any:
        try:
            return hook(doc)
        except SampleFailure:
            raise
        except Exception as exc:  # a hook failing on one document: that document's error
            raise SampleFailure(f"{where}: {type(exc).__name__}: {without_addresses(str(exc))}") from None

    def _option_count(self, doc: dict[str, Any], doc_id: int | None) -> int | None:
        """How many options an index_to_letter target counts in (None: unknown, the letters A-Z)."""
        field = self.config.target.options_field or self.config.prompt.options_field
        if field is None or isinstance(field, list):
            return None if field is None else len(field)
        return len(option_list(doc[field], f"{self._label(doc_id)}, column '{field}'"))

    def _target_shapes(self) -> set[str]:
        return {scoring.METRIC_TARGETS.get(spec.metric, "any") for spec in self.config.metrics}

    def _needs_target(self) -> bool:
        """Every task scores against its targets but a submission-only one (hidden labels: null aggregations)."""
        return any(spec.aggregation != "null" for spec in self.config.metrics)

    def metric_keys(self) -> list[str]:
        return [f"{spec.key_name},{self.config.filter.name}" for spec in self.config.metrics]

    def apply_filter(self, response: str) -> str:
        return self._run_filter(response)[0]

    def _run_filter(self, response: str) -> tuple[str, bool]:
        """The filtered response, and whether every extracting step found something to extract."""
        extracted = True
        for step in self.config.filter.steps:
            response = self._resolve(step, scoring.FILTERS, "filter step")(response)
            extracted = extracted and not isinstance(response, scoring.NothingExtracted)
        return response.strip(), extracted

    def filter_response(self, response: str, profile: str) -> str:
        return self._filter_with_outcome(response, profile)[0]

    def _filter_with_outcome(self, response: str, profile: str) -> tuple[str, bool]:
        filtered, extracted = self._run_filter(response)
        if profile == "corrected":  # §0.9: reasoning blocks go after the filters, for every task
            filtered = strip_reasoning_blocks(filtered)
        return filtered, extracted

    def score(self, doc: dict[str, Any], response: str, profile: str, prediction: Any = None,
              doc_id: int | None = None) -> SampleScore:
        """`prediction` replaces the filtered response as the metrics' input (a judge's verdict, already
        turned into what the metric reads); a metric may return a list of floats (e.g. a review pair).
        Unresolved: a metric returned None, or the filter extracted nothing and no metric scored the text."""
        filtered, extracted = self._filter_with_outcome(response, profile)
        nothing_extracted = prediction is None and not extracted
        prediction = filtered if prediction is None else prediction
        target = self.target(doc, doc_id)
        values, unresolved = {}, False
        for spec, key in zip(self.config.metrics, self.metric_keys()):
            if not self._applies(spec, doc, key):
                continue
            try:
                value = self._metric_fn(spec.metric)(self._metric_input(prediction, spec, key), target, doc, profile)
            except SampleFailure as failure:  # a document value the metric cannot read (e.g. options as one string)
                raise SampleFailure(f"{self._label(doc_id)}, metric '{key}': {failure}") from None
            if value is None:
                unresolved, value = True, 0.0
            values[key] = [float(v) for v in value] if isinstance(value, (list, tuple)) else float(value)
        if nothing_extracted and values and not any(isinstance(v, float) and v > 0 for v in values.values()):
            unresolved = True
        return SampleScore(values, unresolved, filtered)

    def _metric_input(self, prediction: Any, spec: MetricSpec, key: str) -> Any:
        from ov_eval.scoring.judge_step import MetricInputs

        if not isinstance(prediction, MetricInputs):
            return prediction
        if spec.key_name in prediction:
            return prediction[spec.key_name]
        if "*" in prediction:
            return prediction["*"]
        raise OvEvalError(f"task '{self.name}', metric '{key}': the judge step gave no input for this metric "
                          f"(it gave {sorted(prediction)})")

    def _applies(self, spec: MetricSpec, doc: dict[str, Any], key: str) -> bool:
        try:
            return spec.applies_to(doc)
        except KeyError as exc:
            raise OvEvalError(f"task '{self.name}', metric '{key}': documents have no field {exc} "
                              "named in its 'where'") from None

    def aggregation(self, key: str) -> tuple[str, scoring.Aggregation]:
        """The name and function of a result key's aggregation."""
        name = self.config.metrics[self.metric_keys().index(key)].aggregation
        return name, self._aggregation_fn(name)

    def aggregate(self, key: str, values: list[float], docs: list[dict[str, Any]]) -> float:
        return self.aggregation(key)[1](values, docs)

    @property
    def cluster_column(self) -> str | None:
        """The column whose equal values mark questions about one visual (`uncertainty.cluster`), if any."""
        return self.config.uncertainty.cluster if self.config.uncertainty is not None else None

    def loggable_doc(self, doc: dict[str, Any]) -> dict[str, Any]:
        media_columns = set(self.config.visual.fields) if self.config.visual.kind == "image" else set()
        return {k: v for k, v in doc.items() if k not in media_columns and _jsonable(v)}


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False
