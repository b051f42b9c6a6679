"""User-facing errors: one line that names the culprit (file, task, sample or flag)."""
from __future__ import annotations

import difflib
import re
from typing import Iterable


class OvEvalError(Exception):
    """An error caused by the user's input; the CLI prints it on one line and exits non-zero."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def without_addresses(text: str) -> str:
    """`<_io.BytesIO object at 0x7f...>` -> `<_io.BytesIO object>`: identical runs log identical errors."""
    return _ADDRESS.sub("", text)


class RunInterrupted(Exception):
    """Ctrl-C or SIGTERM during a run; `journaled` responses are kept for the next run of the same command."""

    def __init__(self, journaled: int, exit_status: int = 130) -> None:
        super().__init__(f"interrupted: {journaled} samples journaled; run the same command again to resume")
        self.journaled = journaled
        self.exit_status = exit_status  # 128 + the signal: 130 for Ctrl-C, 143 for SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM (what schedulers send), raised in the main thread so that it stops a run as Ctrl-C does."""

    exit_status = 143


class TasksNotScored(Exception):
    """The run finished and wrote its results, but some tasks could not be scored (each with its fault)."""

    def __init__(self, faults: dict[str, str], results_path: str) -> None:
        lines = [f"task '{name}' could not be scored: {fault}" for name, fault in faults.items()]
        super().__init__("\n".join(lines))
        self.lines = lines
        self.results_path = results_path
