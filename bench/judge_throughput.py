"""Judged samples per second against a loopback chat-completions server that answers in 50 ms.

    python bench/judge_throughput.py [--items 64] [--latency-ms 50] [--concurrency 1 8]

Each concurrency level starts from a fresh verdict cache; a last row re-runs the widest level on its warm
cache (every verdict a cache hit, no HTTP). The server runs in this process and shares its GIL, so figures
for concurrency much above 8 understate the client (about 300 items/s at 32 with the server in its own process).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the fake server is a test double

from fake_openai_server import FakeJudgeServer, completion  # noqa: E402
from ov_eval.judges import VerdictCache, judge_all  # noqa: E402
from ov_eval.openai_client import ChatClient  # noqa: E402


def _items(n: int) -> list[tuple[str, str, dict[str, str]]]:
    return [(f"doc{i}", "activitynetqa", {"question": f"what is the man doing in clip {i}",
                                           "answer": "surfing", "prediction": "he is surfing"}) for i in range(n)]


def _timed(items, client: ChatClient, cache: VerdictCache, concurrency: int):
    start = time.perf_counter()
    run = judge_all(items, client=client, cache=cache, concurrency=concurrency, progress=False)
    return run, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    items = _items(args.items)
    print(f"judge throughput: {args.items} items, loopback server latency {args.latency_ms:.0f} ms")
    print(f"{'concurrency':>11}  {'cache':>5}  {'seconds':>7}  {'items/s':>8}  {'http calls':>10}  {'judged':>6}")
    with FakeJudgeServer(lambda r: completion("{'pred': 'yes', 'score': 5}"),
                         latency_s=args.latency_ms / 1000) as server, tempfile.TemporaryDirectory() as tmp:
        client = ChatClient(api_key="sk-bench-not-a-key", base_url=server.url, env={})
        client.complete("warm-up", [{"role": "user", "content": "hi"}], temperature=0.0, max_tokens=1)
        for concurrency in args.concurrency:
            with VerdictCache(Path(tmp) / f"c{concurrency}.sqlite") as cache:
                run, seconds = _timed(items, client, cache, concurrency)
                print(f"{concurrency:>11}  {'cold':>5}  {seconds:>7.2f}  {len(items) / seconds:>8.1f}  "
                      f"{run.n_http_calls:>10}  {run.n_judged:>6}")
        with VerdictCache(Path(tmp) / f"c{args.concurrency[-1]}.sqlite") as cache:
            run, seconds = _timed(items, client, cache, args.concurrency[-1])
            print(f"{args.concurrency[-1]:>11}  {'warm':>5}  {seconds:>7.2f}  {len(items) / seconds:>8.1f}  "
                  f"{run.n_http_calls:>10}  {run.n_judged:>6}")
        client.close()


if __name__ == "__main__":
    main()
