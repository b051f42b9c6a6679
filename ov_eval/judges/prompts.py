"""Versioned judge prompts (files in prompts/) and the judge kinds built on them (prompt + verdict parser).

A prompt file is TOML: name, version, provenance, reference, reference_model, system, temperature,
max_tokens and template. In the template `{{field}}` is a placeholder and everything else is literal text,
so a reference prompt can be pasted in verbatim (braces, LaTeX and dict literals need no escaping).
"""
from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any, Callable, Mapping

from ov_eval.errors import OvEvalError, did_you_mean
from ov_eval.judges import verdicts

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_KEYS = {"name", "version", "provenance", "reference", "reference_model", "system", "temperature",
         "max_tokens", "template"}


class JudgeInputError(OvEvalError):
    """An item cannot be rendered into a judge prompt (unknown kind, missing or unexpected fields)."""


@dataclass(frozen=True)
class JudgePrompt:
    name: str
    version: str
    provenance: str
    reference: str
    reference_model: str
    system: str
    temperature: float
    max_tokens: int
    template: str

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(_PLACEHOLDER.findall(self.template))

    def render(self, fields: Mapping[str, str]) -> list[dict[str, str]]:
        """The chat messages for one item; every placeholder needs a field and every field a placeholder."""
        missing, extra = self.fields - fields.keys(), fields.keys() - self.fields
        if missing or extra:
            raise JudgeInputError(f"judge prompt {self.name}: missing fields {sorted(missing)}, "
                                  f"unexpected fields {sorted(extra)}")
        user = _PLACEHOLDER.sub(lambda m: str(fields[m.group(1)]), self.template)
        system = [{"role": "system", "content": self.system}] if self.system else []
        return system + [{"role": "user", "content": user}]


@dataclass(frozen=True)
class JudgeKind:
    name: str
    prompt_name: str
    parse: Callable[[str], Any]

    @property
    def prompt(self) -> JudgePrompt:
        return load_prompt(self.prompt_name)


def _kinds(*entries: tuple[str, str, Callable[[str], Any]]) -> dict[str, JudgeKind]:
    return {name: JudgeKind(name, prompt, parse) for name, prompt, parse in entries}


# Kinds sharing a prompt share cache entries (the key is the rendered request), and parse the raw reply their way.
JUDGE_KINDS: dict[str, JudgeKind] = _kinds(
    ("mathvista_extract", "mathvista_extract", verdicts.parse_extraction),
    ("mathverse_extract", "mathverse_extract", verdicts.parse_extraction),
    ("mathverse_judgement", "mathverse_judgement", verdicts.parse_binary_judgement),
    ("activitynetqa", "activitynetqa", verdicts.parse_qa_verdict),
    ("activitynetqa_corrected", "activitynetqa", verdicts.parse_qa_verdict_corrected),
    ("videochatgpt_correctness", "videochatgpt_correctness", verdicts.parse_score_dict),
    ("videochatgpt_detail", "videochatgpt_detail", verdicts.parse_score_dict),
    ("videochatgpt_context", "videochatgpt_context", verdicts.parse_score_dict),
    ("videochatgpt_temporal", "videochatgpt_temporal", verdicts.parse_score_dict),
    ("videochatgpt_consistency", "videochatgpt_consistency", verdicts.parse_score_dict),
    ("mmvet_grade", "mmvet_grade", verdicts.parse_mmvet_grade),
    ("llava_wild_review", "llava_wild_review", verdicts.parse_review_scores),
    ("mmbench_match", "mmbench_match", verdicts.parse_option_letter),
)


def judge_kind(name: str) -> JudgeKind:
    try:
        return JUDGE_KINDS[name]
    except KeyError:
        raise JudgeInputError(f"unknown judge kind '{name}'{did_you_mean(name, JUDGE_KINDS)}") from None


@functools.lru_cache(maxsize=None)
def load_prompt(name: str) -> JudgePrompt:
    resource = resources.files("ov_eval.judges").joinpath("prompts").joinpath(f"{name}.toml")
    where = f"ov_eval/judges/prompts/{name}.toml"
    try:
        data = tomllib.loads(resource.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise JudgeInputError(f"no judge prompt file {where}") from None
    except tomllib.TOMLDecodeError as exc:
        raise JudgeInputError(f"{where}: {exc}") from None
    if set(data) != _KEYS:
        raise JudgeInputError(f"{where}: missing keys {sorted(_KEYS - set(data))}, "
                              f"unknown keys {sorted(set(data) - _KEYS)}")
    if data["name"] != name:
        raise JudgeInputError(f"{where}: name is '{data['name']}', expected '{name}'")
    try:
        return JudgePrompt(**{**data, "temperature": float(data["temperature"]), "max_tokens": int(data["max_tokens"])})
    except (TypeError, ValueError) as exc:
        raise JudgeInputError(f"{where}: {exc}") from None
