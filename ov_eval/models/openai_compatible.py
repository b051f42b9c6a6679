"""A model behind an OpenAI-compatible chat endpoint: vLLM, SGLang, `transformers serve` or a hosted API.

Each request is one user message: the task text with each image where its `<image>` placeholder stands, or the
images first when the text has none; images go as base64 data URLs, a video as its sampled frames (the project's
own decoder, the same indices as the in-process adapter). The server applies its own chat template and image
processing, so scores are comparable between servers, not with the published in-process numbers.
Requests run concurrently (see ov_eval.generate); a request that still fails after its retries is that sample's
error. The API key is read from the environment variable `api_key_env` and never leaves the HTTP client.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from PIL import Image

from ov_eval.errors import OvEvalError
from ov_eval.models.base import check_model_args
from ov_eval.models.templates import IMAGE_PLACEHOLDER
from ov_eval.openai_client import ChatClient, ChatError, check_endpoint_url
from ov_eval.pipeline import SampleFailure
from ov_eval.retry import RetryPolicy
from ov_eval.types import EncodedImage, Generation, GenerationSettings, ModelInput

log = logging.getLogger(__name__)

MODEL_ARGS: dict[str, Any] = {
    "model": None,  # required: the name the server serves the model under
    "base_url": None,  # default: $OPENAI_BASE_URL
    "api_key_env": "OPENAI_API_KEY",  # the NAME of the variable holding the key, never the key
    "max_concurrency": 16,
    "timeout": 300.0,  # seconds per HTTP request
    "max_retries": 5,  # further tries after the first
    "system_prompt": None,
    "image_format": "png",  # how decoded frames and non-PNG/JPEG images are encoded
    "max_frames_num": 32,
}
_MIME = {"png": "image/png", "jpeg": "image/jpeg"}


@dataclass(frozen=True)
class ChatRequest:
    messages: list[dict[str, Any]]
    generation: GenerationSettings


def _number(name: str, value: Any, kind: type, positive: bool = True) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number != number or number < 0 or (positive and number == 0):
        raise OvEvalError(f"--model_args: {name} must be {'a positive' if positive else 'a non-negative'} "
                          f"{'integer' if kind is int else 'number'}, not '{value}'")
    return number


def encode_image(image: Image.Image, image_format: str) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format=image_format.upper())
    return data_url(buffer.getvalue(), _MIME[image_format])


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def chat_content(text: str, image_urls: list[str], frame_urls: list[str]) -> list[dict[str, Any]]:
    """One message's content parts: frames first, then the text with images at their placeholders (or first)."""
    def image(url: str) -> dict[str, Any]:
        return {"type": "image_url", "image_url": {"url": url}}

    parts = [image(url) for url in frame_urls]
    pieces = text.split(IMAGE_PLACEHOLDER)
    if len(pieces) == 1:
        return parts + [image(url) for url in image_urls] + [{"type": "text", "text": text}]
    if len(pieces) - 1 != len(image_urls):
        raise OvEvalError(f"the prompt has {len(pieces) - 1} image placeholders for {len(image_urls)} images")
    for index, piece in enumerate(pieces):
        if piece:
            parts.append({"type": "text", "text": piece})
        if index < len(image_urls):
            parts.append(image(image_urls[index]))
    return parts


