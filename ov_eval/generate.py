"""The generation stage: requests -> (media stage in workers) -> model batches -> responses."""
from __future__ import annotations

from typing import Iterator

from ov_eval.data.media import MediaError, decode_image, decode_video
from ov_eval.errors import OvEvalError
from ov_eval.models.base import ModelAdapter
from ov_eval.pipeline import SampleFailure, prefetch
from ov_eval.types import ModelInput, Request, Response


def model_input(request: Request, adapter: ModelAdapter) -> ModelInput:
    images, videos = [], []
    for ref in request.media:
        if ref.kind == "image":
            images.append(decode_image(ref))
        else:
            videos.append(decode_video(ref, adapter.max_frames_num, adapter.video_decode_backend))
    return ModelInput(request.text, tuple(images), tuple(videos), request.generation)


def _prepare(adapter: ModelAdapter, request: Request):
    try:
        return adapter.prepare(model_input(request, adapter))
    except (MediaError, OvEvalError) as exc:
        raise SampleFailure(str(exc)) from None


def run_requests(adapter: ModelAdapter, requests: list[Request], batch_size: int,
                 workers: int) -> Iterator[Response]:
    """A Response per request, in request order; a sample whose media fails carries the error instead."""
    stream = prefetch(requests, lambda r: _prepare(adapter, r), workers, max_in_flight=max(2 * batch_size, 4))
    batch: list[tuple[Request, object]] = []
    for request, prepared in stream:
        if isinstance(prepared, SampleFailure):
            yield Response(request.key, request.task, request.doc_id, None, error=str(prepared))
            continue
        batch.append((request, prepared))
        if len(batch) == batch_size:
            yield from _generate(adapter, batch)
            batch = []
    if batch:
        yield from _generate(adapter, batch)


def _generate(adapter: ModelAdapter, batch: list[tuple[Request, object]]) -> Iterator[Response]:
    generations = adapter.generate([prepared for _, prepared in batch])
    for (request, _), generation in zip(batch, generations, strict=True):
        yield Response(request.key, request.task, request.doc_id, generation.text, generation.input_tokens,
                       generation.output_tokens, generation.image_tokens)
