"""Typed records that cross stage boundaries; all frozen and JSON-serialisable."""
from __future__ import annotations

import dataclasses
import hashlib
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

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> "GenerationSettings":
        """Settings from YAML or `--gen_kwargs` values, checked in one place; ValueError names the setting."""
        def check(name: str, ok: bool, wanted: str) -> None:
            if name in values and not ok:
                raise ValueError(f"{name} must be {wanted}, got {values[name]!r}")

        def integer(value: Any) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        def number(value: Any) -> bool:
            return isinstance(value, (int, float)) and not isinstance(value, bool)

        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown setting '{unknown[0]}'")
        get = values.get
        check("max_new_tokens", integer(get("max_new_tokens")) and get("max_new_tokens") > 0, "a positive integer")
        check("temperature", number(get("temperature")) and get("temperature") >= 0, "a number >= 0")
        check("do_sample", isinstance(get("do_sample"), bool), "true or false")
        check("top_p", get("top_p") is None or (number(get("top_p")) and 0 < get("top_p") <= 1),
              "a number in (0, 1] or null")
        check("num_beams", integer(get("num_beams")) and get("num_beams") >= 1, "a positive integer")
        until = get("until")
        until = [until] if isinstance(until, str) else until
        check("until", until is None or (isinstance(until, (list, tuple)) and all(isinstance(u, str) for u in until)),
              "a string or a list of strings")
        settings = dict(values)
        if "until" in settings:
            settings["until"] = tuple(until or ())
        return cls(**settings)


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
    pad_images: bool = False  # encode a single image as one pad tile (sticky pad, ov_eval.models.sticky_pad)
    facets: dict[str, Any] = field(default_factory=dict, compare=False)  # the key's parts (ov_eval.journal)

    def with_pad_images(self) -> "Request":
        """This request with its image encoded in pad mode, under a key of its own (the output differs)."""
        key = hashlib.sha256(f"{self.key}|pad".encode()).hexdigest()[:24]
        return dataclasses.replace(self, pad_images=True, key=key, facets=self.facets | {"pad_images": True})


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
    pad_images: bool = False  # a single image too is encoded in pad mode (sticky pad)
    encoded_images: tuple[EncodedImage | None, ...] = ()  # per image, for adapters with wants_encoded_images


@dataclass(frozen=True)
class Generation:
    """What a model adapter returns for one input."""

    text: str
    input_tokens: int
    output_tokens: int
    image_tokens: int
    reasoning: str | None = None  # reasoning a server returned apart from the answer (`reasoning_content`)


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
    latency_s: float | None = None  # seconds the request took (served models: one HTTP request per sample)
    reasoning: str | None = None  # a server's separate reasoning field, kept for the samples file

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> "Response":
        return Response(**data)
