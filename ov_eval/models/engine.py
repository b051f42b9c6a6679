"""The generation engines of the OneVision adapter: the interface, the `engine=` argument and vLLM's settings.

The adapter builds each sample's `inputs_embeds` row itself (one function, whichever engine runs); an engine only
turns rows into generated token ids. `transformers` (ov_eval.models.engine_transformers): a left-padded batched
`generate` on the transformers model. `vllm` (ov_eval.models.engine_vllm): vLLM's engine on a Qwen2 copy of the
language model, fed the same rows as prompt embeddings, with its own scheduler (continuous batching).
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Iterator, Protocol

import torch

from ov_eval.errors import OvEvalError
from ov_eval.pipeline import SampleFailure
from ov_eval.types import GenerationSettings

ENGINES = ("transformers", "vllm")
VLLM_ARGS: dict[str, Any] = {"tensor_parallel_size": None, "gpu_memory_utilization": None, "max_num_seqs": None,
                             "max_model_len": None, "enforce_eager": None}
DEFAULT_MAX_NUM_SEQS = 16


class Engine(Protocol):
    name: str

    def identity(self) -> list[Any]:
        """What of the engine decides outputs, beyond the checkpoint and prompting (empty for transformers)."""

    def describe(self) -> dict[str, Any]: ...

    def generate(self, rows: list[torch.Tensor], settings: GenerationSettings) -> list[list[int]]:
        """Greedy generated token ids per row, cut before the first stop token."""


class StreamingEngine(Engine, Protocol):
    window: int  # prompts it wants queued at once (its scheduler batches them)

    def stream(self, items: Iterator[tuple[Any, torch.Tensor, GenerationSettings]]
               ) -> Iterator[tuple[Any, list[int] | SampleFailure]]:
        """(tag, token ids or that prompt's failure) for each (tag, row, settings), in completion order."""


@dataclass(frozen=True)
class VllmSettings:
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_num_seqs: int = DEFAULT_MAX_NUM_SEQS
    max_model_len: int | None = None  # None: the model's context
    enforce_eager: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def engine_name(args: dict[str, Any]) -> str:
    """The `engine=` model argument, checked; vLLM settings given to the transformers engine are an error."""
    name = str(args.get("engine") or "transformers")
    if name not in ENGINES:
        raise OvEvalError(f"--model_args: engine must be {' or '.join(ENGINES)}, not '{name}'")
    given = [key for key in VLLM_ARGS if args.get(key) not in (None, "")]
    if name != "vllm" and given:
        raise OvEvalError(f"--model_args: {given[0]} is a setting of engine=vllm (this run uses engine={name})")
    return name


def _positive_int(args: dict[str, Any], key: str) -> int | None:
    value = args.get(key)
    if value in (None, ""):
        return None
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise OvEvalError(f"--model_args: {key} must be a positive integer, not '{value}'")
    return int(text)


def vllm_settings(args: dict[str, Any]) -> VllmSettings:
    """vLLM's settings from the model arguments; `gpus_per_process=K` means `tensor_parallel_size=K`."""
    defaults = VllmSettings()
    utilization = args.get("gpu_memory_utilization")
    if utilization in (None, ""):
        utilization_value = defaults.gpu_memory_utilization
    else:
        try:
            utilization_value = float(utilization)
        except ValueError:
            utilization_value = -1.0
        if not 0 < utilization_value <= 1:
            raise OvEvalError(f"--model_args: gpu_memory_utilization must be a number in (0, 1], "
                              f"not '{utilization}'")
    eager = str(args.get("enforce_eager") or "false").lower()
    if eager not in ("true", "false"):
        raise OvEvalError(f"--model_args: enforce_eager must be true or false, not '{args.get('enforce_eager')}'")
    return VllmSettings(
        tensor_parallel_size=tensor_parallel_size(_positive_int(args, "gpus_per_process"),
                                                  _positive_int(args, "tensor_parallel_size")),
        gpu_memory_utilization=utilization_value,
        max_num_seqs=_positive_int(args, "max_num_seqs") or defaults.max_num_seqs,
        max_model_len=_positive_int(args, "max_model_len"),
        enforce_eager=eager == "true")


def tensor_parallel_size(gpus_per_process: int | None, requested: int | None) -> int:
    """One engine per process over its own GPUs: gpus_per_process=K is tensor parallelism over K GPUs."""
    if gpus_per_process and requested and gpus_per_process != requested:
        raise OvEvalError(f"--model_args: tensor_parallel_size={requested} contradicts gpus_per_process="
                          f"{gpus_per_process} (each process's engine spans its own GPUs; give one of the two)")
    return gpus_per_process or requested or 1


def engine_visible_devices(gpus: list[int], visible: str | None) -> str:
    """CUDA_VISIBLE_DEVICES for this process's engine: its GPUs (indices into what the process sees)."""
    if visible in (None, ""):
        return ",".join(map(str, gpus))
    entries = [entry.strip() for entry in visible.split(",") if entry.strip()]
    if max(gpus) >= len(entries):
        raise OvEvalError(f"--model_args: GPUs {gpus} of this process are not all among CUDA_VISIBLE_DEVICES="
                          f"{visible}")
    return ",".join(entries[gpu] for gpu in gpus)


def restrict_engine_gpus(gpus: list[int]) -> None:
    """The engine's processes (spawned later) see only this process's GPUs."""
    os.environ["CUDA_VISIBLE_DEVICES"] = engine_visible_devices(gpus, os.environ.get("CUDA_VISIBLE_DEVICES"))
