"""What a full sweep costs: visual and text tokens of the 28 benchmarks, prefill FLOPs and wall time per model size.

    python bench/sweep_estimate.py [--gpus 8 64] [--prefill_mfu 0.4] [--decode_bw_efficiency 0.6] [--batch_size 1]
    python bench/sweep_estimate.py --groups   # the README's tables: one per sweep group, per benchmark

Nothing here is measured: there is no GPU run of a real checkpoint to take a throughput from, so the time comes
from a roofline. Sources of each figure:
- rows: each dataset's published row count (/work/shared/reference/datasets.md);
- visual tokens: the adapter's own counts (ov_eval.models.preprocess: anyres_image_token_count for one image,
  729 per image for several images (pad, no newline), video_token_count for 32 frames);
- images per sample, image sizes, prompt text and answer lengths: ASSUMED per task, written in WORKLOADS below;
- FLOPs: bench/throughput.py's Flops (2 x params x tokens for the language model, causal attention
  2 x layers x width x n^2 for the prefill; 2 x params x 729 plus attention per SigLIP tile or frame);
- device: H100 SXM, 989 TFLOP/s dense bf16 and 3.35 TB/s HBM3; prefill at --prefill_mfu of that peak (compute
  bound), each decode step reads every language-model weight once at --decode_bw_efficiency of the bandwidth
  (memory bound, --batch_size samples share a read), but no faster than a kernel-launch floor of 15 kernels per
  layer at 6 us each (eager transformers `generate`, ASSUMED; it dominates the small models' decode);
- layout: 0.5B and 7B one process per GPU; 72B (145 GB of bf16 weights) one process per 4 GPUs
  (gpus_per_process=4). device_map=auto runs a model's layers one GPU after the other, so such a process
  computes at one GPU's rate: 72B on G GPUs works like G/4 GPUs.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from throughput import PEAK_BF16_TFLOPS, Flops  # noqa: E402  (bench/ is the script's folder)

from ov_eval.models.preprocess import TILE_TOKENS, anyres_image_token_count, anyres_layout, video_token_count  # noqa: E402

H100_HBM_BYTES_PER_S = 3.35e12
KERNELS_PER_LAYER, LAUNCH_S = 15, 6e-6
TEMPLATE_TOKENS = 22  # qwen_1_5 system turn, user/assistant markers and the image placeholder line
VIDEO_FRAMES = 32  # max_frames_num, the published setting


@dataclass(frozen=True)
class Workload:
    task: str
    benchmark: str
    rows: int
    media: tuple  # ("image", (w, h)) one anyres image; ("images", n) n padded images; ("video", frames)
    question_tokens: int  # assumed mean text of the question, options, hints (subtitles for videomme_w_subtitle)
    answer_tokens: int  # assumed mean generated tokens, the stop token included

    def visual_tokens(self) -> int:
        kind, value = self.media
        if kind == "image":
            return anyres_image_token_count(*value)
        if kind == "images":
            return TILE_TOKENS * value
        return video_token_count(value)

    def vision_passes(self) -> int:
        """SigLIP forward passes of 729 patches: anyres base + grid tiles, one per padded image or frame."""
        kind, value = self.media
        if kind == "image":
            layout = anyres_layout(*value)
            return 1 + layout.rows * layout.cols
        return value

    def media_label(self) -> str:
        kind, value = self.media
        return {"image": lambda: f"1 image {value[0]}x{value[1]}", "images": lambda: f"{value} images, pad",
                "video": lambda: f"{value} frames"}[kind]()

    def text_tokens(self) -> int:
        return TEMPLATE_TOKENS + self.question_tokens


MCQ, SHORT = 2, 5
WORKLOADS = [  # image sizes: typical of each source (assumed); rows: published
    Workload("ai2d", "ai2d", 3088, ("image", (800, 600)), 70, MCQ),
    Workload("chartqa", "chartqa", 2500, ("image", (800, 600)), 30, SHORT),
    Workload("docvqa_val", "docvqa_val", 5349, ("image", (1700, 2200)), 30, 8),
    Workload("infovqa_val", "infovqa_val", 2801, ("image", (1000, 3000)), 30, 8),
    Workload("mme", "mme", 2374, ("image", (640, 480)), 30, MCQ),
    Workload("realworldqa", "realworldqa", 765, ("image", (1920, 1080)), 60, MCQ),
    Workload("mathvista_testmini_format", "mathvista_testmini", 1000, ("image", (600, 400)), 90, 10),
    Workload("mathvista_testmini_cot", "mathvista_testmini", 1000, ("image", (600, 400)), 90, 250),
    Workload("mathvista_testmini_solution", "mathvista_testmini", 1000, ("image", (600, 400)), 90, 250),
    Workload("llava_in_the_wild", "llava_in_the_wild", 60, ("image", (1024, 768)), 25, 250),
    Workload("mmvet", "mmvet", 218, ("image", (1024, 768)), 25, 80),
    Workload("mmbench_en_dev", "mmbench_en_dev", 4329, ("image", (512, 512)), 100, MCQ),
    Workload("ocrbench", "ocrbench", 1000, ("image", (800, 600)), 20, 10),
    Workload("mmmu_val", "mmmu_val", 837, ("image", (800, 600)), 120, MCQ),  # ~93% one image (assumed)
    Workload("mmmu_val", "mmmu_val", 63, ("images", 2), 120, MCQ),
    Workload("mathverse_testmini_vision_intensive", "mathverse_vision_intensive", 788, ("image", (600, 600)),
             120, 20),
    Workload("mathverse_testmini_vision_only", "mathverse_vision_only", 788, ("image", (600, 600)), 60, 20),
    Workload("seedbench", "seedbench", 14233, ("image", (640, 480)), 60, MCQ),  # image rows
    Workload("seedbench", "seedbench", 3757, ("images", 8), 60, MCQ),  # video rows: 8 frames (assumed)
    Workload("scienceqa_img", "scienceqa_img", 2017, ("image", (400, 300)), 100, MCQ),
    Workload("mmstar", "mmstar", 1500, ("image", (640, 480)), 90, MCQ),
    Workload("activitynetqa", "activitynetqa", 8000, ("video", VIDEO_FRAMES), 25, SHORT),
    Workload("videochatgpt_gen", "videochatgpt", 1996, ("video", VIDEO_FRAMES), 25, 120),
    Workload("videochatgpt_temporal", "videochatgpt", 499, ("video", VIDEO_FRAMES), 25, 120),
    Workload("videochatgpt_consistency", "videochatgpt", 998, ("video", VIDEO_FRAMES), 25, 120),
    Workload("video_dc499", "video_dc499", 499, ("video", VIDEO_FRAMES), 20, 250),
    Workload("nextqa_mc_test", "nextqa_mc_test", 8564, ("video", VIDEO_FRAMES), 70, MCQ),
    Workload("egoschema", "egoschema", 5031, ("video", VIDEO_FRAMES), 150, MCQ),
    Workload("videomme", "videomme", 2700, ("video", VIDEO_FRAMES), 120, MCQ),
    Workload("videomme_w_subtitle", "videomme_w_subtitle", 2700, ("video", VIDEO_FRAMES), 120 + 600, MCQ),
    Workload("perceptiontest_val_mc", "perceptiontest_val_mc", 19140, ("video", VIDEO_FRAMES), 50, MCQ),
    Workload("llava_interleave_bench_in_domain", "llava_interleave_bench", 12926, ("images", 4), 80, 10),
    Workload("llava_interleave_bench_out_domain", "llava_interleave_bench", 3360, ("images", 3), 80, 10),
    Workload("llava_interleave_bench_multi_view", "llava_interleave_bench", 22400, ("images", 6), 150, 10),
    Workload("muirbench", "muirbench", 2600, ("images", 4), 80, MCQ),  # 11,264 images over 2,600 questions
    Workload("mmmu_test", "mmmu_test", 9765, ("image", (800, 600)), 120, MCQ),  # ~93% one image (assumed)
    Workload("mmmu_test", "mmmu_test", 735, ("images", 2), 120, MCQ),
]


@dataclass(frozen=True)
class ModelSize:
    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    gpus_per_process: int

    def flops(self) -> Flops:
        head_dim = self.hidden // self.heads
        attention = self.hidden * head_dim * (self.heads * 2 + self.kv_heads * 2) + head_dim * (self.heads +
                                                                                               2 * self.kv_heads)
        layer = attention + 3 * self.hidden * self.intermediate + 2 * self.hidden
        tower = 26 * (4 * 1152 * 1152 + 2 * 1152 * 4304 + 13 * 1152) + 1152 * 588  # SigLIP SO400M less its last layer
        projector = 1152 * self.hidden + self.hidden * self.hidden
        return Flops(self.layers * layer, self.vocab * self.hidden, self.layers, self.hidden, tower + projector,
                     26, 1152, TILE_TOKENS)

    def language_bytes(self) -> float:
        flops = self.flops()
        return 2.0 * (flops.lm_layer_params + flops.lm_head_params)  # bf16


MODELS = [  # Qwen2 configurations of the three OneVision sizes
    ModelSize("0.5B", 896, 24, 14, 2, 4864, 151936, 1),
    ModelSize("7B", 3584, 28, 28, 4, 18944, 152064, 1),
    ModelSize("72B", 8192, 80, 64, 8, 29568, 152064, 4),
]


# Download sizes (GB) where a source gives them: the dataset repo's size on its hub page (ai2d, ChartQA, MME) or
# the archive sizes of /work/shared/reference/datasets.md (VideoChatGPT's videos.zip, which video_dc499 reads
# too, NExTQA's videos.zip); None: not known here (`ov_eval prepare` prints what it downloaded).
DOWNLOAD_GB = {"ai2d": 0.139, "chartqa": 0.073, "mme": 0.864, "videochatgpt_gen": 11.3, "nextqa_mc_test": 6.49}
SAME_VIDEOS = {"videochatgpt_temporal": "videochatgpt_gen", "videochatgpt_consistency": "videochatgpt_gen",
               "video_dc499": "videochatgpt_gen"}  # tasks reading another task's video archive
# LLM-judge calls per document: the judge kinds of each task's YAML; "up to": asked only when rules fail
JUDGE_CALLS = {"llava_in_the_wild": (1, ""), "mmvet": (1, ""), "mathvista_testmini": (1, "up to "),
               "mmbench_en_dev": (1, "up to "), "mathverse_vision_intensive": (2, ""),
               "mathverse_vision_only": (2, ""), "activitynetqa": (1, ""), "videochatgpt_gen": (3, ""),
               "videochatgpt_temporal": (1, ""), "videochatgpt_consistency": (1, ""), "video_dc499": (1, "")}
SWEEPS = ("onevision_image", "onevision_video", "onevision_interleave")


def process_seconds(model: ModelSize, workloads: list[Workload], args: argparse.Namespace) -> tuple[float, float, float]:
    """(prefill FLOPs, prefill seconds, decode seconds) of one process running `workloads`."""
    peak = PEAK_BF16_TFLOPS["H100"] * 1e12
    flops = model.flops()
    prefill = sum(w.rows * flops.sample(w.text_tokens() + w.visual_tokens(), 0, w.vision_passes()) for w in workloads)
    step_s = max(model.language_bytes() / (H100_HBM_BYTES_PER_S * args.decode_bw_efficiency),
                 model.layers * KERNELS_PER_LAYER * LAUNCH_S) / args.batch_size
    decode_s = sum(w.rows * max(w.answer_tokens - 1, 0) for w in workloads) * step_s
    return prefill, prefill / (peak * args.prefill_mfu), decode_s


def _size(gb: float | None) -> str:
    if gb is None:
        return "?"
    return f"{gb * 1000:.0f} MB" if gb < 1 else f"{gb:.1f} GB"


def group_tables(args: argparse.Namespace) -> str:
    """One Markdown table per sweep group: per task, documents, download, disk, judge calls, hours on 8 GPUs."""
    from ov_eval.registry import task_index

    index = task_index()
    out = []
    for group in SWEEPS:
        members = index.expand([group])
        rows = [w for w in WORKLOADS if w.task in members]
        tasks = list(dict.fromkeys(w.task for w in rows))
        out += [f"**{group}** ({len(tasks)} tasks; hours on 8 GPUs are ESTIMATES from a roofline, not measured; "
                "72B: 2 processes of 4 GPUs)", "",
                "| task | documents | download | disk | judge calls | 0.5B h | 7B h | 72B h |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        totals = [0, 0.0, 0.0, 0.0]
        for task in tasks:
            parts = [w for w in rows if w.task == task]
            documents = sum(w.rows for w in parts)
            download = DOWNLOAD_GB.get(task)
            calls, bound = JUDGE_CALLS.get(task, JUDGE_CALLS.get(parts[0].benchmark, (0, "")))
            hours = []
            for i, model in enumerate(MODELS):
                _, prefill_s, decode_s = process_seconds(model, parts, args)
                processes = 8 // model.gpus_per_process
                hours.append((prefill_s + decode_s) / processes / 3600)
                totals[i + 1] += hours[-1]
            totals[0] += documents
            sizes = ([f"{SAME_VIDEOS[task]}'s"] * 2 if task in SAME_VIDEOS
                     else [_size(download), _size(download and 2 * download)])
            out.append(f"| {task} | {documents} | {sizes[0]} | {sizes[1]} | "
                       f"{bound}{calls * documents if calls else 0} | " + " | ".join(f"{h:.2f}" for h in hours) + " |")
        out += [f"| **total** | {totals[0]} | | | | " + " | ".join(f"{h:.1f}" for h in totals[1:]) + " |", ""]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--prefill_mfu", type=float, default=0.4, help="share of the bf16 peak reached in prefill")
    parser.add_argument("--decode_bw_efficiency", type=float, default=0.6, help="share of HBM bandwidth in decode")
    parser.add_argument("--batch_size", type=int, default=1, help="samples sharing each decode step's weight read")
    parser.add_argument("--groups", action="store_true", help="print one Markdown table per sweep group")
    args = parser.parse_args(argv)
    if args.groups:
        print(group_tables(args), end="")
        return
    peak = PEAK_BF16_TFLOPS["H100"] * 1e12

    print(f"{'task':<36} {'media (assumed)':<20} {'rows':>6} {'visual/s':>8} {'text/s':>6} {'visual tok':>11} {'text tok':>9}")
    samples = visual = text = 0
    for w in WORKLOADS:
        samples += w.rows
        visual += w.rows * w.visual_tokens()
        text += w.rows * w.text_tokens()
        print(f"{w.task:<36} {w.media_label():<20} {w.rows:>6} {w.visual_tokens():>8} {w.text_tokens():>6} "
              f"{w.rows * w.visual_tokens() / 1e6:>10.1f}M {w.rows * w.text_tokens() / 1e6:>8.2f}M")
    benchmarks = len({w.benchmark for w in WORKLOADS})
    answers = sum(w.rows * w.answer_tokens for w in WORKLOADS)
    print(f"\n{benchmarks} benchmarks, {len({w.task for w in WORKLOADS})} tasks, {samples} samples: "
          f"{visual / 1e9:.2f}G visual + {text / 1e6:.1f}M text prompt tokens, {answers / 1e6:.2f}M generated\n")

    print(f"H100 SXM: {peak / 1e12:.0f} TFLOP/s dense bf16 at {args.prefill_mfu:.0%} in prefill; "
          f"{H100_HBM_BYTES_PER_S / 1e12:.2f} TB/s at {args.decode_bw_efficiency:.0%} in decode, batch "
          f"{args.batch_size}, launch floor {KERNELS_PER_LAYER} kernels x {LAUNCH_S * 1e6:.0f} us per layer")
    print(f"{'model':<6} {'prefill':>10} {'prefill':>9} {'decode':>9} {'one process':>11}  "
          + "  ".join(f"{g:>3} GPUs: procs  wall" for g in args.gpus))
    print(f"{'':<6} {'PFLOP':>10} {'proc-h':>9} {'proc-h':>9} {'samples/s':>11}")
    for model in MODELS:
        prefill, prefill_s, decode_s = process_seconds(model, WORKLOADS, args)
        process_s = prefill_s + decode_s  # one process computes at one GPU's rate, whatever its share of GPUs
        walls = []
        for gpus in args.gpus:
            processes = gpus // model.gpus_per_process
            walls.append(f"{processes:>13} {process_s / processes / 3600:>5.2f} h")
        print(f"{model.name:<6} {prefill / 1e15:>10.0f} {prefill_s / 3600:>9.1f} {decode_s / 3600:>9.1f} "
              f"{samples / process_s:>11.2f}  " + "  ".join(walls))
    print("\nsamples/s of one process (one GPU's rate; 72B: a process of 4 GPUs) over the whole sweep: from the "
          "roofline above, not from a measured run; wall = one process's time / processes (even shards)")


if __name__ == "__main__":
    main()
