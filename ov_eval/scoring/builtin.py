"""The built-in filters and metrics that task YAMLs name; each wraps a rule from the shared scoring blocks."""
from __future__ import annotations

from typing import Any

from ov_eval.data.doc_values import option_list
from ov_eval.scoring.choice import find_choice, leading_letter
from ov_eval.scoring.normalize import exact_match as _exact_match
from ov_eval.scoring.normalize import number_word_to_digit
from ov_eval.scoring.registry import NothingExtracted, register_filter, register_metric
from ov_eval.scoring.text_metrics import relaxed_accuracy as _relaxed_accuracy

register_filter("number_words")(number_word_to_digit)


@register_filter("leading_letter")
def leading_letter_filter(response: str) -> str:
    """flexible-extract: the letter of a leading `X.`; else the response unchanged, marked as nothing extracted."""
    return leading_letter(response) or NothingExtracted(response)


@register_filter("strip")
def strip(response: str) -> str:
    """The response without leading and trailing whitespace."""
    return response.strip()


@register_metric("exact_match", target="text")
def exact_match(prediction: str, target: Any, doc: dict, profile: str) -> float:
    """1.0 when prediction and target are equal ignoring case and ASCII punctuation (§0.5)."""
    return _exact_match(prediction, str(target))


@register_metric("relaxed_accuracy", target="text")
def relaxed_accuracy(prediction: str, target: Any, doc: dict, profile: str) -> float:
    """ChartQA relaxed accuracy: numbers within 5% of the target, other answers equal ignoring case."""
    return _relaxed_accuracy(prediction, str(target))


@register_metric("choice_accuracy", target="text")
def choice_accuracy(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """The general letter parser against a letter target; options come from the doc's `options` list."""
    options = option_list(doc["options"], "column 'options'") if "options" in doc else None
    letters = [chr(65 + i) for i in range(len(options))] if options else list("ABCD")
    choice = find_choice(prediction, letters, options)
    return None if choice is None else float(choice == str(target))
