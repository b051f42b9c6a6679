"""Generation throughput on the tiny checkpoint at batch sizes 1 and 8, and where the time goes.

    python bench/batching.py [--samples 32] [--batch-sizes 1 8] [--max-new-tokens 16] [--threads 1]

A fixed mixed workload (single images of several sizes, image pairs, 4-frame videos, text-only prompts) is
prepared once (that CPU work runs in background workers in a real run, so it is timed apart), then generated
at each batch size in arrival order and, for batches above 1, also longest-first (`batching_order`).
"outside generate" is the share of the adapter's wall time not spent inside `model.generate`: vision tower,
packing, embedding, padding, decoding text. Every configuration is checked to give the batch-of-one texts.
The tiny model is all overhead and no arithmetic, so these figures say little about a real model on a GPU.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ov_eval.models.batching import batching_order, restore_order, split_batches
from ov_eval.models.onevision import OneVisionAdapter
from ov_eval.models.tiny import write_tiny_checkpoint
from ov_eval.types import Generation, GenerationSettings, ModelInput


def _image(width: int, height: int, rng: np.random.Generator) -> Image.Image:
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def workload(n: int, settings: GenerationSettings) -> list[ModelInput]:
    rng = np.random.default_rng(0)
    kinds = [
        lambda: ModelInput("Describe the image.", (_image(384, 384, rng),), generation=settings),
        lambda: ModelInput("What is written here?", (_image(640, 480, rng),), generation=settings),
        lambda: ModelInput("Read the poster.", (_image(1300, 900, rng),), generation=settings),
        lambda: ModelInput("Compare them.", (_image(300, 200, rng), _image(200, 300, rng)), generation=settings),
        lambda: ModelInput("What happens?", videos=(rng.integers(0, 256, (4, 240, 320, 3), dtype=np.uint8),),
                           generation=settings),
        lambda: ModelInput("hi", generation=settings),
        lambda: ModelInput("A longer text-only question about nothing in particular. " * 4, generation=settings),
        lambda: ModelInput("Tall", (_image(200, 700, rng),), generation=settings),
    ]
    return [kinds[i % len(kinds)]() for i in range(n)]


class GenerateTimer:
    """Wraps `model.generate` to add up the seconds spent inside it."""

    def __init__(self, adapter: OneVisionAdapter) -> None:
        self.seconds = 0.0
        self._generate = adapter.model.generate
        adapter.model.generate = self

    def __call__(self, **kwargs):
        start = time.perf_counter()
        try:
            return self._generate(**kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def run(adapter: OneVisionAdapter, timer: GenerateTimer, prepared: list, batch_size: int,
        sort: bool) -> tuple[list[Generation], float, float]:
    order = batching_order(prepared) if sort else list(range(len(prepared)))
    batches = split_batches(prepared, order, batch_size)
    timer.seconds = 0.0
    start = time.perf_counter()
    generations = [g for batch in batches for g in adapter.generate([prepared[i] for i in batch])]
    wall = time.perf_counter() - start
    return restore_order(generations, [i for batch in batches for i in batch]), wall, timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (tiny tensors: 1 is fastest)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        adapter = OneVisionAdapter({"pretrained": str(write_tiny_checkpoint(Path(folder) / "ckpt", seed=0))})
    timer = GenerateTimer(adapter)
    items = workload(args.samples, GenerationSettings(max_new_tokens=args.max_new_tokens))
    start = time.perf_counter()
    prepared = [adapter.prepare(item) for item in items]
    prepare_seconds = time.perf_counter() - start
    tokens = [p.input_tokens for p in prepared]
    print(f"tiny checkpoint, {args.samples} samples (input tokens {min(tokens)}..{max(tokens)}, mean "
          f"{np.mean(tokens):.0f}), max_new_tokens {args.max_new_tokens}, {torch.get_num_threads()} thread(s), "
          f"{adapter.model.config.text_config._attn_implementation}")
    print(f"prepare (CPU workers in a real run, not below): {prepare_seconds / len(prepared) * 1000:.1f} ms/sample")
    run(adapter, timer, prepared[:2], 2, sort=False)  # warm-up
    print(f"{'batch':>5}  {'order':>14}  {'seconds':>7}  {'samples/s':>9}  {'s/sample':>8}  {'outside generate':>16}  "
          f"{'same texts':>10}")
    reference = None
    for batch_size in args.batch_sizes:
        for sort in ([False, True] if batch_size > 1 else [False]):
            generations, wall, inside = run(adapter, timer, prepared, batch_size, sort)
            reference = reference or generations
            same = "yes" if generations == reference else "NO"
            print(f"{batch_size:>5}  {'longest first' if sort else 'arrival':>14}  {wall:>7.2f}  "
                  f"{len(prepared) / wall:>9.2f}  {wall / len(prepared):>8.3f}  {(wall - inside) / wall:>16.0%}  "
                  f"{same:>10}")


if __name__ == "__main__":
    main()
