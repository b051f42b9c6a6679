"""Batched generation on the tiny checkpoint gives what each sample gets alone; the batching order round-trips."""
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ov_eval.errors import OvEvalError
from ov_eval.models.batching import (UNPADDED_SDPA, batching_order, left_pad, restore_order, split_batches,
                                     trim_at_stop)
from ov_eval.models.onevision import OneVisionAdapter
from ov_eval.models.tiny import write_tiny_checkpoint
from ov_eval.types import GenerationSettings, ModelInput

SETTINGS = GenerationSettings(max_new_tokens=10)


def image(width: int, height: int, seed: int) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def mixed_inputs() -> list[ModelInput]:
    video = np.random.default_rng(7).integers(0, 256, (4, 240, 320, 3), dtype=np.uint8)
    return [
        ModelInput("Describe the image.", (image(384, 384, 1),), generation=SETTINGS),
        ModelInput("hi", generation=SETTINGS),
        ModelInput("What is unusual here?", (image(640, 480, 2),), generation=SETTINGS),
        ModelInput("Compare the two pictures.", (image(300, 200, 3), image(200, 300, 4)), generation=SETTINGS),
        ModelInput("What happens in this video?", videos=(video,), generation=SETTINGS),
        ModelInput("A long text-only question that goes on and on, " * 6, generation=SETTINGS),
        ModelInput("Read the poster.", (image(1300, 900, 5),), generation=SETTINGS),  # 3x4 tiles, downsampled
        ModelInput("Tall one", (image(200, 700, 6),), generation=SETTINGS),
        ModelInput("Which differs? <image> or <image>", (image(500, 500, 8), image(64, 48, 9)), generation=SETTINGS),
        ModelInput("Why?", generation=SETTINGS),
        ModelInput("Tiny", (image(50, 60, 10),), generation=SETTINGS),
        ModelInput("Summarise the clip in one sentence, please.", videos=(video[::-1].copy(),), generation=SETTINGS),
        ModelInput("Name three colours you might see in a photograph of a park.", generation=SETTINGS),
    ]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny tensors: one thread is fastest, and two OpenMP threads on a busy machine are many times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def adapter(tmp_path_factory) -> OneVisionAdapter:
    checkpoint = write_tiny_checkpoint(tmp_path_factory.mktemp("batching") / "ckpt", seed=0)
    return OneVisionAdapter({"pretrained": str(checkpoint)})


@pytest.fixture(scope="module")
def prepared(adapter):
    return [adapter.prepare(item) for item in mixed_inputs()]


@pytest.fixture(scope="module")
def one_at_a_time(adapter, prepared):
    return [adapter.generate([sample])[0] for sample in prepared]


def in_batches(adapter, samples, batch_size: int):
    return [g for start in range(0, len(samples), batch_size)
            for g in adapter.generate(samples[start:start + batch_size])]


def test_one_at_a_time_counts(prepared, one_at_a_time):
    assert [g.image_tokens for g in one_at_a_time] == [1485, 0, 2929, 1458, 785, 0, 7295, 1593, 1458, 0, 1377,
                                                       785, 0]
    assert [g.input_tokens for g in one_at_a_time] == [s.input_tokens for s in prepared]
    assert all(0 < g.output_tokens <= 10 for g in one_at_a_time)


@pytest.mark.parametrize("batch_size", [4, 3, 13])
def test_batched_generation_equals_batch_of_one(adapter, prepared, one_at_a_time, batch_size):
    assert in_batches(adapter, prepared, batch_size) == one_at_a_time


def test_batched_longest_first_order_equals_batch_of_one(adapter, prepared, one_at_a_time):
    order = batching_order(prepared)
    batches = split_batches(prepared, order, 4)
    generations = [g for batch in batches for g in adapter.generate([prepared[i] for i in batch])]
    assert restore_order(generations, [i for batch in batches for i in batch]) == one_at_a_time


def test_rows_stopping_at_different_steps(adapter, prepared, monkeypatch):
    # Random weights rarely say <|im_end|>: stop on frequent characters as well, so rows finish at different steps
    # and finished rows carry padding while the others go on.
    extra = [adapter.tokenizer.convert_tokens_to_ids(c) for c in "%Qg"]
    monkeypatch.setattr(adapter.engine, "stop_ids", [adapter.stop_ids[0], *extra, adapter.stop_ids[-1]])
    alone = [adapter.generate([sample])[0] for sample in prepared]
    assert len({g.output_tokens for g in alone}) > 2 and min(g.output_tokens for g in alone) < 10
    assert in_batches(adapter, prepared, 4) == alone


def test_prefill_hidden_states_are_bitwise_those_of_a_batch_of_one(adapter, prepared):
    assert adapter.model.config.text_config._attn_implementation == UNPADDED_SDPA
    language_model = adapter.model.model.language_model
    rows = [row for row, _ in adapter._embed_batch(prepared[:5])]
    with torch.inference_mode():
        embeds, mask, positions = left_pad(rows)
        batched = language_model(inputs_embeds=embeds, attention_mask=mask, position_ids=positions).last_hidden_state
        for i, row in enumerate(rows):
            alone = language_model(inputs_embeds=row[None]).last_hidden_state[0]
            assert torch.equal(batched[i, -len(row):], alone)


