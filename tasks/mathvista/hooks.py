"""MathVista `_format` prompt: the question (with its unit), the lettered choices, a hint by answer type."""
from ov_eval.task import render_options

_FLOAT_HINTS = {1: "one decimal place", 2: "two decimal places"}


def _hint(doc: dict) -> str:
    if doc["question_type"] == "multi_choice":
        return "Answer with the option's letter from the given choices directly."
    if doc["answer_type"] == "integer":
        return "Answer the question using a single integer number."
    if doc["answer_type"] == "float" and doc["precision"] in _FLOAT_HINTS:
        return f"Answer the question using a single floating-point number with {_FLOAT_HINTS[doc['precision']]}."
    if doc["answer_type"] == "list":
        return "Answer the question using a Python list."
    return ""


def doc_to_text(doc: dict) -> str:
    question = doc["question"] + (f" (Unit: {doc['unit']})" if doc["unit"] else "")
    choices = render_options(doc["choices"]) if doc["choices"] else ""
    return "\n".join(part for part in (question, choices, _hint(doc)) if part)
