"""Conversation templates, built as exact strings (the tokenizer's chat template differs from the published one)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from ov_eval.errors import OvEvalError, did_you_mean

IMAGE_PLACEHOLDER = "<image>"


@dataclass(frozen=True)
class ChatTemplate:
    system: str | None  # full system block, or None
    user: str  # format with {text}
    assistant: str  # format with {text}
    generation_prefix: str


TEMPLATES = {
    "qwen_1_5": ChatTemplate(
        system="<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n",
        user="<|im_start|>user\n{text}<|im_end|>\n",
        assistant="<|im_start|>assistant\n{text}<|im_end|>\n",
        generation_prefix="<|im_start|>assistant\n",
    ),
}
TEMPLATES["qwen_2"] = TEMPLATES["qwen_1_5"]


def get_template(name: str) -> ChatTemplate:
    if name not in TEMPLATES:
        raise OvEvalError(f"--model_args: unknown conv_template '{name}'{did_you_mean(name, TEMPLATES)}; "
                          f"known: {', '.join(TEMPLATES)}")
    return TEMPLATES[name]


def with_placeholders(text: str, n_visuals: int) -> str:
    """Texts that already hold placeholders keep them; otherwise one per visual, space-joined, then a newline."""
    if IMAGE_PLACEHOLDER in text or n_visuals == 0:
        return text
    return " ".join([IMAGE_PLACEHOLDER] * n_visuals) + "\n" + text


def _turns(text: str) -> list[str]:
    """A JSON conversation (interleaved multi-view tasks) unrolls into alternating turns; anything else is one turn."""
    try:
        data = json.loads(text)
    except ValueError:
        return [text]
    if not (isinstance(data, list) and data and all(isinstance(t, dict) and "value" in t for t in data)):
        return [text]
    if len(data) % 2 == 0:
        raise OvEvalError("a JSON conversation must have an odd number of turns (it must end with the user)")
    return [str(turn["value"]) for turn in data]


def build_prompt(template: ChatTemplate, text: str, n_visuals: int) -> str:
    turns = _turns(with_placeholders(text, n_visuals))
    parts = [template.system or ""]
    for index, turn in enumerate(turns):
        parts.append((template.user if index % 2 == 0 else template.assistant).format(text=turn))
    parts.append(template.generation_prefix)
    return "".join(parts)
