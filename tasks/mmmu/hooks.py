"""MMMU prompt (multiple choice or open) and the image columns its `<image k>` tags name."""
import re

from ov_eval.data.doc_values import literal_option_list
from ov_eval.task import render_options

_IMAGE_TAG = re.compile(r"<image (\d+)>")


def doc_to_text(doc: dict) -> str:
    if doc["question_type"] == "multiple-choice":
        options = render_options(literal_option_list(doc["options"], "column 'options'"))
        return f"{doc['question']}\n{options}\n\nAnswer with the option's letter from the given choices directly."
    return f"{doc['question']}\n\nAnswer the question using a single word or phrase."


def doc_to_visual(doc: dict) -> list[str]:
    numbers = sorted(set(_IMAGE_TAG.findall(doc["question"] + doc["options"])))  # the tags' string order
    return [f"image_{n}" for n in numbers]
