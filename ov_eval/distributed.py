"""Process layout under `accelerate launch` (one machine or several): rank slicing and gathering to rank 0.

No collective runs while a rank may still fail: a failing rank exits non-zero and the launcher (torchrun,
which `accelerate launch` drives) stops the others at once, so nothing waits on a dead peer. A rank that
stalls, or whose machine is lost, cannot be seen that way: before the gather every rank announces its arrival
in the launcher's key-value store and waits, at most `timeout_s`, for the others, then names those that did
not arrive.
"""
from __future__ import annotations

import datetime
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Sequence, TypeVar

import torch

from ov_eval.errors import OvEvalError

T = TypeVar("T")
log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 1800.0  # a whole shard of a slow task may finish well after the others' shards
DEFAULT_PROGRESS_INTERVAL_S = 60.0
_POLL_S = 0.2


@dataclass(frozen=True)
class ProcessLayout:
    rank: int
    world_size: int
    device: torch.device
    timeout_s: float = DEFAULT_TIMEOUT_S
    progress_interval_s: float = DEFAULT_PROGRESS_INTERVAL_S

    @classmethod
    def from_environment(cls, timeout_s: float = DEFAULT_TIMEOUT_S,
                         progress_interval_s: float = DEFAULT_PROGRESS_INTERVAL_S) -> "ProcessLayout":
        from accelerate import PartialState

        state = PartialState(cpu=not torch.cuda.is_available(), timeout=datetime.timedelta(seconds=timeout_s))
        return cls(state.process_index, state.num_processes, state.device, timeout_s, progress_interval_s)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: Sequence[T]) -> list[T]:
        """Rank r takes items r, r + n, r + 2n, ...: every process count covers every item exactly once."""
        return list(items[self.rank::self.world_size])

    def gather(self, value: Any) -> list[Any]:
        """Every rank's value, in rank order (on every rank), once every rank has arrived."""
        if self.world_size == 1:
            return [value]
        self.wait_for_every_rank("gather")
        gathered: list[Any] = [None] * self.world_size
        torch.distributed.all_gather_object(gathered, value)
        return gathered

    def wait_for_every_rank(self, point: str) -> None:
        # The process group's own store (the launcher's rendezvous store) is the one channel every rank
        # already shares; torch exposes it only under this name.
        store = torch.distributed.distributed_c10d._get_default_store()
        store.set(f"ov_eval/{point}/{self.rank}", "arrived")
        keys = {rank: f"ov_eval/{point}/{rank}" for rank in range(self.world_size)}
        started = last_line = time.monotonic()
        while True:
            try:
                missing = [rank for rank, key in keys.items() if not store.check([key])]
            except RuntimeError as exc:  # the store lives with rank 0's launcher
                raise OvEvalError(f"rank {self.rank}: lost contact with rank 0's launcher at the {point} "
                                  f"({str(exc).splitlines()[0]})") from None
            if not missing:
                return
            waited = time.monotonic() - started
            if waited >= self.timeout_s:
                raise OvEvalError(f"{_ranks(missing)} did not reach the {point} within {self.timeout_s:g} s "
                                  f"(--dist_timeout): stalled, or its process or machine was lost; finished "
                                  f"samples are journaled, run the same command again to resume")
            if time.monotonic() - last_line >= self.progress_interval_s:
                log.info("rank %d of %d: waiting at the %s for %s (%.0f s of %g s)", self.rank, self.world_size,
                         point, _ranks(missing), waited, self.timeout_s)
                last_line = time.monotonic()
            time.sleep(_POLL_S)


def _ranks(ranks: list[int]) -> str:
    return ("rank " if len(ranks) == 1 else "ranks ") + ", ".join(map(str, ranks))


class ProgressLog:
    """One log line per rank every interval while generating, so a stalled rank shows by name in the log."""

    def __init__(self, layout: ProcessLayout) -> None:
        self.layout = layout
        self.task, self.done, self.total = "", 0, 0
        self.last_sample = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._report, name="ov_eval-progress", daemon=True)

    def __enter__(self) -> "ProgressLog":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def start_task(self, task: str, total: int, done: int) -> None:
        self.task, self.total, self.done = task, total, done
        self.last_sample = time.monotonic()

    def advance(self) -> None:
        self.done += 1
        self.last_sample = time.monotonic()

    def line(self) -> str:
        return (f"rank {self.layout.rank} of {self.layout.world_size}: {self.task} {self.done}/{self.total} "
                f"samples, last one {time.monotonic() - self.last_sample:.0f} s ago")

    def _report(self) -> None:
        while not self._stop.wait(self.layout.progress_interval_s):
            log.info("%s", self.line())


def process_gpus(local_rank: int, local_processes: int, visible_gpus: int, per_process: int) -> list[int]:
    """The GPUs of local process i when each process holds its model over `per_process` GPUs: i*K .. i*K+K-1."""
    if visible_gpus % per_process:
        raise OvEvalError(f"--model_args: gpus_per_process={per_process} does not divide the {visible_gpus} "
                          f"visible GPUs of this node")
    if local_processes * per_process > visible_gpus:
        processes = f"{local_processes} process{'es' if local_processes != 1 else ''}"
        raise OvEvalError(f"--model_args: gpus_per_process={per_process} with {processes} on this node needs "
                          f"{local_processes * per_process} GPUs, {visible_gpus} are visible")
    return list(range(local_rank * per_process, (local_rank + 1) * per_process))


def this_process_gpus(per_process: Any) -> list[int]:
    """`process_gpus` for this process, from the launcher's LOCAL_RANK / LOCAL_WORLD_SIZE and the visible GPUs."""
    try:
        count = int(per_process)
    except (TypeError, ValueError):
        count = 0
    if count <= 0 or str(count) != str(per_process).strip():
        raise OvEvalError(f"--model_args: gpus_per_process must be a positive integer, not '{per_process}'")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return process_gpus(local_rank, local_processes, torch.cuda.device_count(), count)
