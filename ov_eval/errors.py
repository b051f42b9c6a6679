"""User-facing errors: one line that names the culprit (file, task, sample or flag)."""
from __future__ import annotations

import difflib
from typing import Iterable


class OvEvalError(Exception):
    """An error caused by the user's input; the CLI prints it on one line and exits non-zero."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
