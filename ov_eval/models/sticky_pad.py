"""Sticky pad mode (docs/scoring_rules.md §0.8), reproduced on request (`sticky_pad=true`).

The release-era adapter switches the shared model config to `pad` on its first multi-image sample and never
switches back, so every later image sample of that process is encoded as one padded 384x384 tile (729 tokens,
no newline) instead of anyres_max_9. Which samples those are follows from the order in which the reference
processes a rank's requests, so the decision is made here, up front and per request, from that order alone:
batch size and ov_eval's own processing order do not change it.

The reference order on one rank (lmms-eval v0.2.2): the rank's requests of all tasks, in task order, each task's
docs r, r+W, ...; grouped by identical generation settings (groups in first-seen order); within a group sorted by
descending token count of the context (the task text before the adapter adds placeholders or the chat template,
tokenized without special tokens), ties by the context string ascending; Python's stable sort keeps exact ties
in request order. A sample with more than one visual switches the mode; a video is one visual and is encoded on
its own path, which the mode does not touch.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class OrderedSample:
    """What the reference order and the mode switch look at in one request."""

    key: str
    context: str  # the task text
    generation: Hashable
    n_images: int
    n_videos: int


def reference_order(samples: Sequence[OrderedSample], context_tokens: Callable[[str], int]) -> list[int]:
    """Indices of `samples` in the order the release-era adapter processes them on one rank."""
    groups: dict[Hashable, list[int]] = {}
    for index, sample in enumerate(samples):
        groups.setdefault(sample.generation, []).append(index)
    lengths = [context_tokens(sample.context) for sample in samples]
    return [i for members in groups.values()
            for i in sorted(members, key=lambda i: (-lengths[i], samples[i].context))]


def sticky_pad_keys(samples: Sequence[OrderedSample], context_tokens: Callable[[str], int]) -> set[str]:
    """Keys of the single-image samples that the reference encodes as pad: those it processes after a sample with
    more than one visual. (Multi-image samples are pad anyway; text-only and video samples are unaffected.)"""
    switched, keys = False, set()
    for index in reference_order(samples, context_tokens):
        sample = samples[index]
        switched = switched or sample.n_images + sample.n_videos > 1
        if switched and sample.n_images == 1 and sample.n_videos == 0:
            keys.add(sample.key)
    return keys


def ordered_samples(requests: Iterable) -> list[OrderedSample]:
    """The ordering view of `ov_eval.types.Request`s."""
    return [OrderedSample(r.key, r.text, r.generation, sum(m.kind == "image" for m in r.media),
                          sum(m.kind == "video" for m in r.media)) for r in requests]
