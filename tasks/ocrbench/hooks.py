"""OCRBench prompt: the question, stripped, with no instruction added."""


def doc_to_text(doc: dict) -> str:
    return doc["question"].strip()
