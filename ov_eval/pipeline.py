"""Media decoding and model preprocessing run ahead of the model in background workers, in order, bounded."""
from __future__ import annotations

import collections
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class SampleFailure(Exception):
    """Raised by a stage for a failure that belongs to one sample (it is recorded, the run goes on)."""


def prefetch(items: Iterable[T], stage: Callable[[T], R], workers: int,
             max_in_flight: int) -> Iterator[tuple[T, R | SampleFailure]]:
    """(item, stage(item)) in input order; at most `max_in_flight` results exist ahead of the consumer.

    A SampleFailure is handed over as the result; any other exception stops the run where it is consumed.
    workers=0 runs the stage inline (for debugging).
    """
    def guarded(item: T) -> R | SampleFailure:
        try:
            return stage(item)
        except SampleFailure as failure:
            return failure

    if workers == 0:
        for item in items:
            yield item, guarded(item)
        return
    queue: collections.deque[tuple[T, Future]] = collections.deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ov_eval-media") as pool:
        try:
            for item in items:
                queue.append((item, pool.submit(guarded, item)))
                if len(queue) >= max_in_flight:
                    head, future = queue.popleft()
                    yield head, future.result()
            while queue:
                head, future = queue.popleft()
                yield head, future.result()
        finally:
            for _, future in queue:
                future.cancel()
