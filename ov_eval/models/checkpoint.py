"""Checkpoint resolution and loading: a local folder or a hub id from the local cache; loading must be complete."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer, LlavaOnevisionForConditionalGeneration, PreTrainedTokenizerBase

from ov_eval.errors import OvEvalError

log = logging.getLogger(__name__)
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


@dataclass
class LoadedCheckpoint:
    model: LlavaOnevisionForConditionalGeneration
    tokenizer: PreTrainedTokenizerBase
    identity: str  # changes whenever the weights or config on disk change


def resolve_pretrained(pretrained: str) -> Path:
    local = Path(pretrained).expanduser()
    if local.is_dir():
        return local.resolve()
    if local.is_absolute() or pretrained.startswith("."):
        raise OvEvalError(f"--model_args: pretrained folder '{pretrained}' does not exist")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(pretrained))
    except Exception as exc:
        raise OvEvalError(f"--model_args: cannot find checkpoint '{pretrained}' locally or on the hub "
                          f"({type(exc).__name__}); pass a local folder as pretrained=DIR") from None


def checkpoint_identity(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.suffix in (".json", ".safetensors", ".bin", ".model", ".txt"):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
            if path.name == "config.json":
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def choose_dtype(name: str, device: torch.device) -> torch.dtype:
    if name == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if name not in DTYPES:
        raise OvEvalError(f"--model_args: dtype must be one of auto, {', '.join(DTYPES)}; got '{name}'")
    return DTYPES[name]


def choose_attention(requested: Any) -> str | None:
    if requested in (None, "None", "none", ""):
        return None
    if requested == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        log.warning("flash-attn is not installed: using sdpa attention instead")
        return "sdpa"
    if requested not in ("flash_attention_2", "sdpa", "eager"):
        raise OvEvalError(f"--model_args: attn_implementation must be flash_attention_2, sdpa, eager or None; "
                          f"got '{requested}'")
    return str(requested)


def load_checkpoint(pretrained: str, dtype: str, attn_implementation: Any, device: str | torch.device,
                    device_map: Any = None) -> LoadedCheckpoint:
    folder = resolve_pretrained(pretrained)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise OvEvalError(f"--model_args: '{folder}' has no config.json")
    config = json.loads(config_path.read_text())
    if config.get("model_type") != "llava_onevision":
        raise OvEvalError(f"{config_path}: model_type '{config.get('model_type')}' is not a transformers "
                          f"llava_onevision checkpoint")
    device = torch.device(device)
    kwargs: dict[str, Any] = {"dtype": choose_dtype(dtype, device), "output_loading_info": True}
    attention = choose_attention(attn_implementation)
    if attention:
        kwargs["attn_implementation"] = attention
    if device_map not in (None, "None", ""):
        kwargs["device_map"] = device_map
    model, info = LlavaOnevisionForConditionalGeneration.from_pretrained(str(folder), **kwargs)
    problems = {k: sorted(info.get(k) or []) for k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    problems = {k: v for k, v in problems.items() if v}
    if problems:
        listing = "; ".join(f"{k}: {', '.join(map(str, v[:20]))}{' …' if len(v) > 20 else ''}"
                            for k, v in problems.items())
        raise OvEvalError(f"{folder}: the checkpoint does not match the model ({listing})")
    if "device_map" not in kwargs:
        model = model.to(device)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    return LoadedCheckpoint(model.eval(), tokenizer, checkpoint_identity(folder))
