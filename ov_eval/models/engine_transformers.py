"""The transformers engine: one greedy, left-padded `generate` call per batch on the transformers model.

Each row is computed as it is alone, up to GEMM rounding (see `ov_eval.models.batching`), so greedy outputs match
a batch of one.
"""
from __future__ import annotations

from typing import Any

import torch
from transformers import PreTrainedModel

from ov_eval.models.batching import left_pad, trim_at_stop, use_unpadded_sdpa
from ov_eval.types import GenerationSettings


class TransformersEngine:
    name = "transformers"

    def __init__(self, model: PreTrainedModel, stop_ids: list[int]) -> None:
        self.model = model
        self.stop_ids = stop_ids
        use_unpadded_sdpa(model)

    def identity(self) -> list[Any]:
        return []  # today's journals keep their keys

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name}

    @torch.inference_mode()
    def generate(self, rows: list[torch.Tensor], settings: GenerationSettings) -> list[list[int]]:
        embeds, attention_mask, position_ids = left_pad(rows)
        output = self.model.generate(
            inputs_embeds=embeds, attention_mask=attention_mask, position_ids=position_ids,
            max_new_tokens=settings.max_new_tokens, do_sample=False, num_beams=1, temperature=None, top_p=None,
            top_k=None, eos_token_id=self.stop_ids, pad_token_id=self.stop_ids[-1], use_cache=True)
        return [trim_at_stop(generated, self.stop_ids) for generated in output.tolist()]