class OpenAICompatibleAdapter:
    """The ModelAdapter of a served model; `complete` is called from up to `max_concurrency` threads."""

    video_decode_backend = "decord"
    wants_encoded_images = True  # the media stage hands over the original PNG/JPEG bytes too

    def __init__(self, model_args: dict[str, str], batch_size: int = 1, device: Any = None,
                 env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        args = check_model_args("openai_compatible", model_args, MODEL_ARGS)
        if not args["model"]:
            raise OvEvalError("--model_args: model=NAME is required for openai_compatible (the served model's name)")
        self.model = str(args["model"])
        self.base_url = str(args["base_url"] or env.get("OPENAI_BASE_URL") or "").rstrip("/")
        if not self.base_url:
            raise OvEvalError("--model_args: give base_url=URL (or set OPENAI_BASE_URL) for openai_compatible")
        check_endpoint_url(self.base_url, "--model_args: base_url" if args["base_url"] else "OPENAI_BASE_URL")
        self.max_concurrency = _number("max_concurrency", args["max_concurrency"], int)
        self.max_frames_num = _number("max_frames_num", args["max_frames_num"], int)
        timeout = _number("timeout", args["timeout"], float)
        max_retries = _number("max_retries", args["max_retries"], int, positive=False)
        self.image_format = str(args["image_format"]).lower()
        if self.image_format not in _MIME:
            raise OvEvalError(f"--model_args: image_format must be png or jpeg, not '{args['image_format']}'")
        self.system_prompt = args["system_prompt"] or None
        self.api_key_env = str(args["api_key_env"])
        key = env.get(self.api_key_env)
        if not key:
            log.info("%s is not set: requests go without an API key", self.api_key_env)
        self.args = {k: v for k, v in args.items()}
        # A key-less local server still needs a non-empty string in the Authorization header.
        self.client = ChatClient(api_key=key or "EMPTY", base_url=self.base_url, api_type="openai", timeout_s=timeout,
                                 retry=RetryPolicy(max_tries=max_retries + 1), env={})
        self.served_model = self._served_model_id()
        self.identity = hashlib.sha256(json.dumps(
            ["openai_compatible", self.base_url, self.model, self.served_model, self.system_prompt,
             self.image_format, self.max_frames_num]).encode()).hexdigest()[:16]

    def _served_model_id(self) -> str | None:
        """The id (vLLM: the `root`, the weights it loaded) the server reports for our model, if it lists it."""
        listing = self.client.served_models()
        for entry in listing or []:
            if entry["id"] == self.model:
                return entry.get("root", entry["id"])
        if listing:
            log.warning("the server at %s does not list model '%s' (it lists %s)", self.base_url, self.model,
                        ", ".join(e["id"] for e in listing[:5]))
        return None

    def describe(self) -> dict[str, Any]:
        return {"model": "openai_compatible", "model_args": {k: str(v) for k, v in self.args.items()},
                "base_url": self.base_url, "served_model": self.served_model, "checkpoint": self.model,
                "device": "server"}

    def prepare(self, item: ModelInput) -> ChatRequest:
        """The chat messages of one request (CPU work: encoding the images), in a media worker."""
        image_urls = [data_url(encoded.data, encoded.mime) if encoded is not None
                      else encode_image(image, self.image_format)
                      for image, encoded in zip(item.images, item.encoded_images or [None] * len(item.images))]
        frame_urls = [encode_image(Image.fromarray(np.asarray(frame)), self.image_format)
                      for video in item.videos for frame in video]
        messages = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        messages.append({"role": "user", "content": chat_content(item.text, image_urls, frame_urls)})
        return ChatRequest(messages, item.generation)

    def complete(self, request: ChatRequest) -> Generation:
        """One chat completion; a request that fails for good raises SampleFailure (that sample's error)."""
        settings = request.generation
        try:
            reply = self.client.complete(
                self.model, request.messages, temperature=settings.temperature if settings.do_sample else 0.0,
                max_tokens=settings.max_new_tokens, top_p=settings.top_p if settings.do_sample else None,
                stop=settings.until or None)
        except ChatError as exc:
            raise SampleFailure(f"{self.base_url}: {exc}") from None
        return Generation(reply.text.strip(), reply.prompt_tokens, reply.completion_tokens, image_tokens=0,
                          reasoning=reply.reasoning)

    def generate(self, batch: list[ChatRequest]) -> list[Generation]:
        """Sequential fallback for callers that batch; the runner uses `complete` concurrently."""
        return [self.complete(request) for request in batch]
