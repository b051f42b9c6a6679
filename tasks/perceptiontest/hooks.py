"""PerceptionTest MC prompt: options labelled A, B, C (any option past the third is also labelled C, as in the
reference), then the option-letter tail."""


def doc_to_text(doc: dict) -> str:
    lines = [f"{'ABC'[min(i, 2)]}. {option}" for i, option in enumerate(doc["options"])]
    return "\n".join([doc["question"], *lines]) + "\nAnswer with the option's letter from the given choices directly."
