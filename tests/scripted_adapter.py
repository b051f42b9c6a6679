"""A weights-free adapter for runs whose point is the data path, not the model (`--model scripted_adapter:Scripted`).

It answers `OV_TEST_ANSWER` (default "A") to every sample and appends one line per generated sample to
`OV_TEST_CALL_LOG`: the prompt's first line and how many images and videos reached the model.
"""
from __future__ import annotations

import os
from typing import Any

from ov_eval.types import Generation, ModelInput


class Scripted:
    max_frames_num = 4
    video_decode_backend = "pyav"

    def __init__(self, model_args: dict[str, str], batch_size: int = 1, device: Any = None) -> None:
        self.answer = os.environ.get("OV_TEST_ANSWER", "A")
        self.identity = f"scripted:{self.answer}"

    def prepare(self, item: ModelInput) -> ModelInput:
        return item

    def generate(self, batch: list[ModelInput]) -> list[Generation]:
        with open(os.environ["OV_TEST_CALL_LOG"], "a", encoding="utf-8") as log:
            for item in batch:
                log.write(f"{item.text.splitlines()[0]}\timages={len(item.images)}\tvideos={len(item.videos)}\n")
        return [Generation(self.answer, len(item.text), 1, 0) for item in batch]

    def describe(self) -> dict[str, Any]:
        return {"model": "scripted", "answer": self.answer}
