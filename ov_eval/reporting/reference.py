"""Published LLaVA-OneVision scores (results/reference/*.csv) that a leaderboard compares runs against."""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from ov_eval.errors import OvEvalError
from ov_eval.paths import project_folder

COLUMNS = ("benchmark", "task", "metric_key", "scale", "model", "score", "source")
REFERENCE_CSV_NAME = "reference/llava_onevision.csv"
DEFAULT_REFERENCE_MODEL = "llava-onevision-qwen2-0.5b-ov"

TASK_GROUP_ORDER = ("image", "multi-image", "video", "other")
# Tasks the paper reports plus a few siblings it does not; tasks of a results group inherit the group's.
TASK_GROUPS: dict[str, str] = {
    **dict.fromkeys(["ai2d", "chartqa", "docvqa_val", "docvqa_test", "infovqa_val", "infovqa_test",
                     "mathverse_testmini_vision", "mathvista_testmini", "mmbench_en_dev", "mme", "mmmu_val",
                     "mmmu_test", "mmvet", "mmstar", "seedbench", "scienceqa_img", "realworldqa",
                     "llava_in_the_wild", "ocrbench"], "image"),
    **dict.fromkeys(["muirbench", "llava_interleave_bench"], "multi-image"),
    **dict.fromkeys(["activitynetqa", "egoschema", "egoschema_subset", "nextqa_mc_test", "perceptiontest_val_mc",
                     "videochatgpt", "video_dc499", "videomme", "videomme_w_subtitle"], "video"),
}


def canonical_key(metric_key: str) -> str:
    """The corrected profile fixed the reference's 'percetion' typo; both spellings name one figure."""
    return metric_key.replace("percetion", "perception")


@dataclass(frozen=True)
class ReferenceScore:
    benchmark: str
    task: str
    metric_key: str
    scale: float  # published figure = raw task metric * scale
    model: str
    score: float
    source: str


@dataclass(frozen=True)
class ReferenceTable:
    path: Path
    scores: tuple[ReferenceScore, ...]

    def models(self) -> list[str]:
        return list(dict.fromkeys(s.model for s in self.scores))

    def tasks(self) -> list[str]:
        return list(dict.fromkeys(s.task for s in self.scores))

    def metric_keys(self, task: str) -> list[str]:
        """The task's published metric keys, in file order."""
        return list(dict.fromkeys(s.metric_key for s in self.scores if s.task == task))

    def find(self, task: str, metric_key: str, model: str | None = None) -> ReferenceScore | None:
        """The row for (task, metric), of `model` if given, else of any model (for benchmark name and scale)."""
        wanted = canonical_key(metric_key)
        for score in self.scores:
            if score.task == task and canonical_key(score.metric_key) == wanted and model in (None, score.model):
                return score
        return None

    def position(self, task: str, metric_key: str) -> int | None:
        """Where the (task, metric) pair first appears in the file, to order tables like the paper."""
        pairs = list(dict.fromkeys((s.task, canonical_key(s.metric_key)) for s in self.scores))
        try:
            return pairs.index((task, canonical_key(metric_key)))
        except ValueError:
            return None


def _number(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise OvEvalError(f"{path}:{line}: column '{column}' is not a number: '{text}'") from None
    if not math.isfinite(value):
        raise OvEvalError(f"{path}:{line}: column '{column}' is not finite: '{text}'")
    return value


def _row(path: Path, line: int, record: dict[str, str]) -> ReferenceScore:
    for column in COLUMNS:
        if not (record.get(column) or "").strip():
            raise OvEvalError(f"{path}:{line}: column '{column}' is empty")
    if "," not in record["metric_key"]:
        raise OvEvalError(f"{path}:{line}: metric_key '{record['metric_key']}' is not of the form metric,filter")
    scale = _number(path, line, "scale", record["scale"])
    if scale <= 0:
        raise OvEvalError(f"{path}:{line}: column 'scale' must be positive, got '{record['scale']}'")
    return ReferenceScore(benchmark=record["benchmark"].strip(), task=record["task"].strip(),
                          metric_key=record["metric_key"].strip(), scale=scale, model=record["model"].strip(),
                          score=_number(path, line, "score", record["score"]), source=record["source"].strip())


def _check_scales(path: Path, scores: list[ReferenceScore]) -> None:
    scales: dict[tuple[str, str], float] = {}
    for score in scores:
        first = scales.setdefault((score.task, canonical_key(score.metric_key)), score.scale)
        if first != score.scale:
            raise OvEvalError(f"{path}: task '{score.task}', metric '{score.metric_key}' has scales {first:g} and "
                              f"{score.scale:g}; one metric has one scale")


def load_reference(path: Path | None = None) -> ReferenceTable:
    """Read and validate a reference CSV; a bad file is an OvEvalError naming the file and line."""
    path = Path(path) if path is not None else project_folder("results", "ov_eval_results") / REFERENCE_CSV_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OvEvalError(f"{path}: cannot read reference scores: {exc.strerror}") from None
    reader = csv.DictReader(text.splitlines())
    header = tuple(reader.fieldnames or ())
    if header != COLUMNS:
        raise OvEvalError(f"{path}:1: expected columns {','.join(COLUMNS)}, got {','.join(header) or 'nothing'}")
    scores: list[ReferenceScore] = []
    seen: set[tuple[str, str, str]] = set()
    for record in reader:
        line = reader.line_num
        if None in record or any(value is None for value in record.values()):
            raise OvEvalError(f"{path}:{line}: expected {len(COLUMNS)} fields")
        score = _row(path, line, record)
        identity = (score.task, canonical_key(score.metric_key), score.model)
        if identity in seen:
            raise OvEvalError(f"{path}:{line}: duplicate row for task '{score.task}', metric '{score.metric_key}', "
                              f"model '{score.model}'")
        seen.add(identity)
        scores.append(score)
    if not scores:
        raise OvEvalError(f"{path}: no reference scores")
    _check_scales(path, scores)
    return ReferenceTable(path=path, scores=tuple(scores))
