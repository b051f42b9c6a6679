"""Running several samples as one generation batch, with the same greedy outputs as one sample at a time.

- `batching_order` / `split_batches` / `restore_order`: the order a runner feeds samples in (one settings group at a
  time, longest first so a batch pads little) and the way back to the original order.
- `left_pad`: inputs_embeds rows left-padded, with the attention mask and the position ids each row has alone.
- `use_unpadded_sdpa`: the language model's attention runs row by row over each row's own tokens. With a padding
  mask, sdpa takes other kernels (and GQA paths) than without one and sums over the padded keys, so a padded row
  would differ in the last bits from the same row alone; row by row the attention is bitwise that of a batch of 1.

What stays batch-dependent: a GEMM's rounding can depend on its row count M. The last-position lm_head and every
decode step run with M = rows in the batch, and CPU MKL sgemm gives other last bits for M <= 2..5 (tiny model)
or any M < 16 (Qwen2-0.5B widths, one thread) than for larger M; GPU GEMMs pick kernels by M too. So logits can
differ in the last bits from a batch of one (about 1e-5 on the tiny model); greedy text differs only if the top
two logits are that close. tests/test_batching.py checks the text, and the prefill hidden states bit for bit.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Protocol, TypeVar

import torch
from transformers import AttentionInterface, PreTrainedModel
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, flash_attention_mask

T = TypeVar("T")
UNPADDED_SDPA = "ov_eval_unpadded_sdpa"


class Batchable(Protocol):
    @property
    def generation(self) -> Hashable: ...

    @property
    def input_tokens(self) -> int: ...


def batching_order(samples: Sequence[Batchable]) -> list[int]:
    """Indices of `samples` grouped by generation settings (groups in first-seen order), longest input first
    within a group; ties keep their original order."""
    groups: dict[Hashable, list[int]] = {}
    for index, sample in enumerate(samples):
        groups.setdefault(sample.generation, []).append(index)
    return [i for members in groups.values() for i in sorted(members, key=lambda i: -samples[i].input_tokens)]


def split_batches(samples: Sequence[Batchable], order: Sequence[int], batch_size: int) -> list[list[int]]:
    """Consecutive runs of `order`, at most `batch_size` long, never mixing generation settings."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    batches: list[list[int]] = []
    for index in order:
        last = batches[-1] if batches else None
        if last and len(last) < batch_size and samples[last[0]].generation == samples[index].generation:
            last.append(index)
        else:
            batches.append([index])
    return batches


def restore_order(results: Sequence[T], order: Sequence[int]) -> list[T]:
    """`results[k]` belongs to sample `order[k]`: put them back in the samples' original order."""
    if sorted(order) != list(range(len(results))):
        raise ValueError(f"order is not a permutation of {len(results)} results")
    restored: list[Any] = [None] * len(results)
    for result, index in zip(results, order):
        restored[index] = result
    return restored


def left_pad(rows: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(length_i, D) rows -> inputs_embeds (B, L, D) padded on the left with zeros, attention mask (B, L) and
    position ids (B, L) that count 0.. from each row's first real token (0 on padding)."""
    length = max(len(row) for row in rows)
    first = rows[0]
    embeds = first.new_zeros(len(rows), length, first.shape[-1])
    mask = torch.zeros(len(rows), length, dtype=torch.long, device=first.device)
    positions = torch.zeros(len(rows), length, dtype=torch.long, device=first.device)
    for i, row in enumerate(rows):
        start = length - len(row)
        embeds[i, start:] = row
        mask[i, start:] = 1
        positions[i, start:] = torch.arange(len(row), device=first.device)
    return embeds, mask, positions


def trim_at_stop(tokens: Sequence[int], stop_ids: Sequence[int]) -> list[int]:
    """Generated tokens up to (not including) the first stop token; padding after a finished row goes too."""
    trimmed = []
    for token in tokens:
        if token in stop_ids:
            break
        trimmed.append(token)
    return trimmed


def unpadded_sdpa_attention(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                            attention_mask: torch.Tensor | None, **kwargs: Any) -> tuple[torch.Tensor, None]:
    """sdpa for left-padded rows: each row alone over its own keys, the very call a batch of one makes (prefill:
    causal over the row's tokens; decode: its one query over its cache). Padded query positions get zeros."""
    if attention_mask is None:  # no padding in this batch (transformers drops an all-ones mask)
        return sdpa_attention_forward(module, query, key, value, None, **kwargs)
    q_length, kv_length = query.shape[2], key.shape[2]
    if q_length not in (1, kv_length):
        raise NotImplementedError("unpadded sdpa handles a whole prefill or one decode step, not chunked prefill")
    output = query.new_zeros(query.shape[0], q_length, query.shape[1], value.shape[-1])
    for row, start in enumerate((kv_length - attention_mask[:, -kv_length:].sum(-1)).tolist()):
        if start == kv_length:
            continue
        q_start = max(0, start - (kv_length - q_length))
        alone, _ = sdpa_attention_forward(module, query[row:row + 1, :, q_start:], key[row:row + 1, :, start:],
                                          value[row:row + 1, :, start:], None, **kwargs)
        output[row, q_start:] = alone[0]
    return output, None


def use_unpadded_sdpa(model: PreTrainedModel) -> bool:
    """Switch the language model from sdpa to `unpadded_sdpa_attention`; other implementations are kept
    (flash_attention_2 already un-pads; eager needs its mask for causality). True when switched."""
    text_config = model.config.get_text_config()
    if text_config._attn_implementation != "sdpa":
        return False
    AttentionInterface.register(UNPADDED_SDPA, unpadded_sdpa_attention)
    AttentionMaskInterface.register(UNPADDED_SDPA, flash_attention_mask)  # the 2D mask, or None without padding
    model.set_attn_implementation({"text_config": UNPADDED_SDPA})
    return True
