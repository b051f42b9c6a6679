"""MMBench prompt: "{hint} {question} There are several options:" with one "L. text" line per present option."""
from ov_eval.scoring.benchmarks import mmbench_hint, mmbench_options


def doc_to_text(doc: dict) -> str:
    hint = mmbench_hint(doc)
    block = "There are several options:" + "".join(f"\n{k}. {v}" for k, v in mmbench_options(doc).items())
    question = f"{hint} {doc['question']}" if hint is not None else doc["question"]
    return f"{question} {block}\n\nAnswer with the option's letter from the given choices directly."
