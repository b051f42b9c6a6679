"""Dataset loading: a hub id (through the local cache, offline works) or a local parquet / saved dataset."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import datasets

from ov_eval.errors import OvEvalError


@dataclass(frozen=True)
class DatasetSource:
    path: str
    name: str | None
    split: str
    revision: str | None


def _is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and ((path / "dataset_info.json").is_file() or (path / "state.json").is_file()
                              or (path / "dataset_dict.json").is_file())


def _parquet_files(path: Path) -> list[str]:
    if path.is_file():
        return [str(path)]
    return sorted(str(p) for p in path.rglob("*.parquet"))


def load_split(source: DatasetSource, task: str) -> datasets.Dataset:
    """The split a task evaluates; media columns stay undecoded (decoding belongs to the media stage)."""
    local = Path(source.path)
    if local.exists():
        dataset = _load_local(local, source, task)
    elif source.path.startswith(("/", ".")) or source.path.endswith(".parquet"):
        raise OvEvalError(f"task '{task}': dataset path '{source.path}' does not exist")
    else:
        dataset = _load_hub(source, task)
    if len(dataset) == 0:
        raise OvEvalError(f"task '{task}': dataset '{source.path}' (split {source.split}) has no rows")
    return _without_media_decoding(dataset)


def _load_local(path: Path, source: DatasetSource, task: str) -> datasets.Dataset:
    if _is_saved_dataset(path):
        try:
            loaded = datasets.load_from_disk(str(path))
        except Exception as exc:  # a missing or damaged arrow file, a state.json that does not parse, ...
            if _saved_without_data(path):  # what save_to_disk writes for no rows, and cannot load again
                raise OvEvalError(f"task '{task}': saved dataset '{path}' has no rows") from None
            raise OvEvalError(f"task '{task}': cannot read saved dataset '{path}': {type(exc).__name__}: "
                              f"{exc}") from None
        if isinstance(loaded, datasets.DatasetDict):
            if source.split not in loaded:
                raise OvEvalError(f"task '{task}': saved dataset '{path}' has no split '{source.split}' "
                                  f"(it has {', '.join(loaded)})")
            return loaded[source.split]
        return loaded
    files = _parquet_files(path)
    if not files:
        raise OvEvalError(f"task '{task}': '{path}' holds no parquet file and is not a saved dataset")
    if _parquet_rows(files) == 0:  # the datasets library would only say "An error occurred while generating"
        raise OvEvalError(f"task '{task}': dataset '{path}' has no rows")
    try:
        return datasets.load_dataset("parquet", data_files=files, split="train")
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise OvEvalError(f"task '{task}': cannot read '{path}': {exc}") from None


def _saved_without_data(path: Path) -> bool:
    try:
        return json.loads((path / "state.json").read_text(encoding="utf-8")).get("_data_files") == []
    except (OSError, ValueError, AttributeError):
        return False


def _parquet_rows(files: list[str]) -> int | None:
    """The rows the parquet files hold by their footers, or None when one cannot be read (reported by the load)."""
    import pyarrow.parquet as pq

    try:
        return sum(pq.ParquetFile(file).metadata.num_rows for file in files)
    except Exception:
        return None


def _load_hub(source: DatasetSource, task: str) -> datasets.Dataset:
    try:
        return datasets.load_dataset(source.path, source.name, split=source.split, revision=source.revision)
    except Exception as exc:
        raise OvEvalError(f"task '{task}': cannot load dataset '{source.path}' "
                          f"(config {source.name}, split {source.split}): {exc}") from None


def _without_media_decoding(dataset: datasets.Dataset) -> datasets.Dataset:
    for column, feature in dataset.features.items():
        if isinstance(feature, datasets.Image):
            dataset = dataset.cast_column(column, datasets.Image(decode=False))
        elif isinstance(feature, (datasets.Sequence, datasets.List)) and isinstance(feature.feature, datasets.Image):
            dataset = dataset.cast_column(column, datasets.List(datasets.Image(decode=False)))
    return dataset


def dataset_fingerprint(dataset: datasets.Dataset) -> str:
    return getattr(dataset, "_fingerprint", "") or ""


def share_of(share: float, total: int) -> int:
    """A share of `total` documents, rounded up as the reference does and never below one document; computed on
    the share as written (0.3 of 10 is 3, not the 4 that 0.3 * 10 = 3.0000000000000004 rounds up to)."""
    return min(total, max(1, math.ceil(Fraction(repr(share)) * total))) if total else 0
