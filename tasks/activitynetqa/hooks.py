"""ActivityNetQA prompt: str.capitalize() (the rest lower-cased) + "?" + the single-word-or-phrase tail."""


def doc_to_text(doc: dict) -> str:
    return doc["question"].capitalize() + "?" + " Answer the question using a single word or phrase."
