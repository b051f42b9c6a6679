"""Thinking models: the reasoning between tags (`<think>...</think>`) is taken out before filters and metrics.

A block whose closing tag never came (the answer ran out of `max_new_tokens` while still reasoning) leaves no
answer: the sample is unresolved and never scored on its reasoning text. A closing tag without an opening one
(chat templates that put the opening tag in the prompt) ends the reasoning that starts the text.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ov_eval.errors import OvEvalError

ReasoningTags = Sequence[Sequence[str]]  # (opening, closing) pairs


@dataclass(frozen=True)
class ReasoningSplit:
    answer: str  # the text the filters and metrics see
    reasoning: str | None  # what was taken out (None: nothing)
    truncated: bool  # a reasoning block never closed: no answer


def parse_reasoning_tags(text: str) -> list[list[str]]:
    """'<think>,</think>;<r>,</r>' -> [['<think>', '</think>'], ['<r>', '</r>']]."""
    pairs = []
    for item in filter(None, (p.strip() for p in text.split(";"))):
        parts = [p.strip() for p in item.split(",")]
        if len(parts) != 2 or not all(parts):
            raise OvEvalError(f"--reasoning_tags: '{item}' is not OPEN,CLOSE (e.g. '<think>,</think>'; pairs "
                              "separated by ';')")
        if parts[0] == parts[1]:
            raise OvEvalError(f"--reasoning_tags: '{item}': the opening and closing tags must differ")
        pairs.append(parts)
    if not pairs:
        raise OvEvalError(f"--reasoning_tags: '{text}' names no tag pair (e.g. '<think>,</think>')")
    return pairs


def split_reasoning(text: str, tags: ReasoningTags) -> ReasoningSplit:
    reasoning: list[str] = []
    answer = text
    for opening, closing in tags:
        kept: list[str] = []
        rest = answer
        if closing in rest and (opening not in rest or rest.index(closing) < rest.index(opening)):
            head, _, rest = rest.partition(closing)  # the opening tag was in the prompt
            reasoning.append(head.replace(opening, ""))
        while opening in rest:
            before, _, inside = rest.partition(opening)
            kept.append(before)
            if closing not in inside:
                reasoning.append(inside)
                return ReasoningSplit("", _joined(reasoning), truncated=True)
            thought, _, rest = inside.partition(closing)
            reasoning.append(thought)
        answer = "".join(kept) + rest
    if answer == text:
        return ReasoningSplit(text, None, False)
    return ReasoningSplit(answer.strip(), _joined(reasoning), False)


def _joined(parts: list[str]) -> str:
    return "\n".join(p.strip() for p in parts if p.strip())
