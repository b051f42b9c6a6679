"""The throughput machinery changes no output and holds a bounded number of prepared samples.

- Prefetch workers plus batching give the inline, batch-of-one responses on the tiny checkpoint (real PNG and
  mp4 decoding).
- With a slow model and many large images, the samples prepared but not yet generated never exceed the bound the
  code implies, and reach it (so prefetching does run ahead while the model works). No timed assertions: the
  slow model waits for an event, not for a clock.
"""
import io
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

from ov_eval.generate import run_requests
from ov_eval.models.onevision import OneVisionAdapter
from ov_eval.types import Generation, GenerationSettings, MediaRef, Request

SETTINGS = GenerationSettings(max_new_tokens=8)


def png(width: int, height: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def image_ref(width: int, height: int, seed: int) -> MediaRef:
    return MediaRef("image", {"bytes": png(width, height, seed), "path": None}, f"image {seed}")


def write_mp4(path, n_frames: int = 12, seed: int = 0) -> None:
    import av

    frames = np.random.default_rng(seed).integers(0, 256, (n_frames, 96, 128, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=8)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def request(doc_id: int, text: str, *media: MediaRef) -> Request:
    return Request("throughput", doc_id, text, media, SETTINGS, key=f"k{doc_id}")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is fastest
    yield
    torch.set_num_threads(threads)


def test_prefetch_and_batching_give_the_inline_batch_of_one_responses(tiny_checkpoint, tmp_path):
    video = tmp_path / "clip.mp4"
    write_mp4(video)
    requests = [
        request(0, "Describe the image.", image_ref(384, 384, 1)),
        request(1, "hi"),
        request(2, "What happens in this video?", MediaRef("video", str(video), "clip.mp4")),
        request(3, "What is unusual here?", image_ref(640, 480, 2)),
        request(4, "Compare the two pictures.", image_ref(300, 200, 3), image_ref(200, 300, 4)),
        request(5, "Read the poster.", image_ref(1300, 900, 5)),
        request(6, "Which of the three? <image> <image> <image>", image_ref(500, 500, 6), image_ref(64, 48, 7),
                image_ref(120, 90, 8)),
        request(7, "A long text-only question that goes on and on, " * 5),
        request(8, "Tall one", image_ref(200, 700, 9)),
        request(9, "Summarise the clip.", MediaRef("video", str(video), "clip.mp4")),
    ]
    adapter = OneVisionAdapter({"pretrained": str(tiny_checkpoint), "max_frames_num": "8"})
    inline = sorted(run_requests(adapter, requests, batch_size=1, workers=0), key=lambda r: r.doc_id)
    prefetched = sorted(run_requests(adapter, requests, batch_size=4, workers=2), key=lambda r: r.doc_id)
    assert [r.doc_id for r in inline] == list(range(10))
    assert [r.error for r in inline] == [None] * 10
    assert [r.image_tokens for r in inline] == [1485, 0, 8 * 196 + 1, 2929, 1458, 7295, 2187, 0, 1593, 8 * 196 + 1]
    assert all(r.output_tokens > 0 for r in inline)
    assert prefetched == inline


class SlowCountingModel:
    """A fake adapter: `prepare` keeps the decoded pixels (12 MB per 2000x2000 image) and counts the samples that
    are prepared but not yet generated. `generate` is slow: every call sleeps a little, and the first returns only
    once that count has reached `wait_for` (a generous timeout turns a prefetcher that stopped running ahead into
    a failure, not a hang), then gives an over-eager prefetcher a second to overshoot. Correct code passes however
    the threads are scheduled; the waits only decide how surely a regression is caught."""

    identity = "slow-counting"
    max_frames_num = 8
    video_decode_backend = "pyav"

    def __init__(self, wait_for: int) -> None:
        self.wait_for = wait_for
        self.live = self.peak = 0
        self.generated: list[int] = []
        self._changed = threading.Condition()
        self._first = True

    def describe(self) -> dict:
        return {}

    def prepare(self, item) -> tuple[np.ndarray, str]:
        pixels = np.asarray(item.images[0])
        with self._changed:
            self.live += 1
            self.peak = max(self.peak, self.live)
            self._changed.notify_all()
        return pixels, item.text

    def generate(self, batch: list[tuple[np.ndarray, str]]) -> list[Generation]:
        if self._first:
            self._first = False
            with self._changed:
                self._changed.wait_for(lambda: self.live >= self.wait_for, timeout=30)
                self._changed.wait_for(lambda: self.live > self.wait_for, timeout=1)
        time.sleep(0.01)
        generations = [Generation(f"{text}: {pixels.shape}", 1, 1, 0) for pixels, text in batch]
        with self._changed:
            self.live -= len(batch)
            self.generated += [int(text.split()[-1]) for _, text in batch]
        return generations


def live_bound(batch_size: int, window_batches: int = 4) -> int:
    """Prepared-but-not-generated samples at most, from ov_eval.generate.run_requests and ov_eval.pipeline.prefetch:
    while the consumer generates a full window (batch_size * window_batches samples, all prepared), prefetch is
    suspended at a yield holding max_in_flight - 1 submitted stages, which the workers finish meanwhile."""
    max_in_flight = max(2 * batch_size, 4)
    return batch_size * window_batches + max_in_flight - 1


@pytest.mark.parametrize("batch_size, workers", [(4, 2), (1, 3)])
def test_prepared_samples_stay_bounded_and_reach_the_bound(batch_size, workers):
    big = MediaRef("image", {"bytes": png(2000, 2000, seed=0), "path": None}, "big image")
    requests = [Request("memory", i, f"sample {i}", (big,), SETTINGS, key=f"m{i}") for i in range(60)]
    bound = live_bound(batch_size)
    model = SlowCountingModel(wait_for=bound)
    responses = list(run_requests(model, requests, batch_size=batch_size, workers=workers))
    assert (bound, model.peak) == ({4: 23, 1: 7}[batch_size], bound)
    assert model.live == 0
    assert sorted(model.generated) == list(range(60))
    assert sorted(r.doc_id for r in responses) == list(range(60))
    assert {r.text.split(": ")[1] for r in responses} == {"(2000, 2000, 3)"}
