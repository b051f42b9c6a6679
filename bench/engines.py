"""The two generation engines of the OneVision adapter on one fixed mixed workload: transformers vs vLLM.

    python bench/engines.py [--checkpoint tiny|0.5b-random|PATH] [--scale 0.7] [--max_new_tokens 16]
                            [--batch_sizes 1 4 8] [--max_num_seqs 16 1] [--device cpu|cuda] [--dtype auto]
                            [--workers 1] [--python .venv-vllm/bin/python]

Run it with the project's .venv (it builds the checkpoint there); each engine run is a child process of the vLLM
environment (--python), so both engines use the same torch and transformers and each start-up and peak memory
is its own. The workload is bench/throughput.py's (`build_workload`: single images of ten sizes up to 2000x2000,
2-3-image samples, 32-frame videos, interleaved; --scale 0.7 gives 67 samples). Outputs are greedy and stop as
they would in a real run (no forced lengths), so output tokens/s counts the tokens really generated.

Per run: start-up (loading the adapter; for vLLM also exporting the language model, the first time, and starting
the engine), wall time of the generation stage (`run_requests`: prefetching workers, then batches of
--batch_size for transformers, the streaming feed for vLLM), samples/s, output tokens/s, peak RSS of the process
tree (sampled; vLLM's engine runs in child processes) and, on CUDA, the main process's peak allocated GPU memory
(vLLM reserves --gpu_memory_utilization of the GPU on top). Then the vLLM/transformers(best batch) ratio, the
share of identical outputs against transformers at batch 1, and vLLM's batch invariance across --max_num_seqs.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"


# ---- child: one engine ----------------------------------------------------------------------------------------
def child(args: argparse.Namespace) -> None:
    import torch

    sys.path.insert(0, str(REPO / "bench"))
    from memory import TreePeakRss
    from throughput import build_workload
    from ov_eval.generate import run_requests
    from ov_eval.models.onevision import OneVisionAdapter
    from ov_eval.types import GenerationSettings

    if args.device == "cpu":
        torch.set_num_threads(1)  # as bench/throughput.py: the media worker needs the other core
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens)
    results = {"runs": []}
    with tempfile.TemporaryDirectory(prefix="ov_eval-bench-engines-") as tmp, TreePeakRss() as rss:
        requests = build_workload(args.scale, Path(tmp), settings)
        model_args = {"pretrained": args.checkpoint_path, "dtype": args.dtype}
        if args.child == "vllm":
            model_args.update(engine="vllm", max_num_seqs=str(args.max_num_seqs[0]))
        start = time.perf_counter()
        adapter = OneVisionAdapter(model_args, device=args.device)
        results["startup_s"] = time.perf_counter() - start
        results["startup_rss"] = rss.peak
        results["describe"] = {k: v for k, v in adapter.describe().items() if k != "model_args"}
        warm = [requests[0]]
        list(run_requests(adapter, warm, 1, 0))
        batch_sizes = args.batch_sizes if args.child == "transformers" else [1]
        for batch_size in batch_sizes:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            responses = sorted(run_requests(adapter, requests, batch_size, args.workers), key=lambda r: r.doc_id)
            wall = time.perf_counter() - start
            errors = [r.error for r in responses if r.error]
            if errors:
                raise SystemExit(f"bench: {len(errors)} samples failed, first: {errors[0]}")
            results["runs"].append({
                "batch_size": batch_size if args.child == "transformers" else None, "wall_s": wall,
                "texts": [r.text for r in responses], "output_tokens": sum(r.output_tokens for r in responses),
                "gpu_peak": torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None})
        results["peak_rss"] = rss.peak
        results["samples"] = len(requests)
    print("ENGINE_RESULT " + json.dumps(results))


# ---- parent: the comparison ---------------------------------------------------------------------------------------
def run_child(args: argparse.Namespace, engine: str, checkpoint: Path, cache: Path, max_num_seqs: int = 16) -> dict:
    command = [str(args.python), __file__, "--child", engine, "--checkpoint_path", str(checkpoint),
               "--scale", str(args.scale), "--max_new_tokens", str(args.max_new_tokens), "--device", args.device,
               "--dtype", args.dtype, "--workers", str(args.workers), "--max_num_seqs", str(max_num_seqs),
               "--batch_sizes", *map(str, args.batch_sizes)]
    env = dict(os.environ, OV_EVAL_LM_CACHE=str(cache), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    label = engine if engine == "transformers" else f"vllm max_num_seqs={max_num_seqs}"
    print(f"running {label} ...", flush=True)
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("ENGINE_RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"bench: the {label} run failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("ENGINE_RESULT "))


def identical(a: list[str], b: list[str]) -> str:
    return f"{sum(x == y for x, y in zip(a, b))}/{len(a)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="tiny", help="tiny, 0.5b-random or a checkpoint folder")
    parser.add_argument("--scale", type=float, default=0.7, help="workload size: 64/16/16 samples x scale")
    parser.add_argument("--max_new_tokens", type=int, default=16)
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 4, 8], help="transformers engine")
    parser.add_argument("--max_num_seqs", type=int, nargs="+", default=[16, 1],
                        help="vLLM engine runs; the first is compared with transformers, the rest for invariance")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="auto", help="auto (fp16 on CUDA, fp32 on CPU), bfloat16, float32")
    parser.add_argument("--workers", type=int, default=1, help="media workers (default 1: 2-core machine)")
    parser.add_argument("--python", type=Path, default=VLLM_PYTHON, help="the vLLM environment's python")
    parser.add_argument("--child", choices=["transformers", "vllm"], help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint_path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    sys.path.insert(0, str(REPO / "bench"))
    from throughput import checkpoint_path

    with tempfile.TemporaryDirectory(prefix="ov_eval-bench-") as tmp:
        checkpoint = checkpoint_path(args.checkpoint, Path(tmp))
        transformers = run_child(args, "transformers", checkpoint, Path(tmp) / "lm")
        vllm_runs = [run_child(args, "vllm", checkpoint, Path(tmp) / "lm", n) for n in args.max_num_seqs]
    n = transformers["samples"]
    gib = 1024 ** 3
    print(f"\ncheckpoint {args.checkpoint} on {args.device}, {transformers['describe']['dtype']}; {n} samples, "
          f"up to {args.max_new_tokens} new tokens each, {args.workers} media workers; "
          f"vLLM {vllm_runs[0]['describe'].get('vllm_version')}")
    print(f"{'engine':<28} {'start-up s':>10} {'wall s':>7} {'samples/s':>9} {'out tok/s':>9} {'peak RSS':>9} "
          f"{'peak GPU':>9} {'same as tf b1':>13}")
    reference = transformers["runs"][0]["texts"]
    rows = [(f"transformers batch {run['batch_size']}", transformers, run) for run in transformers["runs"]]
    rows += [(f"vllm max_num_seqs={seqs}", result, result["runs"][0]) for seqs, result in zip(args.max_num_seqs,
                                                                                              vllm_runs)]
    for name, result, run in rows:
        gpu = f"{run['gpu_peak'] / gib:.2f} GiB" if run["gpu_peak"] is not None else "-"
        print(f"{name:<28} {result['startup_s']:>10.1f} {run['wall_s']:>7.2f} {n / run['wall_s']:>9.2f} "
              f"{run['output_tokens'] / run['wall_s']:>9.1f} {result['peak_rss'] / gib:>5.2f} GiB {gpu:>9} "
              f"{identical(reference, run['texts']):>13}")
    best = min(transformers["runs"], key=lambda run: run["wall_s"])
    main_vllm = vllm_runs[0]["runs"][0]
    print(f"\nvLLM (max_num_seqs={args.max_num_seqs[0]}) / transformers (best: batch {best['batch_size']}): "
          f"{best['wall_s'] / main_vllm['wall_s']:.2f}x samples/s")
    print(f"identical outputs, vLLM vs transformers batch 1: {identical(reference, main_vllm['texts'])}; "
          f"transformers batch {best['batch_size']} vs batch 1: {identical(reference, best['texts'])}")
    for seqs, result in zip(args.max_num_seqs[1:], vllm_runs[1:]):
        print(f"batch invariance, vLLM max_num_seqs={seqs} vs {args.max_num_seqs[0]}: "
              f"{identical(main_vllm['texts'], result['runs'][0]['texts'])} identical")


if __name__ == "__main__":
    main()
