"""MathVista testmini prompts of the three variants (docs/scoring_rules.md §4 mathvista_testmini), zero-shot:
  - `_format`:   the question [(Unit: u)], `A. c` choice lines, a direct-answer hint;
  - `_cot`:      `Question: ...`, `Choices:` then `(A) c` lines, a `Hint: ...` asking for the answer at the end;
  - `_solution`: as `_cot`, then a last line `Solution:`.
The parts are joined by newlines and the whole is stripped, as the reference does (which is why `_solution`
ends in `Solution:` without its trailing space). The variant is the last part of the task name."""
from ov_eval.data.doc_values import option_list
from ov_eval.errors import OvEvalError
from ov_eval.task import render_options

_FLOAT_PLACES = {1: "one decimal place", 2: "two decimal places"}
_FLOAT_EXAMPLES = {1: "1.2, 1.3, 1.4", 2: "1.23, 1.34, 1.45"}


def _direct_hint(doc: dict) -> str:
    if doc["question_type"] == "multi_choice":
        return "Answer with the option's letter from the given choices directly."
    if doc["answer_type"] == "integer":
        return "Answer the question using a single integer number."
    if doc["answer_type"] == "float" and doc["precision"] in _FLOAT_PLACES:
        return f"Answer the question using a single floating-point number with {_FLOAT_PLACES[doc['precision']]}."
    if doc["answer_type"] == "list":
        return "Answer the question using a Python list."
    return ""


def _answer_at_end_hint(doc: dict) -> str:
    if doc["question_type"] == "multi_choice":
        return "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end."
    if doc["answer_type"] == "integer":
        return ("Hint: Please answer the question requiring an integer answer and provide the final value, "
                "e.g., 1, 2, 3, at the end.")
    if doc["answer_type"] == "float" and doc["precision"] in _FLOAT_PLACES:
        places = doc["precision"]
        return (f"Hint: Please answer the question requiring a floating-point number with {_FLOAT_PLACES[places]} "
                f"and provide the final value, e.g., {_FLOAT_EXAMPLES[places]}, at the end.")
    if doc["answer_type"] == "list":
        return ("Hint: Please answer the question requiring a Python list as an answer and provide the final list, "
                "e.g., [1, 2, 3], [1.2, 1.3, 1.4], at the end.")
    return ""


def _choices(doc: dict, variant: str) -> str:
    choices = option_list(doc["choices"], "column 'choices'") if doc["choices"] is not None else []
    if not choices:
        return ""
    if variant == "format":
        return render_options(choices)
    return "\n".join(["Choices:", *(f"({chr(65 + i)}) {choice}" for i, choice in enumerate(choices))])


def doc_to_text(doc: dict, task) -> str:
    variant = task.name.rsplit("_", 1)[-1]
    if variant not in ("format", "cot", "solution"):
        raise OvEvalError(f"task '{task.name}': the MathVista hooks need a name ending in _format, _cot or _solution")
    unit = f" (Unit: {doc['unit']})" if doc["unit"] else ""
    question = doc["question"] + unit if variant == "format" else f"Question: {doc['question']}{unit}"
    hint = _direct_hint(doc) if variant == "format" else _answer_at_end_hint(doc)
    parts = [question, _choices(doc, variant), hint, "Solution: " if variant == "solution" else ""]
    return "\n".join(part for part in parts if part).strip()
