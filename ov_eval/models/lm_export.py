"""The language model of a OneVision checkpoint as a plain Qwen2ForCausalLM checkpoint, written once into a cache.

vLLM's OneVision model module needs torchvision and re-processes images its own way; ov_eval hands vLLM the
embeddings it built itself, so vLLM only needs the language model. Whatever the source format (llava-hf or the
original lmms-lab layout: `ov_eval.models.checkpoint` loads both into the same transformers model), the loaded
model's `language_model` and `lm_head` are written as `model.*` / `lm_head.*` with the text config as a qwen2
config. The folder is keyed by the checkpoint identity and dtype, so a changed checkpoint gets a new copy and an
unchanged one is never written twice.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import torch
from huggingface_hub import save_torch_state_dict
from transformers import PreTrainedModel

log = logging.getLogger(__name__)
DONE_MARKER = ".complete"


def export_cache_root() -> Path:
    configured = os.environ.get("OV_EVAL_LM_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "ov_eval" / "language_models"


def language_model_folder(checkpoint_id: str, dtype: torch.dtype, root: Path | None = None) -> Path:
    return (root or export_cache_root()) / f"{checkpoint_id}-{str(dtype).removeprefix('torch.')}"


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.iterdir() if path.is_file())


def export_language_model(model: PreTrainedModel, checkpoint_id: str, root: Path | None = None) -> Path:
    """The cached Qwen2 checkpoint of `model`'s language model (written now if absent); its folder."""
    dtype = next(model.parameters()).dtype
    folder = language_model_folder(checkpoint_id, dtype, root)
    if (folder / DONE_MARKER).is_file():
        log.info("language model for vLLM: reusing %s (%.1f MB)", folder, folder_size(folder) / 1e6)
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        _write(model, staging, dtype)
        (staging / DONE_MARKER).touch()
        if folder.exists():  # an interrupted earlier export (no marker): replace it
            shutil.rmtree(folder)
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("language model for vLLM: wrote %s (%.1f MB)", folder, folder_size(folder) / 1e6)
    return folder


def _write(model: PreTrainedModel, folder: Path, dtype: torch.dtype) -> None:
    language_model = model.model.language_model
    lm_head = model.get_output_embeddings()
    tied = lm_head.weight.data_ptr() == language_model.get_input_embeddings().weight.data_ptr()
    config = model.config.text_config.to_dict()
    config.update(architectures=["Qwen2ForCausalLM"], model_type="qwen2", tie_word_embeddings=tied,
                  dtype=str(dtype).removeprefix("torch."))
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    weights = {f"model.{name}": tensor.detach().cpu().contiguous()
               for name, tensor in language_model.state_dict().items()}
    if not tied:
        weights["lm_head.weight"] = lm_head.weight.detach().cpu().contiguous()
    save_torch_state_dict(weights, str(folder), max_shard_size="5GB")
