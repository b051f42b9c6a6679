"""Samples/s of `--model openai_compatible` against a local server of the tiny checkpoint.

    python bench/serving.py [--server transformers|vllm] [--concurrency 1 4 16] [--max_frames_num 4] [--threads 2]

Workload: every document of the demo tasks (30 samples: chart, colours, counts, shapes and 4 videos), with the
demo tasks' own prompts and generation settings (16 new tokens at most), media decoded and encoded as in a run.
The server (started here, model preloaded, on the CPU) and the client share the machine; each concurrency level
runs the whole workload once after one warm-up pass, through ov_eval.generate.run_requests (no journal, no
scoring). `transformers serve` without continuous batching answers one request at a time, so concurrency buys
only the overlap of client-side image encoding and HTTP with generation; vLLM batches concurrent requests
(`--server vllm` runs it from its own environment, `make vllm-serve-env`, and prints its start-up seconds too).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the server fixture lives with the tests

from served_model import serve, serve_vllm, vllm_serve_python  # noqa: E402
from ov_eval.generate import run_requests  # noqa: E402
from ov_eval.models.openai_compatible import OpenAICompatibleAdapter  # noqa: E402
from ov_eval.models.tiny import write_tiny_checkpoint  # noqa: E402
from ov_eval.registry import task_index  # noqa: E402
from ov_eval.task import Task  # noqa: E402

DEMO_TASKS = ["demo_chart", "demo_colours", "demo_counts", "demo_shapes", "demo_video"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["transformers", "vllm"], default="transformers")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--max_frames_num", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the server")
    args = parser.parse_args()
    index = task_index()
    tasks = [Task.load(index.tasks[name]) for name in DEMO_TASKS]
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = write_tiny_checkpoint(Path(tmp) / "ckpt")
        log = Path(tmp) / "server.log"
        if args.server == "vllm":
            python = vllm_serve_python()
            if not python.is_file():
                raise SystemExit(f"no vLLM server environment at {python}: run `make vllm-serve-env`")
            server_context = serve_vllm(python, checkpoint, log, threads=args.threads)
        else:
            server_context = serve(checkpoint, log, threads=args.threads)
        with server_context as server:
            print(f"{args.server} server of the tiny checkpoint on {server.url}; {os.cpu_count()} CPU cores; "
                  f"ready {server.startup_s:.1f} s after its start (first request answered)")
            print("| concurrency | samples | seconds | samples/s | errors |\n|---:|---:|---:|---:|---:|")
            for warm_up, concurrency in [(True, args.concurrency[0])] + [(False, c) for c in args.concurrency]:
                adapter = OpenAICompatibleAdapter({"model": server.model, "base_url": server.url,
                                                   "max_concurrency": str(concurrency),
                                                   "max_frames_num": str(args.max_frames_num)}, env={})
                requests = [task.request(i, task.generation({}), adapter.identity)
                            for task in tasks for i in task.doc_ids(None)]
                start = time.perf_counter()
                responses = list(run_requests(adapter, requests, batch_size=1, workers=2))
                seconds = time.perf_counter() - start
                errors = sum(r.error is not None for r in responses)
                if warm_up:
                    continue
                print(f"| {concurrency} | {len(responses)} | {seconds:.1f} | {len(responses) / seconds:.2f} | "
                      f"{errors} |")


if __name__ == "__main__":
    main()
