"""Loading a OneVision checkpoint for engine=vllm: the vision side here, the language model in vLLM.

The checkpoint loads on the host (either format, `ov_eval.models.checkpoint`); its language model is exported once
as a Qwen2 checkpoint (`ov_eval.models.lm_export`) for vLLM; then the transformer layers are dropped from this
process (vLLM holds them) and what builds the embeddings (vision tower, projector, token embeddings, image newline)
moves to the device the engine runs on: this process's first GPU, or the CPU.
"""
from __future__ import annotations

import os
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from ov_eval.distributed import this_process_gpus
from ov_eval.models.checkpoint import choose_dtype, load_checkpoint
from ov_eval.models.engine import restrict_engine_gpus, vllm_settings
from ov_eval.models.lm_export import export_language_model


def load_for_vllm(args: dict[str, Any], device: str | torch.device
                  ) -> tuple[torch.nn.Module, PreTrainedTokenizerBase, str, Any]:
    from ov_eval.models.engine_vllm import VllmEngine, _import_vllm
    from ov_eval.models.onevision import stop_token_ids

    settings = vllm_settings(args)
    _import_vllm()  # before minutes of loading: say at once when vLLM is missing
    device = torch.device(device)
    if args.get("device_map") not in (None, "None", ""):
        from ov_eval.errors import OvEvalError

        raise OvEvalError("--model_args: device_map places a transformers model; with engine=vllm use "
                          "gpus_per_process or tensor_parallel_size")
    if device.type == "cuda":
        if args.get("gpus_per_process") not in (None, "None", ""):
            gpus = this_process_gpus(args["gpus_per_process"])
        else:
            first = device.index or 0
            gpus = list(range(first, first + settings.tensor_parallel_size))
        if int(os.environ.get("LOCAL_WORLD_SIZE", "1")) > 1 or args.get("gpus_per_process") not in (None, "None", ""):
            restrict_engine_gpus(gpus)
        device = torch.device("cuda", gpus[0])
        torch.cuda.set_device(device)  # this process's own allocations (and NCCL's) stay on its GPUs
    dtype = str(choose_dtype(str(args["dtype"]), device)).removeprefix("torch.")  # "auto" as on that device
    loaded = load_checkpoint(str(args["pretrained"]), dtype=dtype, attn_implementation=args["attn_implementation"],
                             device="cpu")
    model = loaded.model
    language_model = export_language_model(model, loaded.identity)
    model.model.language_model.layers = torch.nn.ModuleList()  # vLLM holds them
    if model.lm_head.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
        model.lm_head = torch.nn.Identity()  # untied (7B, 72B): another vocabulary x hidden matrix not needed here
    dtype = next(model.parameters()).dtype
    model = model.to(device)
    context = int(model.config.text_config.max_position_embeddings)
    engine = VllmEngine(language_model, dtype, settings, context, stop_token_ids(loaded.tokenizer),
                        on_cuda=device.type == "cuda")
    return model, loaded.tokenizer, loaded.identity, engine
