"""MME prompt: the stripped question without its yes/no instruction, then the single-word instruction."""


def doc_to_text(doc: dict) -> str:
    question = doc["question"].strip().replace(" Please answer yes or no.", "")
    return f"{question}\nAnswer the question using a single word or phrase."
