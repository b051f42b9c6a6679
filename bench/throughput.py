"""End-to-end generation throughput: a reference-style loop against ov_eval's prefetching, batched pipeline.

    python bench/throughput.py [--checkpoint tiny|0.5b-random|PATH] [--scale S] [--max_new_tokens 16]
                               [--batch_sizes 4 8 16] [--workers N] [--device cpu|cuda] [--dtype auto]
                               [--attn sdpa] [--threads N] [--peak_tflops T]

Workload (built by code, fixed; --scale multiplies the counts): 64 single images of mixed sizes (384x384 up to
2000x2000, PNG bytes in memory), 16 multi-image samples (2-3 images each) and 16 videos (mp4 files written with
PyAV to a temp folder, 32 frames sampled from each), interleaved in a fixed order. Decoding is real.
Every sample generates exactly --max_new_tokens tokens (the stop tokens are suppressed with transformers'
`min_new_tokens`, injected by this script around the model's `generate`; the adapter is unchanged), so random
weights cost what trained ones would. All runs use the same loaded checkpoint, in one process:

  (a) naive      the reference harness's way: per sample decode + preprocess inline, then generate, batch 1
  (b0) inline    `run_requests` at batch 1 with workers=0 (media stage inline): preprocess + model, serially
  (b) prefetch   `run_requests` at batch 1 with --workers background media workers
  (c) batched    `run_requests` with workers at each of --batch_sizes; the best is reported as (c)

Per run: samples/s, "model busy" (time inside adapter.generate / wall), peak RSS (sampled) and, on CUDA, peak
allocated GPU memory. Then b/a and c/a, and the overlap check: (b)'s wall time against (b0)'s preprocessing time
(wall minus model time, all of it decode + prepare) plus (b0)'s model time. Finally a compute-roofline estimate:
FLOPs per sample from token and parameter counts (2 x params x tokens for the language model's prefill and
decode plus causal attention, 2 x params x 729 plus attention per vision tile), against the device's dense
bf16/fp16 peak (known for a few GPUs, else --peak_tflops). "same texts" compares each run's outputs with (a)'s.
--checkpoint tiny builds the tiny test checkpoint (CPU-sized); 0.5b-random builds the real 0.5B architecture
(SigLIP SO400M 26 layers + Qwen2-0.5B) with random weights, ~1.8 GB in a temp folder: meant for GPUs.
On a 2-core CPU, `--checkpoint tiny --scale 0.5` takes about 2.5 minutes; the tiny model's time goes mostly to
attention over 6-7k visual tokens, so preprocessing is a small share there and batching buys little.
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from memory import PeakRss
from ov_eval.data.media import decode_image, decode_video
from ov_eval.generate import run_requests
from ov_eval.models.onevision import OneVisionAdapter
from ov_eval.types import GenerationSettings, MediaRef, ModelInput, Request

IMAGE_SIZES = [(384, 384), (640, 480), (1024, 899), (1300, 900), (2000, 500), (800, 1200), (1920, 1080),
               (500, 375), (2000, 2000), (1146, 1377)]
MULTI_SIZES = [(640, 480), (480, 640), (300, 200), (1024, 768)]
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "H800": 989.0, "GH200": 989.0, "A100": 312.0, "A800": 312.0,
                    "L40S": 362.0, "L4": 121.0, "A10G": 70.0}  # dense tensor-core bf16/fp16, SXM where it varies


# ---- workload ---------------------------------------------------------------------------------------------------
def _png(width: int, height: int, seed: int) -> bytes:
    """A smooth picture with some noise (PNG decode cost like a photo's, not like a flat or a pure-noise image)."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (max(height // 64, 2), max(width // 64, 2), 3), dtype=np.uint8))
    pixels = np.asarray(coarse.resize((width, height), Image.BILINEAR), dtype=np.int16)
    pixels = np.clip(pixels + rng.integers(-8, 9, pixels.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _mp4(path: Path, n_frames: int, seed: int, width: int = 320, height: int = 240) -> None:
    import av

    rng = np.random.default_rng(seed)
    base = np.asarray(Image.fromarray(rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)).resize(
        (width * 2, height), Image.BILINEAR))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=8)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for t in range(n_frames):
            shift = int(width * t / n_frames)
            frame = np.ascontiguousarray(base[:, shift:shift + width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def build_workload(scale: float, folder: Path, settings: GenerationSettings) -> list[Request]:
    n_single, n_multi, n_video = (round(n * scale) for n in (64, 16, 16))
    if n_single + n_multi + n_video == 0:
        raise SystemExit(f"bench: --scale {scale} leaves no samples (64/16/16 x scale, rounded)")
    pngs: dict[tuple[int, int, int], bytes] = {}

    def image(size: tuple[int, int], index: int) -> MediaRef:
        key = (*size, index % 3)  # a few distinct pictures per size keep building the workload quick
        if key not in pngs:
            pngs[key] = _png(size[0], size[1], seed=hash(key) % 2**32)
        return MediaRef("image", {"bytes": pngs[key], "path": None}, f"bench image {size[0]}x{size[1]}")

    samples = [("Describe this image in detail.", (image(IMAGE_SIZES[i % len(IMAGE_SIZES)], i),))
               for i in range(n_single)]
    samples += [("What differs between these pictures?",
                 tuple(image(MULTI_SIZES[(i + j) % len(MULTI_SIZES)], i + j) for j in range(2 + i % 2)))
                for i in range(n_multi)]
    for i in range(n_video):
        path = folder / f"video{i}.mp4"
        _mp4(path, n_frames=48 + 8 * (i % 3), seed=i)
        samples.append(("What happens in this video?", (MediaRef("video", str(path), path.name),)))
    order = np.random.default_rng(0).permutation(len(samples))  # interleave kinds, the same way every time
    return [Request("bench", int(k), samples[i][0], samples[i][1], settings, key=str(k))
            for k, i in enumerate(order)]


# ---- measurement ------------------------------------------------------------------------------------------------
@dataclass
class Flops:
    """Per-token and per-tile forward FLOPs of the loaded model, from its parameter counts and config."""

    lm_layer_params: int
    lm_head_params: int
    lm_layers: int
    lm_attn_width: int
    vision_params: int  # everything in the tower but the position-embedding lookup, plus the projector
    vision_layers: int
    vision_width: int
    vision_tokens: int

    @staticmethod
    def of(model: torch.nn.Module) -> "Flops":
        core = model.model
        text, vision = model.config.text_config, model.config.vision_config
        count = lambda params: sum(p.numel() for p in params)  # noqa: E731
        tower = count(p for n, p in core.vision_tower.named_parameters() if "position_embedding" not in n)
        head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
        return Flops(count(core.language_model.layers.parameters()), model.lm_head.weight.numel(),
                     text.num_hidden_layers, text.num_attention_heads * head_dim,
                     tower + count(core.multi_modal_projector.parameters()), vision.num_hidden_layers,
                     vision.hidden_size, (vision.image_size // vision.patch_size) ** 2)

    def sample(self, input_tokens: int, output_tokens: int, tiles: int) -> float:
        decode_steps = max(output_tokens - 1, 0)
        lm = 2 * self.lm_layer_params * (input_tokens + decode_steps) + 2 * self.lm_head_params * output_tokens
        lm += 2 * self.lm_layers * self.lm_attn_width * input_tokens ** 2  # causal QK^T and AV in the prefill
        lm += 4 * self.lm_layers * self.lm_attn_width * (input_tokens * decode_steps + decode_steps ** 2 / 2)
        vision = 2 * self.vision_params * self.vision_tokens + 4 * self.vision_layers * self.vision_width * \
            self.vision_tokens ** 2
        return lm + tiles * vision


class Meter:
    """Times adapter.generate (instance attribute, so run_requests calls it), adds up FLOPs, and makes every sample
    generate exactly max_new_tokens tokens (min_new_tokens = max_new_tokens around the model's generate)."""

    def __init__(self, adapter: OneVisionAdapter) -> None:
        self.flops_model = Flops.of(adapter.model)
        self.output_lengths: set[int] = set()
        self.visual_bytes: list[int] = []  # per sample, as its prepared visuals wait in the prefetch queue
        self.reset()
        inner_generate, model_generate = adapter.generate, adapter.model.generate

        def timed_generate(batch: list) -> list:
            start = time.perf_counter()
            generations = inner_generate(batch)
            self.model_seconds += time.perf_counter() - start
            for sample, generation in zip(batch, generations):
                tiles = sum(len(v.pixels) for v in sample.visuals)
                self.visual_bytes.append(sum(v.pixels.nbytes for v in sample.visuals))
                self.flops += self.flops_model.sample(generation.input_tokens, generation.output_tokens, tiles)
                self.output_lengths.add(generation.output_tokens)
            return generations

        def fixed_length_generate(**kwargs):
            return model_generate(**kwargs, min_new_tokens=kwargs["max_new_tokens"])

        adapter.generate = timed_generate
        adapter.model.generate = fixed_length_generate

    def reset(self) -> None:
        self.model_seconds, self.flops = 0.0, 0.0


@dataclass
class RunResult:
    name: str
    wall: float
    model: float
    texts: list[str]
    flops: float
    rss: int
    gpu: int | None
    prepare: float | None = None  # measured preprocessing time, where the run has it apart


def naive_loop(adapter: OneVisionAdapter, requests: list[Request]) -> tuple[list[str], float]:
    """The reference harness's shape: decode and preprocess a sample, generate it, next sample."""
    texts, prepare_seconds = [], 0.0
    for request in requests:
        start = time.perf_counter()
        images = [decode_image(ref) for ref in request.media if ref.kind == "image"]
        videos = [decode_video(ref, adapter.max_frames_num, adapter.video_decode_backend)
                  for ref in request.media if ref.kind == "video"]
        prepared = adapter.prepare(ModelInput(request.text, tuple(images), tuple(videos), request.generation))
        prepare_seconds += time.perf_counter() - start
        texts.append(adapter.generate([prepared])[0].text)
    return texts, prepare_seconds


def measure(name: str, meter: Meter, device: torch.device, work) -> RunResult:
    meter.reset()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
    with PeakRss() as rss:
        start = time.perf_counter()
        texts, prepare = work()
        wall = time.perf_counter() - start
    gpu = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return RunResult(name, wall, meter.model_seconds, texts, meter.flops, rss.peak, gpu, prepare)


def pipeline_run(adapter: OneVisionAdapter, requests: list[Request], batch_size: int, workers: int):
    def work():
        responses = sorted(run_requests(adapter, requests, batch_size, workers), key=lambda r: r.doc_id)
        errors = [r.error for r in responses if r.error]
        if errors:
            raise SystemExit(f"bench: {len(errors)} samples failed, first: {errors[0]}")
        return [r.text for r in responses], None
    return work


# ---- report -----------------------------------------------------------------------------------------------------
def peak_tflops(device: torch.device, dtype: torch.dtype, given: float | None) -> tuple[float | None, str]:
    if given:
        return given, "--peak_tflops"
    if device.type != "cuda":
        return None, "CPU: unknown, give --peak_tflops"
    name = torch.cuda.get_device_name(device)
    if dtype not in (torch.bfloat16, torch.float16):
        return None, f"{name}, {dtype}: not a bf16/fp16 tensor-core peak, give --peak_tflops"
    for key in sorted(PEAK_BF16_TFLOPS, key=len, reverse=True):
        if key in name:
            return PEAK_BF16_TFLOPS[key], f"{name}, dense bf16/fp16"
    return None, f"{name}: unknown, give --peak_tflops"


def report(runs: list[RunResult], n: int, peak: tuple[float | None, str], batch_label: str) -> None:
    naive = runs[0]
    gib = 1024 ** 3
    print(f"\n{'run':<26} {'wall s':>7} {'samples/s':>9} {'model busy':>10} {'peak RSS':>9} {'peak GPU':>9} "
          f"{'same texts':>10}")
    for run in runs:
        gpu = f"{run.gpu / gib:.2f} GiB" if run.gpu is not None else "-"
        same = "yes" if run.texts == naive.texts else \
            f"{sum(a == b for a, b in zip(run.texts, naive.texts))}/{n}"
        print(f"{run.name:<26} {run.wall:>7.2f} {n / run.wall:>9.2f} {run.model / run.wall:>10.0%} "
              f"{run.rss / gib:>5.2f} GiB {gpu:>9} {same:>10}")
    inline, prefetch, batched = runs[1], runs[2], min(runs[3:], key=lambda r: r.wall)
    print(f"\nb/a (prefetch, batch 1 vs naive):      {naive.wall / prefetch.wall:.2f}x")
    print(f"c/a (prefetch, {batch_label:<22} vs naive): {naive.wall / batched.wall:.2f}x  [best: {batched.name}]")
    preprocess = inline.wall - inline.model
    serial = preprocess + inline.model
    hidden = serial - prefetch.wall
    print(f"\noverlap, batch 1: workers off: preprocessing {preprocess:.2f} s + model {inline.model:.2f} s = "
          f"{serial:.2f} s (naive loop measured preprocessing {naive.prepare:.2f} s + model {naive.model:.2f} s)")
    print(f"                  workers on:  wall {prefetch.wall:.2f} s, {hidden:.2f} s below that sum "
          f"(all preprocessing hidden would be {preprocess:.2f} s): "
          f"{'below' if prefetch.wall < serial else 'NOT below'} the workers-off sum")
    value, source = peak
    flops = naive.flops / n
    print(f"\nroofline estimate: {flops / 1e12:.3f} TFLOP per sample (mean), peak {source}"
          + (f" = {value:.0f} TFLOPS" if value else ""))
    for run in runs:
        achieved = run.flops / run.wall / 1e12
        fraction = f"{achieved / value:.2%} of peak" if value else "fraction unknown"
        print(f"  {run.name:<26} {achieved:8.3f} TFLOPS achieved ({fraction}); "
              f"{run.flops / max(run.model, 1e-9) / 1e12:.3f} TFLOPS while the model is busy")


# ---- main -------------------------------------------------------------------------------------------------------
def checkpoint_path(checkpoint: str, folder: Path) -> Path:
    """--checkpoint: tiny (built here), 0.5b-random (built here, ~1.8 GB) or a checkpoint folder."""
    if checkpoint == "tiny":
        from ov_eval.models.tiny import write_tiny_checkpoint
        return write_tiny_checkpoint(folder / "tiny", seed=0)
    if checkpoint == "0.5b-random":
        from ov_eval.models.sizes import write_random_0_5b_checkpoint
        start = time.perf_counter()
        path = write_random_0_5b_checkpoint(folder / "random-0.5b", seed=0)
        print(f"built the random 0.5B checkpoint in {time.perf_counter() - start:.0f} s")
        return path
    return Path(checkpoint)


def load_adapter(args: argparse.Namespace, folder: Path) -> OneVisionAdapter:
    path = checkpoint_path(args.checkpoint, folder)
    return OneVisionAdapter({"pretrained": str(path), "dtype": args.dtype, "attn_implementation": args.attn},
                            device=args.device)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="tiny", help="tiny, 0.5b-random or a checkpoint folder")
    parser.add_argument("--scale", type=float, default=None,
                        help="multiplies the workload's sample counts (default 1, or 0.5 on a CPU so a run "
                             "stays under 3 minutes)")
    parser.add_argument("--max_new_tokens", type=int, default=16, help="every sample generates exactly this many")
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--workers", type=int, default=max(1, min(8, (os.cpu_count() or 2) - 1)),
                        help="media workers for (b) and (c); default: the CPUs but one (the model's), at most 8")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="auto", help="auto (fp16 on CUDA, fp32 on CPU), bfloat16, float16, float32")
    parser.add_argument("--attn", default="sdpa", help="attn_implementation: sdpa, flash_attention_2, eager")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads; default 1 on CPU (small models: more threads are slower, and the "
                             "media workers need the other cores), torch's default on CUDA")
    parser.add_argument("--peak_tflops", type=float, default=None, help="device peak for the roofline estimate")
    args = parser.parse_args(argv)
    threads = args.threads if args.threads is not None else (1 if args.device == "cpu" else 0)
    if threads:
        torch.set_num_threads(threads)
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens)
    if args.scale is None:
        args.scale = 0.5 if args.device == "cpu" else 1.0
    with tempfile.TemporaryDirectory(prefix="ov_eval-bench-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        requests = build_workload(args.scale, folder, settings)
        built = time.perf_counter() - start
        adapter = load_adapter(args, folder)
        device = adapter.device
        meter = Meter(adapter)
        kinds = [("video" if r.media[0].kind == "video" else "multi" if len(r.media) > 1 else "single")
                 for r in requests]
        where = torch.cuda.get_device_name(device) if device.type == "cuda" else \
            f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs"
        print(f"checkpoint {args.checkpoint} on {device} ({where}), {adapter.dtype}, attn {args.attn}; "
              f"workload: {len(requests)} samples ({kinds.count('single')} single "
              f"image, {kinds.count('multi')} multi-image, {kinds.count('video')} video x {adapter.max_frames_num} "
              f"frames; built in {built:.1f} s), {args.max_new_tokens} new tokens each, {args.workers} workers")
        naive_loop(adapter, [requests[kinds.index(k)] for k in dict.fromkeys(kinds)])  # warm-up, one of each kind
        runs = [measure("(a) naive loop", meter, device, lambda: (*naive_loop(adapter, requests),)),
                measure("(b0) batch 1, workers off", meter, device, pipeline_run(adapter, requests, 1, 0)),
                measure(f"(b) batch 1, {args.workers} workers", meter, device,
                        pipeline_run(adapter, requests, 1, args.workers))]
        for batch_size in args.batch_sizes:
            runs.append(measure(f"(c) batch {batch_size}, {args.workers} workers", meter, device,
                                pipeline_run(adapter, requests, batch_size, args.workers)))
        if meter.output_lengths != {args.max_new_tokens}:
            print(f"warning: output lengths {sorted(meter.output_lengths)} are not all {args.max_new_tokens}")
        report(runs, len(requests), peak_tflops(device, adapter.dtype, args.peak_tflops),
               f"batch {'/'.join(map(str, args.batch_sizes))}")
        held = meter.visual_bytes
        print(f"\nprepared visuals as they wait in the prefetch queue: mean {np.mean(held) / 2**20:.1f} MiB, largest "
              f"{max(held) / 2**20:.1f} MiB per sample (uint8 tiles, normalised to float32 at the vision tower; "
              f"up to max(2 x batch size, 4) samples wait)")
        print(f"\nprocess peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2:.2f} GiB")


if __name__ == "__main__":
    main()
