"""MMStar prompt: the stripped question, then the letter instruction without a final period."""


def doc_to_text(doc: dict) -> str:
    return doc["question"].strip() + "\nAnswer with the option's letter from the given choices directly"
