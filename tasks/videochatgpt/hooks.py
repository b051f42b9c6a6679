"""VideoChatGPT Consistency: question_1 unless it is the string "None", else question_2."""


def doc_to_text(doc: dict) -> str:
    return doc["question_1"] if doc["question_1"] != "None" else doc["question_2"]
