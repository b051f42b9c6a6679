"""Scoring of the judge tasks (release_rules.md §4) around the judge call itself.

The judge client and its prompts live in ov_eval.judges. The contract with that stage: for a judge task the
metric receives the judge's parsed verdict as `prediction` (MathVista: the extracted answer; MMVet and
MathVerse: the grade as text), and rows the judge could not settle are excluded and counted by that stage.
Until the stage is wired in, a task whose YAML `judge.required` is true only runs with --predict_only.
"""
from __future__ import annotations

import re
from typing import Any

from ov_eval.errors import OvEvalError
from ov_eval.scoring.registry import register_metric
from ov_eval.scoring.text_metrics import levenshtein_distance

_PARENTHESISED_LETTER = re.compile(r"\(([a-zA-Z])\)")


# --- MathVista ----------------------------------------------------------------------------------

def mathvista_quick_extract(response: str, doc: dict) -> str | None:
    """Extraction without the judge (steps 1-3): "" for an empty response, a response equal to a choice, or
    one that parses as the integer / float answer type; None means the judge must extract."""
    if not response:
        return ""
    if doc["question_type"] == "multi_choice" and response in (doc["choices"] or []):
        return response
    kind = {"integer": int, "float": float}.get(doc["answer_type"])
    if kind is not None:
        try:
            kind(response)
            return response
        except ValueError:
            pass
    return None


def mathvista_normalize(extraction: str, doc: dict) -> str | None:
    """The extraction in the answer's form: a choice text, an int, a float rounded to the precision, a list.

    A float question's precision is a float64 in the dataset, and `round(x, 1.0)` raises: the reference then
    gets None, so every float question scores 0 (both profiles).
    """
    if doc["question_type"] == "multi_choice":
        choices = list(doc["choices"])
        text = extraction.strip()
        letter = _PARENTHESISED_LETTER.findall(text)
        text = letter[0].upper() if letter else text
        letters = [chr(65 + i) for i in range(len(choices))]
        if text in letters:
            return choices[letters.index(text)]
        return min(choices, key=lambda choice: levenshtein_distance(text, choice))
    try:
        if doc["answer_type"] == "integer":
            return str(int(float(extraction)))
        if doc["answer_type"] == "float":
            return str(round(float(extraction), doc["precision"]))
    except (TypeError, ValueError):
        return None
    return str(extraction)


@register_metric("mathvista_match")
def mathvista_match(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """`prediction` is the extracted answer (mathvista_quick_extract, else the judge's extraction)."""
    normalized = mathvista_normalize(prediction, doc)
    return None if normalized is None else float(normalized.strip() == str(target).strip())


# --- verdicts that are grades ---------------------------------------------------------------------

@register_metric("judge_grade")
def judge_grade(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """MMVet (0.0-1.0) and MathVerse (0 or 1): the judge's grade; None when it is not a number in [0, 1]."""
    try:
        grade = float(prediction)
    except ValueError:
        return None
    return grade if 0.0 <= grade <= 1.0 else None


# --- LLaVA-in-the-Wild ----------------------------------------------------------------------------

def llava_wild_relative_score(reviews: list[tuple[float, float]]) -> float:
    """(reference score, model score) per sample -> round(mean(model) / mean(ref) · 100, 1), each mean
    rounded to 3 decimals first, as the reference computes it."""
    reference = round(sum(r for r, _ in reviews) / len(reviews), 3)
    model = round(sum(m for _, m in reviews) / len(reviews), 3)
    return round(model / reference * 100, 1)


@register_metric("llava_wild_review")
def llava_wild_review(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """A sample's value is a pair (reference, model), which one float cannot carry: this key is computed by
    llava_wild_relative_score once the judge stage supplies the reviews."""
    raise OvEvalError("llava_in_the_wild is scored from judge reviews (llava_wild_relative_score); "
                      "run it with --predict_only until the judge stage is integrated")
