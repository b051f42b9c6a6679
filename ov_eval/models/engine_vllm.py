"""The vLLM engine: a Qwen2 copy of the language model in vLLM, fed ov_eval's own rows as prompt embeddings.

Prompts are queued `window` at a time (vLLM's scheduler batches them, continuous batching); each answer is handed
on the moment it finishes, and a new prompt is queued in its place. Greedy, stopped at the same stop tokens and
`max_new_tokens` as the transformers engine; stop strings are not applied (nor are they there).
"""
from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Any, Iterator

import torch

from ov_eval.errors import OvEvalError
from ov_eval.models.batching import trim_at_stop
from ov_eval.models.engine import VllmSettings
from ov_eval.pipeline import SampleFailure
from ov_eval.types import GenerationSettings

log = logging.getLogger(__name__)


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise OvEvalError(f"--model_args: engine=vllm needs vLLM in this environment ({exc}); build it with "
                          f"`make vllm-env` and run ov_eval from .venv-vllm") from None
    return vllm


class VllmEngine:
    name = "vllm"

    def __init__(self, language_model: Path, dtype: torch.dtype, settings: VllmSettings, context: int,
                 stop_ids: list[int], on_cuda: bool) -> None:
        vllm = _import_vllm()
        from vllm.exceptions import VLLMValidationError
        from vllm.sampling_params import RequestOutputKind

        self.version = vllm.__version__
        self.settings = settings
        self.stop_ids = stop_ids
        self.max_model_len = settings.max_model_len or context
        self.window = 2 * settings.max_num_seqs  # a full batch running and one waiting
        self._refused = VLLMValidationError
        self._final_only = RequestOutputKind.FINAL_ONLY
        self._sampling_params = vllm.SamplingParams
        kwargs: dict[str, Any] = dict(
            dtype=str(dtype).removeprefix("torch."), tensor_parallel_size=settings.tensor_parallel_size,
            max_num_seqs=settings.max_num_seqs, max_model_len=self.max_model_len,
            enforce_eager=settings.enforce_eager, enable_prompt_embeds=True, skip_tokenizer_init=True, seed=0)
        if on_cuda:
            kwargs["gpu_memory_utilization"] = settings.gpu_memory_utilization
        try:
            self.llm = vllm.LLM(str(language_model), **kwargs)
        except Exception as exc:  # vLLM's own message names the setting; the traceback helps nobody
            raise OvEvalError(f"--model_args: vLLM could not start its engine: {type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
        self._engine = self.llm.llm_engine
        self._ids = itertools.count()

    def identity(self) -> list[Any]:
        # gpu_memory_utilization sizes the KV cache only; everything else can change the kernels or the answers
        settings = self.settings.to_dict()
        settings.pop("gpu_memory_utilization")
        return ["vllm", self.version, sorted(settings.items())]

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "vllm_version": self.version,
                "vllm_settings": self.settings.to_dict() | {"max_model_len": self.max_model_len}}

    def _params(self, settings: GenerationSettings) -> Any:
        return self._sampling_params(temperature=0.0, max_tokens=settings.max_new_tokens,
                                     stop_token_ids=list(self.stop_ids), detokenize=False,
                                     output_kind=self._final_only)

    def prompt(self, row: torch.Tensor) -> dict[str, torch.Tensor]:
        """What vLLM is handed for a row: the row itself (on the host, where vLLM's input processing reads it)."""
        return {"prompt_embeds": row.detach().cpu()}

    def stream(self, items: Iterator[tuple[Any, torch.Tensor, GenerationSettings]]
               ) -> Iterator[tuple[Any, list[int] | SampleFailure]]:
        pending: dict[str, Any] = {}
        source = iter(items)
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < self.window:
                    try:
                        tag, row, settings = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    request_id = str(next(self._ids))
                    try:
                        self._engine.add_request(request_id, self.prompt(row), self._params(settings))
                    except self._refused as exc:  # e.g. past max_model_len: this prompt's error, not the run's
                        yield tag, SampleFailure(f"vLLM refused the prompt: {exc}")
                        continue
                    pending[request_id] = tag
                if not pending:
                    return
                for output in self._engine.step():
                    if output.finished:
                        yield pending.pop(output.request_id), trim_at_stop(output.outputs[0].token_ids,
                                                                           self.stop_ids)
        finally:
            if pending:  # stopped early (Ctrl-C, an error downstream): nothing more runs for these
                self._engine.abort_request(list(pending))

    def generate(self, rows: list[torch.Tensor], settings: GenerationSettings) -> list[list[int]]:
        results: dict[int, list[int] | SampleFailure] = dict(
            self.stream((index, row, settings) for index, row in enumerate(rows)))
        for index in range(len(rows)):
            if isinstance(results[index], SampleFailure):
                raise results[index]
        return [results[index] for index in range(len(rows))]  # type: ignore[misc]
