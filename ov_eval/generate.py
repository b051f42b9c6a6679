"""The generation stage: requests -> (media stage in workers) -> model batches -> responses."""
from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Iterator

from ov_eval.data.media import MediaError, decode_image, decode_video, encoded_image
from ov_eval.errors import OvEvalError, without_addresses
from ov_eval.models.base import ConcurrentModelAdapter, ModelAdapter, StreamingModelAdapter
from ov_eval.models.batching import batching_order, split_batches
from ov_eval.pipeline import SampleFailure, prefetch
from ov_eval.throughput import StageClock
from ov_eval.types import Generation, ModelInput, Request, Response


def model_input(request: Request, adapter: ModelAdapter) -> ModelInput:
    images, videos, encoded = [], [], []
    for ref in request.media:
        if ref.kind == "image":
            images.append(decode_image(ref))
            if getattr(adapter, "wants_encoded_images", False):
                encoded.append(encoded_image(ref))
        else:
            videos.append(decode_video(ref, adapter.max_frames_num, adapter.video_decode_backend))
    return ModelInput(request.text, tuple(images), tuple(videos), request.generation, request.pad_images,
                      tuple(encoded))


def _prepare(adapter: ModelAdapter, request: Request, clock: StageClock | None = None):
    start = time.perf_counter()
    try:
        try:
            inputs = model_input(request, adapter)
        except (MediaError, OvEvalError) as exc:
            raise SampleFailure(without_addresses(str(exc))) from None
        except Exception as exc:  # any fault reading one sample's media is that sample's error
            raise SampleFailure(without_addresses(f"task '{request.task}', doc {request.doc_id}: cannot read its "
                                                  f"media: {type(exc).__name__}: {exc}")) from None
        try:
            return adapter.prepare(inputs)
        except (MediaError, OvEvalError) as exc:  # e.g. `<image>` placeholders that do not match the images
            raise SampleFailure(without_addresses(f"task '{request.task}', doc {request.doc_id}: {exc}")) from None
    finally:
        if clock is not None:
            clock.add("media_preparation_s", time.perf_counter() - start)


def run_requests(adapter: ModelAdapter, requests: list[Request], batch_size: int, workers: int,
                 window_batches: int = 4, clock: StageClock | None = None) -> Iterator[Response]:
    """A Response per request; a sample whose media fails carries the error instead.

    Prepared samples are taken a window (a few batches) at a time and batched longest-first within it, so
    padding stays small while memory stays bounded; outputs do not depend on the batching. A concurrent
    adapter (a server) instead gets each sample as its own request, answered in whatever order they finish.
    `clock` adds up the seconds spent preparing media (over all workers).
    """
    if isinstance(adapter, ConcurrentModelAdapter):
        yield from _run_concurrently(adapter, requests, workers, clock)
        return
    if isinstance(adapter, StreamingModelAdapter) and adapter.stream_window > 0:
        yield from _run_streaming(adapter, requests, workers, clock)
        return
    stream = prefetch(requests, lambda r: _prepare(adapter, r, clock), workers, max_in_flight=max(2 * batch_size, 4))
    window: list[tuple[Request, Any]] = []
    for request, prepared in stream:
        if isinstance(prepared, SampleFailure):
            yield Response(request.key, request.task, request.doc_id, None, error=str(prepared))
            continue
        window.append((request, prepared))
        if len(window) == batch_size * window_batches:
            yield from _generate_window(adapter, window, batch_size)
            window = []
    if window:
        yield from _generate_window(adapter, window, batch_size)


def _batches(samples: list[Any], batch_size: int) -> list[list[int]]:
    if all(hasattr(s, "input_tokens") and hasattr(s, "generation") for s in samples):
        return split_batches(samples, batching_order(samples), batch_size)
    return [list(range(i, min(i + batch_size, len(samples)))) for i in range(0, len(samples), batch_size)]


def _generate_window(adapter: ModelAdapter, window: list[tuple[Request, Any]], batch_size: int) -> Iterator[Response]:
    for batch in _batches([prepared for _, prepared in window], batch_size):
        generations = adapter.generate([window[i][1] for i in batch])
        for index, generation in zip(batch, generations, strict=True):
            yield _response(window[index][0], generation)


def _response(request: Request, outcome: Generation | SampleFailure, latency_s: float | None = None) -> Response:
    if isinstance(outcome, SampleFailure):
        return Response(request.key, request.task, request.doc_id, None, error=str(outcome))
    return Response(request.key, request.task, request.doc_id, outcome.text, outcome.input_tokens,
                    outcome.output_tokens, outcome.image_tokens, latency_s=latency_s, reasoning=outcome.reasoning)


def _run_streaming(adapter: StreamingModelAdapter, requests: list[Request], workers: int,
                   clock: StageClock | None = None) -> Iterator[Response]:
    """Prepared samples flow into the adapter's engine as it asks for them (media workers keep `stream_window`
    ready ahead); each response is yielded as the engine finishes it. Media failures pass by the engine."""
    stream = prefetch(requests, lambda r: _prepare(adapter, r, clock), workers,
                      max_in_flight=max(adapter.stream_window, 4))
    failed: list[Response] = []

    def usable() -> Iterator[tuple[Request, Any]]:
        for request, prepared in stream:
            if isinstance(prepared, SampleFailure):
                failed.append(_response(request, prepared))
            else:
                yield request, prepared

    for request, outcome in adapter.generate_stream(usable()):
        yield from failed
        failed.clear()
        yield _response(request, outcome)
    yield from failed


def _complete(adapter: ConcurrentModelAdapter, request: Request, prepared: Any) -> Response:
    start = time.perf_counter()
    try:
        return _response(request, adapter.complete(prepared), latency_s=time.perf_counter() - start)
    except SampleFailure as failure:
        return _response(request, failure)


def _run_concurrently(adapter: ConcurrentModelAdapter, requests: list[Request], workers: int,
                      clock: StageClock | None = None) -> Iterator[Response]:
    """Up to `max_concurrency` requests in flight; each response is yielded the moment it arrives."""
    limit = adapter.max_concurrency
    stream = prefetch(requests, lambda r: _prepare(adapter, r, clock), workers, max_in_flight=max(limit, 4))
    pending: set[Future] = set()
    with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="ov_eval-request") as pool:
        try:
            for request, prepared in stream:
                if isinstance(prepared, SampleFailure):
                    yield Response(request.key, request.task, request.doc_id, None, error=str(prepared))
                    continue
                pending.add(pool.submit(_complete, adapter, request, prepared))
                if len(pending) >= limit:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (future.result() for future in done)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
        finally:
            for future in pending:  # stopped early (an error, Ctrl-C): send nothing more
                future.cancel()
