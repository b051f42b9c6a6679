"""ScienceQA prompt: an optional context line, the question, the lettered choices and the letter instruction."""
from ov_eval.data.doc_values import option_list
from ov_eval.task import render_options


def doc_to_text(doc: dict) -> str:
    context = f"Context: {doc['hint']}\n" if doc["hint"] else ""
    choices = option_list(doc["choices"], "column 'choices'")
    return (f"{context}{doc['question']}\n{render_options(choices)}"
            "\nAnswer with the option's letter from the given choices directly.")
