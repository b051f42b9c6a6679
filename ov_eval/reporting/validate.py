"""Results and samples files checked at the edge: every reader (leaderboard, compare, browse, rescore, submit)
gets either well-typed data or one error naming the file and the field."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ov_eval.errors import OvEvalError

_KINDS = {dict: "a mapping", list: "a list", str: "a string", bool: "true/false", int: "a number",
          float: "a number", type(None): "null"}


def _kind(value: Any) -> str:
    return next((name for kind, name in _KINDS.items() if isinstance(value, kind)), type(value).__name__)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return f" ({text[:40]}{'...' if len(text) > 40 else ''})" if not isinstance(value, (dict, list)) else ""


def _wrong(path: Path, field: str, expected: str, value: Any) -> OvEvalError:
    return OvEvalError(f"{path}: field '{field}' must be {expected}, not {_kind(value)}{_shown(value)}")


def _mapping(path: Path, data: dict[str, Any], field: str, required: bool = False) -> dict[str, Any]:
    value = data.get(field.rpartition(".")[2])
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise _wrong(path, field, "a mapping", value)
    return value


def _whole_number(path: Path, field: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(path, field, "a whole number", value)


def _optional(path: Path, data: dict[str, Any], field: str, types: tuple[type, ...], expected: str) -> None:
    value = data.get(field.rpartition(".")[2])
    if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
        raise _wrong(path, field, expected, value)


def check_results(path: Path, data: Any) -> dict[str, Any]:
    """The fields readers use, with the types they need (reference-harness results files included)."""
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise OvEvalError(f"{path}: not a results file (no 'results' mapping)")
    for section in ("results", "groups", "configs", "provenance"):
        for name, entry in _mapping(path, data, section).items():
            if not isinstance(entry, dict):
                raise _wrong(path, f"{section}.{name}", "a mapping", entry)
    for section in ("versions", "higher_is_better", "rescored_from", "group_subtasks"):
        _mapping(path, data, section)
    for task, counts in _mapping(path, data, "n-samples").items():
        if not isinstance(counts, dict):
            raise _wrong(path, f"n-samples.{task}", "a mapping with 'effective' and 'original'", counts)
        for count in ("effective", "original"):
            _whole_number(path, f"n-samples.{task}.{count}", counts.get(count))
    config = _mapping(path, data, "config")
    model_args = config.get("model_args")
    if model_args is not None and not isinstance(model_args, (dict, str)):
        raise _wrong(path, "config.model_args", "a mapping or a k=v,... string", model_args)
    for field in ("model", "run_name", "scoring_profile"):
        _optional(path, config, f"config.{field}", (str,), "a string")
    uncertainty = _mapping(path, data, "uncertainty")
    for field in ("bootstrap_iters", "bootstrap_seed"):
        if field in uncertainty:
            _whole_number(path, f"uncertainty.{field}", uncertainty[field])
    _optional(path, data, "date", (str, int, float), "a string or a timestamp")  # the reference writes time.time()
    _optional(path, data, "scoring_profile", (str,), "a string")
    return data


def check_sample(path: Path, number: int, record: Any) -> dict[str, Any]:
    """One logged sample (a line of `*_samples_<task>.jsonl`) with the fields readers use."""
    where = f"{path}:{number}"
    if not isinstance(record, dict):
        raise OvEvalError(f"{where}: a logged sample must be a mapping, not {_kind(record)}")
    missing = {"doc_id", "doc", "resps", "arguments"} - set(record)
    if missing:
        raise OvEvalError(f"{where}: a logged sample lacks {sorted(missing)}")
    _whole_number(Path(where), "doc_id", record["doc_id"])
    for field, kind, expected in (("doc", dict, "a mapping"), ("arguments", dict, "a mapping"),
                                  ("resps", list, "a list"), ("filtered_resps", list, "a list")):
        if field in record and not isinstance(record[field], kind):
            raise _wrong(Path(where), field, expected, record[field])
    _optional(Path(where), record, "error", (str,), "a string or null")
    return record


def read_json_text(path: Path) -> str:
    """The file's text; unreadable or not UTF-8 is one error naming the file (and the first bad byte)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise OvEvalError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OvEvalError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start})") from None


def read_results_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_json_text(path))
    except json.JSONDecodeError as exc:
        raise OvEvalError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    return check_results(path, data)


def read_samples_file(path: Path) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(read_json_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise OvEvalError(f"{path}:{number}: not valid JSON: {exc.msg}") from None
        records.append(check_sample(path, number, record))
    return records
