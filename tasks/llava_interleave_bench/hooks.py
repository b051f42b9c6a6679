"""Interleave-Bench multi-view: the conversation as json.dumps (", " / ": " separators, non-ASCII escaped); the
adapter's template unrolls it into alternating turns (docs/scoring_rules.md §0.2 step 3)."""
import json


def doc_to_text(doc: dict) -> str:
    return json.dumps([{"from": turn["from"], "value": turn["value"]} for turn in doc["conversations"]])
