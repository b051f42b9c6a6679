"""Samples/s of `--model openai_compatible` against a local `transformers serve` of the tiny checkpoint.

    python bench/serving.py [--concurrency 1 4 16] [--max_frames_num 4] [--threads 2]

Workload: every document of the demo tasks (30 samples: chart, colours, counts, shapes and 4 videos), with the
demo tasks' own prompts and generation settings (16 new tokens at most), media decoded and encoded as in a run.
The server (started here, model preloaded, on the CPU) and the client share the machine; each concurrency level
runs the whole workload once after one warm-up pass, through ov_eval.generate.run_requests (no journal, no
scoring). `transformers serve` without continuous batching answers one request at a time, so concurrency buys
only the overlap of client-side image encoding and HTTP with generation; vLLM or SGLang batch concurrent requests.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the server fixture lives with the tests

from served_model import serve  # noqa: E402
from ov_eval.generate import run_requests  # noqa: E402
from ov_eval.models.openai_compatible import OpenAICompatibleAdapter  # noqa: E402
from ov_eval.models.tiny import write_tiny_checkpoint  # noqa: E402
from ov_eval.registry import task_index  # noqa: E402
from ov_eval.task import Task  # noqa: E402

DEMO_TASKS = ["demo_chart", "demo_colours", "demo_counts", "demo_shapes", "demo_video"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--max_frames_num", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the server")
    args = parser.parse_args()
    index = task_index()
    tasks = [Task.load(index.tasks[name]) for name in DEMO_TASKS]
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = write_tiny_checkpoint(Path(tmp) / "ckpt")
        with serve(checkpoint, Path(tmp) / "server.log", threads=args.threads) as server:
            print(f"transformers serve of the tiny checkpoint on {server.url}; {os.cpu_count()} CPU cores")
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
