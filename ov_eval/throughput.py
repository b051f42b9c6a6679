"""Throughput figures of a run: per task (generation rates, request latencies) and per stage (seconds).

Rates count only the answers generated in this run: answers taken from the journal cost no generation time, so
counting them would inflate samples/s. Each task records how many answers came from the journal beside them.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from ov_eval.types import Response

STAGES = ("media_preparation_s", "generation_s", "judging_s", "scoring_s")


@dataclass
class StageClock:
    """Seconds spent per stage; thread-safe, since media preparation runs in worker threads (its seconds are
    summed over workers, so they may exceed the wall time they overlap with)."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    @contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - start)


@dataclass(frozen=True)
class TaskGeneration:
    """One rank's generation of one task: its wall seconds and the responses generated now (not resumed)."""

    seconds: float
    fresh: list[Response]
    n_from_journal: int


def _rate(count: float, seconds: float) -> float | None:
    return round(count / seconds, 4) if seconds > 0 and count else (0.0 if seconds > 0 else None)


def task_throughput(ranks: list[TaskGeneration]) -> dict[str, Any]:
    """A task's `throughput` entry from every rank's share: ranks run side by side, so the task's generation
    time is the slowest rank's and the counts are summed."""
    seconds = max((r.seconds for r in ranks), default=0.0)
    fresh = [response for r in ranks for response in r.fresh if response.error is None]
    entry: dict[str, Any] = {
        "generation_s": round(seconds, 4),
        "n_generated": len(fresh),
        "n_from_journal": sum(r.n_from_journal for r in ranks),
        "samples_per_s": _rate(len(fresh), seconds),
        "input_tokens_per_s": _rate(sum(r.input_tokens for r in fresh), seconds),
        "output_tokens_per_s": _rate(sum(r.output_tokens for r in fresh), seconds),
    }
    latencies = np.array([r.latency_s for r in fresh if r.latency_s is not None])
    if latencies.size:  # a served model: one HTTP request per sample
        entry["request_latency_s"] = {"median": round(float(np.median(latencies)), 4),
                                      "p90": round(float(np.percentile(latencies, 90)), 4),
                                      "n_requests": int(latencies.size)}
    return entry


def run_throughput(total_s: float, stages: dict[str, float], tasks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The run's totals: wall seconds, seconds per stage, and samples/s over every task's fresh answers."""
    generated = sum(t["n_generated"] for t in tasks.values())
    generation_s = sum(t["generation_s"] for t in tasks.values())
    return {"total_s": round(total_s, 4), **{k: round(v, 4) for k, v in stages.items()},
            "n_generated": generated, "n_from_journal": sum(t["n_from_journal"] for t in tasks.values()),
            "samples_per_s": _rate(generated, generation_s)}
