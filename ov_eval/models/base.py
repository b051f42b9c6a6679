"""The model-adapter protocol, the model registry and `--model_args` parsing."""
from __future__ import annotations

import importlib
from typing import Any, Iterator, Protocol, runtime_checkable

from ov_eval.errors import OvEvalError, did_you_mean
from ov_eval.types import Generation, ModelInput

MODELS = {"llava_onevision": "ov_eval.models.onevision:OneVisionAdapter",
          "openai_compatible": "ov_eval.models.openai_compatible:OpenAICompatibleAdapter"}


@runtime_checkable
class ModelAdapter(Protocol):
    """A model as the runner sees it. `prepare` runs in background workers (CPU only); `generate` on the device.
    An adapter with `sticky_pad = True` also offers `context_tokens(text) -> int` (see models/sticky_pad.py)."""

    identity: str  # everything that decides outputs; part of every journal key
    max_frames_num: int
    video_decode_backend: str

    def prepare(self, item: ModelInput) -> Any: ...

    def generate(self, batch: list[Any]) -> list[Generation]: ...

    def describe(self) -> dict[str, Any]: ...


@runtime_checkable
class ConcurrentModelAdapter(ModelAdapter, Protocol):
    """A model answering one request at a time from many threads (a server): the runner keeps up to
    `max_concurrency` requests in flight and journals each answer as it arrives."""

    max_concurrency: int

    def complete(self, prepared: Any) -> Generation: ...


@runtime_checkable
class StreamingModelAdapter(ModelAdapter, Protocol):
    """A model with its own scheduler (an engine that batches continuously): when `stream_window` > 0 the runner
    hands it prepared samples as a stream instead of batches of --batch_size; it asks for more as its queue
    (`stream_window` samples) frees up and answers each, or gives that sample's SampleFailure, as it finishes."""

    stream_window: int

    def generate_stream(self, samples: Iterator[tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]: ...


def parse_model_args(text: str) -> dict[str, str]:
    """'k=v,k=v' -> {k: v}; a malformed pair names itself."""
    args: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise OvEvalError(f"--model_args: '{pair}' is not of the form key=value")
        args[key.strip()] = value.strip()
    return args


def check_model_args(model: str, args: dict[str, str], accepted: dict[str, Any]) -> dict[str, Any]:
    """Accepted defaults overlaid with the given args; an unknown key is an error with a did-you-mean."""
    for key in args:
        if key not in accepted:
            raise OvEvalError(f"--model_args: unknown argument '{key}' for model '{model}'"
                              f"{did_you_mean(key, accepted)}; accepted: {', '.join(accepted)}")
    return {**accepted, **args}


def adapter_class(name: str) -> type:
    """A registered model name, or 'package.module:Class' for an adapter of the user's own."""
    target = MODELS.get(name, name if ":" in name else None)
    if target is None:
        raise OvEvalError(f"--model: unknown model '{name}'{did_you_mean(name, MODELS)}; "
                          f"known: {', '.join(MODELS)} (or give package.module:Class)")
    module_name, _, class_name = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise OvEvalError(f"--model: cannot import '{target}': {exc}") from None
