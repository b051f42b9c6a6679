"""Process layout under `accelerate launch`: rank slicing and gathering to rank 0.

No collective runs while a rank may still fail: a failing rank exits non-zero and the launcher (torchrun,
which `accelerate launch` drives) stops the others at once, so nothing waits on a dead peer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, TypeVar

import torch

T = TypeVar("T")


@dataclass(frozen=True)
class ProcessLayout:
    rank: int
    world_size: int
    device: torch.device

    @classmethod
    def from_environment(cls) -> "ProcessLayout":
        from accelerate import PartialState

        state = PartialState(cpu=not torch.cuda.is_available())
        return cls(state.process_index, state.num_processes, state.device)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: Sequence[T]) -> list[T]:
        """Rank r takes items r, r + n, r + 2n, ...: every process count covers every item exactly once."""
        return list(items[self.rank::self.world_size])

    def gather(self, value: Any) -> list[Any]:
        """Every rank's value, in rank order (on every rank)."""
        if self.world_size == 1:
            return [value]
        gathered: list[Any] = [None] * self.world_size
        torch.distributed.all_gather_object(gathered, value)
        return gathered
