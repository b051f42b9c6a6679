"""Run files: `--config run.yaml` holds any of the command line's flags (and several runs), and a results file
holds the resolved arguments of its run, so `ov_eval rerun RESULTS.json` repeats it.

A run file is a mapping of flag names (without the dashes) to values, validated as strictly as a task YAML:

    model: llava_onevision
    model_args: {pretrained: lmms-lab/llava-onevision-qwen2-0.5b-ov, conv_template: qwen_1_5}
    tasks: [mme, mmstar]
    log_samples: true
    runs:                      # optional: several runs, each overlaying the keys above (e.g. a checkpoint sweep)
      - {model_args: {pretrained: ckpt-1000}, run_name: step1000}
      - {model_args: {pretrained: ckpt-2000}, run_name: step2000}

Flags given on the command line override the file (a repeatable flag given there replaces the file's list).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from typing import Any

from ov_eval.errors import OvEvalError, did_you_mean

log = logging.getLogger(__name__)

NOT_IN_RUN_FILES = ("config", "list_vocabulary", "help")  # what a run file cannot set


def _flag_actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser._actions if a.option_strings and a.dest not in NOT_IN_RUN_FILES}


def given_on_command_line(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The dests of the flags that `argv` names (allow_abbrev is off, so names are exact)."""
    given = set()
    for action in parser._actions:
        for option in action.option_strings:
            if any(token == option or token.startswith(option + "=") for token in argv):
                given.add(action.dest)
    return given


def _as_flag_value(where: str, key: str, value: Any, action: argparse.Action) -> Any:
    """A YAML value in the form argparse would have produced from the command line."""
    if isinstance(action, argparse._StoreTrueAction):
        if not isinstance(value, bool):
            raise OvEvalError(f"{where}: '{key}' must be true or false, got {value!r}")
        return value
    if isinstance(action, argparse._AppendAction):  # dataset_override: {TASK: PATH} -> ["TASK=PATH"]
        items = [f"{k}={v}" for k, v in value.items()] if isinstance(value, dict) \
            else value if isinstance(value, list) else [value]
        if not all(isinstance(item, (str, int, float)) and not isinstance(item, bool) for item in items):
            raise OvEvalError(f"{where}: '{key}' must be a string or a list of strings, got {value!r}")
        return [str(item) for item in items]
    if value is None:
        return None
    if isinstance(value, dict):  # model_args: {pretrained: X} -> "pretrained=X"
        return ",".join(f"{k}={_scalar(where, key, v)}" for k, v in value.items())
    if isinstance(value, list):  # tasks: [a, b] -> "a,b"
        return ",".join(_scalar(where, key, v) for v in value)
    return _scalar(where, key, value)


def _scalar(where: str, key: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if not isinstance(value, (str, int, float)):
        raise OvEvalError(f"{where}: '{key}' has a value that is not a string or number: {value!r}")
    return str(value)


def _checked(where: str, values: Any, actions: dict[str, argparse.Action]) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise OvEvalError(f"{where}: must be a mapping of flag names to values")
    out = {}
    for key, value in values.items():
        name = str(key).lstrip("-").replace("-", "_")
        if name not in actions:
            raise OvEvalError(f"{where}: unknown key '{key}'{did_you_mean(name, actions)}")
        out[name] = _as_flag_value(where, str(key), value, actions[name])
    return out


def read_run_file(path: Path, parser: argparse.ArgumentParser) -> list[dict[str, Any]]:
    """Each run's flag values (dest -> value as argparse gives it) from a run file or a results file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OvEvalError(f"--config: cannot read {path}: {exc.strerror}") from None
    actions = _flag_actions(parser)
    if path.suffix == ".json":
        return [recorded_arguments(path, text, actions)]
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise OvEvalError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise OvEvalError(f"{path}: a run file is a mapping of flag names to values")
    runs = data.pop("runs", None)
    shared = _checked(str(path), data, actions)
    if runs is None:
        return [shared]
    if not isinstance(runs, list) or not runs:
        raise OvEvalError(f"{path}: 'runs' must be a non-empty list of mappings")
    return [shared | _checked(f"{path}: runs[{i}]", run, actions) for i, run in enumerate(runs)]


def recorded_arguments(path: Path, text: str, actions: dict[str, argparse.Action]) -> dict[str, Any]:
    """The resolved arguments a results file recorded (`config.arguments`), checked like a run file."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OvEvalError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    config = data.get("config") if isinstance(data, dict) else None
    arguments = config.get("arguments") if isinstance(config, dict) else None
    if not isinstance(arguments, dict):
        raise OvEvalError(f"{path}: not a results file with recorded arguments (config.arguments); only runs made "
                          "by this version of ov_eval can be repeated")
    values = {k: v for k, v in arguments.items() if k in actions}  # flags this version no longer has are dropped
    dropped = sorted(set(arguments) - set(values))
    if dropped:
        log.warning("%s: recorded flags this version does not know are ignored: %s", path, ", ".join(dropped))
    working_directory = config.get("working_directory")
    if isinstance(working_directory, str):
        values["_working_directory"] = working_directory
    return values


def resolve(parser: argparse.ArgumentParser, argv: list[str], file_values: dict[str, Any]) -> argparse.Namespace:
    """Defaults, overlaid by the run file's values, overlaid by the flags `argv` gives."""
    args = parser.parse_args(argv)
    for dest in set(file_values) - given_on_command_line(parser, argv):
        if not dest.startswith("_"):
            setattr(args, dest, file_values[dest])
    return args


def resolved_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """What a results file records to repeat the run: every flag's final value."""
    return {dest: getattr(args, dest) for dest in _flag_actions(parser) if hasattr(args, dest)}


def enter_working_directory(values: dict[str, Any]) -> None:
    """A rerun resolves the recorded relative paths (output, checkpoints, task folders) where the run did."""
    folder = values.get("_working_directory")
    if folder and Path(folder).is_dir() and Path(folder).resolve() != Path.cwd().resolve():
        log.info("rerun: working in %s, as the recorded run did", folder)
        os.chdir(folder)
