"""Typed records that cross stage boundaries; all frozen and JSON-serialisable."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np


@dataclass(frozen=True)
class GenerationSettings:
    max_new_tokens: int = 1024
    temperature: float = 0.0
    do_sample: bool = False
    top_p: float | None = None
    num_beams: int = 1
    until: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["until"] = list(self.until)
        return data


@dataclass(frozen=True)
class MediaRef:
    """Where a sample's image or video comes from; decoded later, in the media stage."""

    kind: Literal["image", "video"]
    source: Any  # image: {"bytes", "path"} cell or PIL image; video: a file path
    label: str  # human-readable origin, used in error messages


@dataclass(frozen=True)
class Request:
    """One generation a task asks of the model."""

    task: str
    doc_id: int
    text: str
    media: tuple[MediaRef, ...]
    generation: GenerationSettings
    key: str  # identity of (model, task config, doc, prompt, settings): the journal key


@dataclass(frozen=True)
class EncodedImage:
    """An image's original file bytes, for backends that send images as files (PNG or JPEG only)."""

    data: bytes
    mime: str  # image/png or image/jpeg


@dataclass(frozen=True)
class ModelInput:
    """What a model adapter sees: self-contained, media already decoded."""

    text: str
    images: tuple[Any, ...] = ()  # PIL images
    videos: tuple[np.ndarray, ...] = ()  # (frames, height, width, 3) uint8, already sampled
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    encoded_images: tuple[EncodedImage | None, ...] = ()  # per image, for adapters with wants_encoded_images


@dataclass(frozen=True)
class Generation:
    """What a model adapter returns for one input."""

    text: str
    input_tokens: int
    output_tokens: int
    image_tokens: int


@dataclass(frozen=True)
class Response:
    """The outcome for one request: a generation, or the error that prevented it."""

    key: str
    task: str
    doc_id: int
    text: str | None
    input_tokens: int = 0
    output_tokens: int = 0
    image_tokens: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> "Response":
        return Response(**data)
