"""NExT-QA multiple choice: the stripped question, then `A. a0` ... `E. a4` (stripped), no tail."""


def doc_to_text(doc: dict) -> str:
    options = "\n".join(f"{letter}. {str(doc[f'a{i}']).strip()}" for i, letter in enumerate("ABCDE"))
    return f"{doc['question'].strip()}\n{options}"
