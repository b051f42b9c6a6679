"""ScienceQA prompt: an optional context line, the question, the lettered choices and the letter instruction."""
from ov_eval.task import render_options


def doc_to_text(doc: dict) -> str:
    context = f"Context: {doc['hint']}\n" if doc["hint"] else ""
    return (f"{context}{doc['question']}\n{render_options(doc['choices'])}"
            "\nAnswer with the option's letter from the given choices directly.")
