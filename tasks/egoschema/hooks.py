"""EgoSchema prompt: the question, each option on its own line as stored (they already start with `A. `), then
the option-letter tail."""
from ov_eval.data.doc_values import option_list


def doc_to_text(doc: dict) -> str:
    options = "".join(f"\n{option}" for option in option_list(doc["option"], "column 'option'"))
    return f"{doc['question']}{options}\nAnswer with the option's letter from the given choices directly."