def with_gemm_rows_at_least(rows: int, linear: torch.nn.Linear) -> None:
    """Run `linear` with zero rows appended up to `rows`: every small GEMM then has the same row count."""
    def forward(x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        padded = torch.cat([flat, flat.new_zeros(max(0, rows - len(flat)), flat.shape[-1])])
        return F.linear(padded, linear.weight, linear.bias)[:len(flat)].reshape(*x.shape[:-1], -1)
    linear.forward = forward


def test_only_the_gemm_row_count_separates_batched_logits_from_a_batch_of_one(tmp_path, prepared):
    # Batched logits differ from a batch of one in the last bits because small GEMMs (the last-position lm_head,
    # every decode step) round differently for M = 1 and M = batch rows. With that row count fixed, every logit of
    # every step is bitwise equal: padding reaches no reduction, positions and masks are right.
    adapter = OneVisionAdapter({"pretrained": str(write_tiny_checkpoint(tmp_path / "ckpt", seed=0))})
    for module in [*adapter.model.model.language_model.modules(), adapter.model.lm_head]:
        if isinstance(module, torch.nn.Linear):
            with_gemm_rows_at_least(64, module)
    logits: list[torch.Tensor] = []
    adapter.model.lm_head.register_forward_hook(lambda module, args, output: logits.append(output[:, -1].clone()))
    samples = prepared[:7]
    alone = []
    for sample in samples:
        adapter.generate([sample])
        alone.append(torch.cat(logits))
        logits.clear()
    for start in range(0, len(samples), 4):
        batch = samples[start:start + 4]
        adapter.generate(batch)
        steps = torch.stack(logits, dim=1)
        logits.clear()
        for row, sample_logits in enumerate(alone[start:start + 4]):
            assert torch.equal(steps[row, :len(sample_logits)], sample_logits)


def test_prepared_pixels_are_c_contiguous(prepared):
    # A transposed array would reach the vision tower's convolution in channels-last layout when a sample is alone
    # and in C order when concatenated with others: other kernels, other rounding, batch-dependent features.
    assert all(v.pixels.flags["C_CONTIGUOUS"] for sample in prepared for v in sample.visuals)


def test_a_batch_mixing_settings_is_refused(adapter):
    items = [ModelInput("a", generation=SETTINGS), ModelInput("b", generation=GenerationSettings(max_new_tokens=3))]
    with pytest.raises(OvEvalError, match="mixes generation settings"):
        adapter.generate([adapter.prepare(item) for item in items])


def test_left_pad_masks_and_positions():
    rows = [torch.ones(2, 3), torch.full((4, 3), 2.0), torch.full((1, 3), 3.0)]
    embeds, mask, positions = left_pad(rows)
    assert embeds[:, :, 0].tolist() == [[0, 0, 1, 1], [2, 2, 2, 2], [0, 0, 0, 3]]
    assert mask.tolist() == [[0, 0, 1, 1], [1, 1, 1, 1], [0, 0, 0, 1]]
    assert positions.tolist() == [[0, 0, 0, 1], [0, 1, 2, 3], [0, 0, 0, 0]]


def test_trim_at_stop():
    assert trim_at_stop([5, 6, 9, 7, 9, 9], stop_ids=[9, 8]) == [5, 6]
    assert trim_at_stop([5, 6], stop_ids=[9]) == [5, 6]
    assert trim_at_stop([8, 5], stop_ids=[9, 8]) == []


@dataclass(frozen=True)
class Item:
    name: str
    generation: str
    input_tokens: int


ITEMS = [Item("a", "short", 10), Item("b", "long", 50), Item("c", "short", 30), Item("d", "long", 70),
         Item("e", "short", 30), Item("f", "short", 5), Item("g", "long", 50)]


def test_batching_order_groups_by_settings_then_longest_first():
    order = batching_order(ITEMS)
    assert "".join(ITEMS[i].name for i in order) == "ceafdbg"
    assert order == [2, 4, 0, 5, 3, 1, 6]


def test_batching_order_round_trips():
    order = batching_order(ITEMS)
    results = [ITEMS[i].name.upper() for i in order]
    assert restore_order(results, order) == ["A", "B", "C", "D", "E", "F", "G"]
    assert restore_order([], []) == []
    with pytest.raises(ValueError, match="not a permutation"):
        restore_order(["x", "y"], [0, 0])


def test_split_batches_never_mixes_settings():
    order = batching_order(ITEMS)
    assert split_batches(ITEMS, order, 3) == [[2, 4, 0], [5], [3, 1, 6]]
    assert split_batches(ITEMS, order, 2) == [[2, 4], [0, 5], [3, 1], [6]]
    with pytest.raises(ValueError, match="at least 1"):
        split_batches(ITEMS, order, 0)
