"""Conversion between the original lmms-lab checkpoint format (`llava_qwen`) and transformers' LlavaOnevision.

The original config.json is a Qwen2 config with `mm_*` fields on top; its vision tower is named only by a hub id
(`mm_vision_tower`), and LLaVA-NeXT drops that tower's LAST encoder layer and its pooling head before training.
So the transformers vision config is the named tower minus one layer, read with `vision_feature_layer=-1` and
`vision_feature_select_strategy="full"` (SigLIP has no CLS token to drop).

Towers are resolved offline: the SigLIP SO400M sizes are written below. A tower this module does not know (the
tiny test checkpoint) must be described in the original config.json by an extra `mm_vision_tower_config` dict:
the SiglipVisionConfig fields of the tower AS NAMED (before its last layer is dropped). Real lmms-lab checkpoints
do not carry that field.

Weights are renamed by ordered prefix rules (first match wins); rotary `inv_freq` and SigLIP `position_ids`
buffers are dropped because the model rebuilds them from the config.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, TypeVar

import torch
from transformers import LlavaOnevisionConfig, Qwen2Config, SiglipVisionConfig

from ov_eval.errors import OvEvalError
from ov_eval.models.preprocess import ANYRES_MAX_9_PINPOINTS

T = TypeVar("T")

# Ids a real lmms-lab tokenizer gets once `<image>` and `<video>` are added after `<|im_end|>` (151645).
REAL_IMAGE_TOKEN_ID = 151646
REAL_VIDEO_TOKEN_ID = 151647

SO400M_ID = "google/siglip-so400m-patch14-384"
# Tower configs as named by `mm_vision_tower` (full depth), keyed by the id's last path component so a local
# copy of the tower (`/data/siglip-so400m-patch14-384`) resolves too.
KNOWN_VISION_TOWERS: dict[str, dict[str, Any]] = {
    "siglip-so400m-patch14-384": {
        "hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27, "num_attention_heads": 16,
        "patch_size": 14, "image_size": 384, "num_channels": 3, "layer_norm_eps": 1e-6,
        "hidden_act": "gelu_pytorch_tanh", "attention_dropout": 0.0,
    },
}
VISION_FIELDS = tuple(KNOWN_VISION_TOWERS["siglip-so400m-patch14-384"])

# Original fields that decide how the model sees images; the adapter implements exactly these values.
REQUIRED_ORIGINAL_SETTINGS: dict[str, Any] = {
    "mm_projector_type": "mlp2x_gelu",
    "image_aspect_ratio": "anyres_max_9",
}
OPTIONAL_ORIGINAL_SETTINGS: dict[str, Any] = {
    "mm_patch_merge_type": "spatial_unpad",
    "mm_spatial_pool_mode": "bilinear",
    "mm_newline_position": "one_token",
    "mm_vision_select_layer": -2,
    "mm_vision_select_feature": "patch",
}
TEXT_REQUIRED = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads")
TEXT_OPTIONAL = ("num_key_value_heads", "hidden_act", "max_position_embeddings", "rms_norm_eps",
                 "attention_dropout", "use_sliding_window", "sliding_window", "max_window_layers",
                 "bos_token_id", "eos_token_id", "pad_token_id", "initializer_range")
DEFAULT_ROPE_THETA = 10000.0  # Qwen2Config's default when a config omits rope_theta

# (original prefix, transformers prefix), tried in order; the first that matches renames the key.
KEY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("model.vision_tower.vision_tower.vision_model.", "model.vision_tower."),
    ("model.mm_projector.0.", "model.multi_modal_projector.linear_1."),
    ("model.mm_projector.2.", "model.multi_modal_projector.linear_2."),
    ("model.image_newline", "model.image_newline"),
    ("model.embed_tokens.", "model.language_model.embed_tokens."),
    ("model.layers.", "model.language_model.layers."),
    ("model.norm.", "model.language_model.norm."),
    ("lm_head.", "lm_head."),
)
DROPPED_SUFFIXES = (".inv_freq", "embeddings.position_ids")
EMBED_KEY = "model.language_model.embed_tokens.weight"
LM_HEAD_KEY = "lm_head.weight"


def is_original_config(config: Mapping[str, Any]) -> bool:
    return "mm_vision_tower" in config or "mm_projector_type" in config


def _original_vision_tower(original: Mapping[str, Any], source: str) -> dict[str, Any]:
    tower_id = original.get("mm_vision_tower")
    if not tower_id:
        raise OvEvalError(f"{source}: original checkpoint config has no mm_vision_tower")
    described = original.get("mm_vision_tower_config")
    if described is not None:
        missing = [f for f in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                               "patch_size", "image_size") if f not in described]
        if missing:
            raise OvEvalError(f"{source}: mm_vision_tower_config lacks {', '.join(missing)}")
        return {k: v for k, v in described.items() if k in VISION_FIELDS}
    known = KNOWN_VISION_TOWERS.get(PurePosixPath(str(tower_id)).name)
    if known is None:
        raise OvEvalError(f"{source}: unknown vision tower '{tower_id}' (known: {SO400M_ID}); describe it with an "
                          f"mm_vision_tower_config dict of SiglipVisionConfig fields")
    return dict(known)


def _check_original_settings(original: Mapping[str, Any], source: str) -> None:
    problems = []
    for field, expected in REQUIRED_ORIGINAL_SETTINGS.items():
        if original.get(field) != expected:
            problems.append(f"{field}={original.get(field)!r} (expected {expected!r})")
    for field, expected in OPTIONAL_ORIGINAL_SETTINGS.items():
        if field in original and original[field] != expected:
            problems.append(f"{field}={original[field]!r} (expected {expected!r})")
    if original.get("rope_scaling") is not None:
        problems.append(f"rope_scaling={original['rope_scaling']!r} (only plain RoPE is supported)")
    if problems:
        raise OvEvalError(f"{source}: unsupported OneVision settings: {'; '.join(problems)}")


def _grid_pinpoints_hw(original: Mapping[str, Any], source: str) -> list[list[int]]:
    """Original pinpoints are (width, height); transformers lists (height, width). Order is kept (it breaks ties)."""
    pinpoints = original.get("image_grid_pinpoints", [list(p) for p in ANYRES_MAX_9_PINPOINTS])
    if not isinstance(pinpoints, list) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in pinpoints):
        raise OvEvalError(f"{source}: image_grid_pinpoints must be a list of [width, height] pairs, "
                          f"got {pinpoints!r}")
    return [[int(h), int(w)] for w, h in pinpoints]


def original_to_hf_config(original: Mapping[str, Any], *, image_token_id: int | None = None,
                          video_token_id: int | None = None, source: str = "config.json") -> LlavaOnevisionConfig:
    """Build the transformers config of an original lmms-lab config dict; `source` names the file in errors."""
    _check_original_settings(original, source)
    missing = [f for f in TEXT_REQUIRED if f not in original]
    if missing:
        raise OvEvalError(f"{source}: original checkpoint config lacks {', '.join(missing)}")
    tied = bool(original.get("tie_word_embeddings", False))
    text_fields = {f: original[f] for f in TEXT_REQUIRED + TEXT_OPTIONAL if f in original}
    text_fields.setdefault("num_key_value_heads", original["num_attention_heads"])
    text = Qwen2Config(**text_fields, tie_word_embeddings=tied,
                       rope_parameters={"rope_type": "default",
                                        "rope_theta": float(original.get("rope_theta", DEFAULT_ROPE_THETA))})

    tower = _original_vision_tower(original, source)
    if tower["num_hidden_layers"] < 2:
        raise OvEvalError(f"{source}: vision tower needs at least 2 layers (the last one is dropped)")
    vision = SiglipVisionConfig(**{**tower, "num_hidden_layers": tower["num_hidden_layers"] - 1},
                                vision_use_head=False)
    if "mm_hidden_size" in original and original["mm_hidden_size"] != vision.hidden_size:
        raise OvEvalError(f"{source}: mm_hidden_size {original['mm_hidden_size']} does not match the vision "
                          f"tower width {vision.hidden_size}")

    return LlavaOnevisionConfig(
        vision_config=vision, text_config=text,
        image_token_index=image_token_id if image_token_id is not None
        else int(original.get("image_token_index", REAL_IMAGE_TOKEN_ID)),
        video_token_index=video_token_id if video_token_id is not None else REAL_VIDEO_TOKEN_ID,
        projector_hidden_act="gelu", multimodal_projector_bias=True,
        vision_feature_select_strategy="full", vision_feature_layer=-1, vision_aspect_ratio="anyres_max_9",
        image_grid_pinpoints=_grid_pinpoints_hw(original, source), tie_word_embeddings=tied)


def hf_to_original_config(config: LlavaOnevisionConfig, vision_tower_id: str = "ov-eval/custom-siglip"
                          ) -> dict[str, Any]:
    """The original config.json dict of a transformers config. A tower that is SO400M minus its last layer is
    named by its hub id; any other is written as `vision_tower_id` plus an `mm_vision_tower_config` dict."""
    text, vision = config.text_config, config.vision_config
    if config.vision_feature_layer != -1 or config.vision_feature_select_strategy != "full":
        raise OvEvalError("only vision_feature_layer=-1 with vision_feature_select_strategy='full' maps to the "
                          "original format")
    rope = text.rope_parameters or {}
    if rope.get("rope_type", "default") != "default":
        raise OvEvalError(f"only plain RoPE maps to the original format, got {rope}")
    original: dict[str, Any] = {
        "architectures": ["LlavaQwenForCausalLM"],
        "model_type": "llava_qwen",
        **{f: getattr(text, f) for f in TEXT_REQUIRED + TEXT_OPTIONAL},
        "rope_theta": float(rope.get("rope_theta", DEFAULT_ROPE_THETA)),
        "rope_scaling": None,
        "tie_word_embeddings": bool(config.tie_word_embeddings),
        "image_token_index": config.image_token_index,
        "mm_hidden_size": vision.hidden_size,
        "mm_vision_select_layer": -2,
        "mm_vision_select_feature": "patch",
        "image_grid_pinpoints": [[w, h] for h, w in config.image_grid_pinpoints],
        **REQUIRED_ORIGINAL_SETTINGS,
        **{k: v for k, v in OPTIONAL_ORIGINAL_SETTINGS.items() if k not in ("mm_vision_select_layer",
                                                                             "mm_vision_select_feature")},
    }
    full_tower = {f: getattr(vision, f) for f in VISION_FIELDS}
    full_tower["num_hidden_layers"] += 1
    if full_tower == KNOWN_VISION_TOWERS["siglip-so400m-patch14-384"]:
        original["mm_vision_tower"] = SO400M_ID
    else:
        original["mm_vision_tower"] = vision_tower_id
        original["mm_vision_tower_config"] = full_tower
    return original


def original_to_hf_key(key: str) -> str | None:
    """The transformers name of an original weight; None for buffers to drop; unknown keys come back unchanged
    (so they show up as unexpected under their own name)."""
    if key.endswith(DROPPED_SUFFIXES):
        return None
    for old, new in KEY_PREFIXES:
        if key.startswith(old):
            return new + key[len(old):]
    return key


def hf_to_original_key(key: str) -> str | None:
    if key.endswith(DROPPED_SUFFIXES):
        return None
    for old, new in KEY_PREFIXES:
        if key.startswith(new):
            return old + key[len(new):]
    return key


def _rename(state_dict: Mapping[str, T], rename: Any) -> dict[str, T]:
    renamed: dict[str, T] = {}
    for key, value in state_dict.items():
        new_key = rename(key)
        if new_key is None:
            continue
        if new_key in renamed:
            raise OvEvalError(f"two weights map to '{new_key}'")
        renamed[new_key] = value
    return renamed


def original_to_hf_state_dict(state_dict: Mapping[str, torch.Tensor], tie_word_embeddings: bool
                              ) -> dict[str, torch.Tensor]:
    """Rename original weights to transformers names; a tied, absent lm_head becomes a copy of the embeddings."""
    converted = _rename(state_dict, original_to_hf_key)
    if tie_word_embeddings and LM_HEAD_KEY not in converted and EMBED_KEY in converted:
        converted[LM_HEAD_KEY] = converted[EMBED_KEY].clone()
    return converted


def hf_to_original_state_dict(state_dict: Mapping[str, torch.Tensor], tie_word_embeddings: bool
                              ) -> dict[str, torch.Tensor]:
    """Rename transformers weights to original names; a tied lm_head is left out, as lmms-lab checkpoints do."""
    converted = _rename(state_dict, hf_to_original_key)
    if tie_word_embeddings:
        converted.pop(LM_HEAD_KEY, None)
    return converted
