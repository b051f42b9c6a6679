"""Time that the stderr and 95 % intervals add to scoring one task of 10k samples, per aggregation:

plain means (analytic stderr + vectorised replicates for group rows), the vectorised stratified bootstrap
(MME sums, MMStar category means, circular MMBench, OCRBench's per-thousand), and the generic path that calls an
aggregation once per resample (shown on interleave's category mean, 2k samples, to keep the run short).

    python bench/bootstrap.py [--samples 10000] [--iters 1000]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ov_eval.scoring import registry  # noqa: E402
from ov_eval.scoring.uncertainty import BootstrapSettings, metric_uncertainty  # noqa: E402
from ov_eval.scoring.video_benchmarks import INTERLEAVE_CATEGORY_OF  # noqa: E402


def cases(n: int) -> list[tuple[str, list[float], list[dict]]]:
    rng = np.random.default_rng(0)
    values = rng.integers(0, 2, n).astype(float).tolist()
    sub_tasks = list(INTERLEAVE_CATEGORY_OF)
    return [
        ("mean", values, [{}] * n),
        ("mean_percent", values, [{}] * n),
        ("mme_category_sum", values, [{"category": f"c{(i // 2) % 14}", "question_id": f"q{i // 2}"}
                                      for i in range(n)]),
        ("mean_of_l2_category_means", values, [{"l2_category": f"k{i % 18}"} for i in range(n)]),
        ("mmbench_circular", values, [{"index": i % (n // 4) + (i // (n // 4)) * 1_000_000} for i in range(n)]),
        ("per_thousand", values, [{}] * n),
        ("interleave_category_mean", values[:2000], [{"sub_task": sub_tasks[i % len(sub_tasks)]} for i in range(2000)]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--iters", type=int, default=1000)
    args = parser.parse_args()
    registry.load_builtins()
    settings = BootstrapSettings(iters=args.iters)
    print(f"{'aggregation':28} {'samples':>8} {'seconds':>8}  stderr")
    for name, values, docs in cases(args.samples):
        aggregate = registry.AGGREGATIONS[name]
        start = time.perf_counter()
        result = metric_uncertainty(name, aggregate, values, docs, settings, settings.rng("bench", name))
        elapsed = time.perf_counter() - start
        print(f"{name:28} {len(values):>8} {elapsed:>8.3f}  {result.stderr:.4g}")


if __name__ == "__main__":
    main()
