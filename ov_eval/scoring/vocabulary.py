"""The task vocabulary, generated: every filter step, target transform, metric and aggregation a task YAML can
name, with the first paragraph of its docstring (`python -m ov_eval --list-vocabulary`; the README's table)."""
from __future__ import annotations

import inspect
from typing import Any, Callable, get_args

from ov_eval.config import TargetSpec
from ov_eval.scoring import registry

TARGET_TRANSFORMS = {
    "none": "The target field's value as it is.",
    "index_to_letter": "An option index 0, 1, 2, ... as the letter A, B, C, ...",
}


# Task keys that change how documents are read (the schema in ov_eval/config.py checks their types)
READING_KEYS = [
    ("visual.optional", "true",
     "A document whose image fields hold no image is generated text-only (mixed text/image benchmarks); without it "
     "(default false) such a document is an error of its own, never generated."),
    ("target.options_field", "COLUMN or [COLUMNS]",
     "The options an index_to_letter target counts in: a list column, or one column per option (default "
     "prompt.options_field); an index outside them is that document's error."),
]


def summary(fn: Callable[..., Any]) -> str:
    """The first paragraph of a function's docstring on one line."""
    doc = inspect.getdoc(fn) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def vocabulary_table() -> str:
    """A markdown table: YAML key, name, one line on what it does."""
    registry.load_builtins()
    transforms = get_args(TargetSpec.model_fields["transform"].annotation)
    rows = [("`filter.steps`", name, summary(fn)) for name, fn in sorted(registry.FILTERS.items())]
    rows += [("`target.transform`", name, TARGET_TRANSFORMS[name]) for name in transforms]
    rows += [(f"`{key}`", name, text) for key, name, text in READING_KEYS]
    rows += [("`metrics[].metric`", name, summary(fn)) for name, fn in sorted(registry.METRICS.items())]
    rows += [("`metrics[].aggregation`", name, summary(fn)) for name, fn in sorted(registry.AGGREGATIONS.items())]
    lines = ["| key | name | what it does |", "| --- | --- | --- |"]
    lines += [f"| {key} | `{name}` | {text.replace('|', '/')} |" for key, name, text in rows]
    return "\n".join(lines)
