"""The generation stage: requests -> (media stage in workers) -> model batches -> responses."""
from __future__ import annotations

from typing import Any, Iterator

from ov_eval.data.media import MediaError, decode_image, decode_video
from ov_eval.errors import OvEvalError, without_addresses
from ov_eval.models.base import ModelAdapter
from ov_eval.models.batching import batching_order, split_batches
from ov_eval.pipeline import SampleFailure, prefetch
from ov_eval.types import ModelInput, Request, Response


def model_input(request: Request, adapter: ModelAdapter) -> ModelInput:
    images, videos = [], []
    for ref in request.media:
        if ref.kind == "image":
            images.append(decode_image(ref))
        else:
            videos.append(decode_video(ref, adapter.max_frames_num, adapter.video_decode_backend))
    return ModelInput(request.text, tuple(images), tuple(videos), request.generation, request.pad_images)


def _prepare(adapter: ModelAdapter, request: Request):
    try:
        return adapter.prepare(model_input(request, adapter))
    except (MediaError, OvEvalError) as exc:
        raise SampleFailure(without_addresses(str(exc))) from None


def run_requests(adapter: ModelAdapter, requests: list[Request], batch_size: int, workers: int,
                 window_batches: int = 4) -> Iterator[Response]:
    """A Response per request; a sample whose media fails carries the error instead.

    Prepared samples are taken a window (a few batches) at a time and batched longest-first within it, so
    padding stays small while memory stays bounded; outputs do not depend on the batching.
    """
    stream = prefetch(requests, lambda r: _prepare(adapter, r), workers, max_in_flight=max(2 * batch_size, 4))
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
            request = window[index][0]
            yield Response(request.key, request.task, request.doc_id, generation.text, generation.input_tokens,
                           generation.output_tokens, generation.image_tokens)
