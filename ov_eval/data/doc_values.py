"""Typed reads of document values (option lists, answer lists, option indexes, missing values).

A value of the wrong shape is never coerced into a plausible one (a string iterated into one-letter options, an
index past the options read as a letter): where the dataset's feature type already says so, the task fails at
load naming the column (`check_*_feature`); otherwise the read raises SampleFailure for that document alone.
"""
from __future__ import annotations

import ast
import math
from typing import Any

import datasets
import numpy as np

from ov_eval.errors import OvEvalError
from ov_eval.pipeline import SampleFailure

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_STRING_TYPES = ("string", "large_string")
_LIST_FEATURES = tuple(t for t in (getattr(datasets, "List", None), getattr(datasets, "LargeList", None),
                                   getattr(datasets, "Sequence", None)) if isinstance(t, type))


def is_missing(value: Any) -> bool:
    """None or a float NaN (how pandas and parquet spell an empty cell)."""
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def describe(value: Any) -> str:
    """A value's type and a short glimpse of it, for error messages."""
    if value is None:
        return "None"
    text = repr(value if not isinstance(value, np.ndarray) else value.tolist())
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim == 1)


def _strings(value: Any) -> bool:
    """A non-empty list (or 1-d array) of strings: an empty one would score every response alike."""
    return _is_sequence(value) and len(value) > 0 and all(isinstance(item, str) for item in value)


def option_list(value: Any, where: str) -> list[str]:
    """A non-empty list (or 1-d array) of option strings; anything else raises SampleFailure naming `where`."""
    if _strings(value):
        return list(value)
    raise SampleFailure(f"{where}: options must be a non-empty list of strings, got {describe(value)}")


def answer_list(value: Any, where: str) -> list[str]:
    """The acceptable answers: one string is one answer, a non-empty list (or 1-d array) of strings several."""
    if isinstance(value, str):
        return [value]
    if _strings(value):
        return list(value)
    raise SampleFailure(f"{where}: the answers must be a string or a non-empty list of strings, got "
                        f"{describe(value)}")


def option_index(value: Any, count: int | None, where: str) -> int:
    """An option index 0 <= i < count (count None: the 26 letters): an int, a whole float or a string of digits."""
    index: int | None = None
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        index = int(value)
    elif isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        index = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        index = int(value.strip())
    if index is None:
        raise SampleFailure(f"{where}: an option index must be a whole number, got {describe(value)}")
    limit = len(LETTERS) if count is None else min(count, len(LETTERS))
    if not 0 <= index < limit:
        what = f"the {count} options" if count is not None else "the letters A-Z"
        raise SampleFailure(f"{where}: option index {index} is outside {what} (0-{limit - 1})")
    return index


def literal_option_list(text: Any, where: str) -> list[str]:
    """Options stored as a Python list literal in a string (MMMU's `options` column)."""
    try:
        value = ast.literal_eval(text) if isinstance(text, str) else None
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = None
    if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
        raise SampleFailure(f"{where}: options must be a Python list of strings written as a string, got "
                            f"{describe(text)}")
    return value


def _feature_name(feature: Any) -> str:
    if isinstance(feature, datasets.Value):
        return f"Value('{feature.dtype}')"
    return type(feature).__name__ if not isinstance(feature, _LIST_FEATURES) else \
        f"List({_feature_name(feature.feature)})"


def _is_string_value(feature: Any) -> bool:
    return isinstance(feature, datasets.Value) and feature.dtype in _STRING_TYPES


def _is_string_list(feature: Any) -> bool:
    return isinstance(feature, _LIST_FEATURES) and _is_string_value(feature.feature)


def check_option_feature(features: datasets.Features, column: str, where: str) -> None:
    """A column of option lists must be typed as a list of strings (a string column would be split into letters)."""
    feature = features.get(column)
    if feature is not None and not _is_string_list(feature):
        raise OvEvalError(f"{where} reads column '{column}' as the options, which must be a list of strings; "
                          f"the dataset types it {_feature_name(feature)}")


def check_answers_feature(features: datasets.Features, column: str, where: str) -> None:
    """A column of acceptable answers must be typed as a string or a list of strings."""
    feature = features.get(column)
    if feature is not None and not (_is_string_value(feature) or _is_string_list(feature)):
        raise OvEvalError(f"{where} reads column '{column}' as the answers, which must be a string or a list of "
                          f"strings; the dataset types it {_feature_name(feature)}")


def check_text_feature(features: datasets.Features, column: str, where: str) -> None:
    """A column of single-text targets must not be typed as a list (its text would be the list's repr)."""
    feature = features.get(column)
    if feature is not None and isinstance(feature, _LIST_FEATURES):
        raise OvEvalError(f"{where} reads column '{column}' as one answer text, and the dataset types it "
                          f"{_feature_name(feature)}: a metric that takes a list of answers (e.g. anls) reads lists")
