"""Conversion between the original lmms-lab checkpoint format (`llava_qwen`) and transformers' LlavaOnevision.

The original config.json is a Qwen2 config with `mm_*` fields on top; its vision tower is named only by a hub id
or a local folder (`mm_vision_tower`), and LLaVA-NeXT drops that tower's LAST encoder layer and its pooling head
before training. So the transformers vision config is the named tower minus one layer, read with
`vision_feature_layer=-1` and `vision_feature_select_strategy="full"` (SigLIP has no CLS token to drop).

Towers are resolved offline: the sizes of SigLIP SO400M and of the tiny test tower are written below; any other
tower is read from the local folder `mm_vision_tower` names (a SiglipVisionModel or SiglipModel config.json, as
older tiny checkpoints wrote beside their weights), from the hub cache when it holds that id's config.json, or
from an `mm_vision_tower_config` dict of SiglipVisionConfig fields (an older ov_eval layout; real lmms-lab
checkpoints do not carry that field). Each describes the tower AS NAMED, before its last layer is dropped. The
tower's weights always come from the checkpoint itself.

Weights are renamed by ordered prefix rules (first match wins); rotary `inv_freq` and SigLIP `position_ids`
buffers are dropped because the model rebuilds them from the config.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
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
# The tiny test checkpoint's tower (ov_eval.models.tiny). A hub-style id, as real checkpoints name theirs: LLaVA-NeXT
# sends any existing path to its CLIP tower, and only a name containing "siglip" to the SigLIP one.
TINY_TOWER_ID = "ov-eval/siglip-tiny-patch14-384"
_SIGLIP_COMMON = {"patch_size": 14, "image_size": 384, "num_channels": 3, "layer_norm_eps": 1e-6,
                  "hidden_act": "gelu_pytorch_tanh", "attention_dropout": 0.0}
# Tower configs as named by `mm_vision_tower` (full depth), keyed by the id's last path component so a local
# copy of the tower (`/data/siglip-so400m-patch14-384`) resolves too.
KNOWN_VISION_TOWERS: dict[str, dict[str, Any]] = {
    "siglip-so400m-patch14-384": {"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27,
                                  "num_attention_heads": 16, **_SIGLIP_COMMON},
    "siglip-tiny-patch14-384": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3,
                                "num_attention_heads": 2, **_SIGLIP_COMMON},
}
KNOWN_TOWER_IDS = {PurePosixPath(tower_id).name: tower_id for tower_id in (SO400M_ID, TINY_TOWER_ID)}
VISION_FIELDS = tuple(KNOWN_VISION_TOWERS["siglip-so400m-patch14-384"])


def known_vision_tower(tower_id: str) -> dict[str, Any] | None:
    """The full-depth config fields of a known tower, by hub id or a local copy's folder name."""
    known = KNOWN_VISION_TOWERS.get(PurePosixPath(tower_id).name)
    return None if known is None else dict(known)

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


TOWER_REQUIRED = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "patch_size",
                  "image_size")


def _tower_fields(described: Mapping[str, Any], what: str) -> dict[str, Any]:
    missing = [f for f in TOWER_REQUIRED if f not in described]
    if missing:
        raise OvEvalError(f"{what} lacks {', '.join(missing)}")
    return {k: v for k, v in described.items() if k in VISION_FIELDS}


def _tower_config_file(tower_id: str, checkpoint_folder: Path | None) -> Path | None:
    """The config.json of the tower `mm_vision_tower` names: its folder, one of that name inside a checkpoint
    folder that was moved, or that hub id's copy in the local hub cache (never downloaded)."""
    candidates = [Path(tower_id).expanduser()]
    if checkpoint_folder is not None:
        candidates.append(checkpoint_folder / Path(tower_id).name)
    found = next((c / "config.json" for c in candidates if (c / "config.json").is_file()), None)
    if found is None and tower_id.count("/") == 1 and not Path(tower_id).is_absolute():
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(tower_id, "config.json")
        found = Path(cached) if isinstance(cached, str) else None
    return found


def _original_vision_tower(original: Mapping[str, Any], source: str,
                           checkpoint_folder: Path | None = None) -> dict[str, Any]:
    tower_id = original.get("mm_vision_tower")
    if not tower_id:
        raise OvEvalError(f"{source}: original checkpoint config has no mm_vision_tower")
    described = original.get("mm_vision_tower_config")
    if described is not None:
        return _tower_fields(described, f"{source}: mm_vision_tower_config")
    known = known_vision_tower(str(tower_id))
    if known is not None:
        return known
    config_file = _tower_config_file(str(tower_id), checkpoint_folder)
    if config_file is None:
        raise OvEvalError(f"{source}: unknown vision tower '{tower_id}' (known: {', '.join(KNOWN_TOWER_IDS.values())}, "
                          f"a local folder or a hub-cache copy holding a SigLIP config.json)")
    try:
        tower = json.loads(config_file.read_text())
    except json.JSONDecodeError as exc:
        raise OvEvalError(f"{config_file}: not valid JSON ({exc})") from None
    return _tower_fields(tower.get("vision_config", tower), str(config_file))


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
                          video_token_id: int | None = None, source: str = "config.json",
                          checkpoint_folder: Path | None = None) -> LlavaOnevisionConfig:
    """Build the transformers config of an original lmms-lab config dict; `source` names the file in errors,
    `checkpoint_folder` is where a tower folder named by a path that no longer exists is looked for."""
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

    tower = _original_vision_tower(original, source, checkpoint_folder)
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


def hf_to_original_config(config: LlavaOnevisionConfig, vision_tower: str | None = None) -> dict[str, Any]:
    """The original config.json dict of a transformers config, with every key real lmms-lab checkpoints carry.
    A known tower minus its last layer (SO400M, the tiny one) is named by its hub id; any other must be named
    by `vision_tower` (a hub id or folder the original code can load it from)."""
    text, vision = config.text_config, config.vision_config
    if config.vision_feature_layer != -1 or config.vision_feature_select_strategy != "full":
        raise OvEvalError("only vision_feature_layer=-1 with vision_feature_select_strategy='full' maps to the "
                          "original format")
    rope = text.rope_parameters or {}
    if rope.get("rope_type", "default") != "default":
        raise OvEvalError(f"only plain RoPE maps to the original format, got {rope}")
    full_tower = {f: getattr(vision, f) for f in VISION_FIELDS}
    full_tower["num_hidden_layers"] += 1
    known = next((KNOWN_TOWER_IDS[name] for name, fields in KNOWN_VISION_TOWERS.items() if fields == full_tower),
                 None)
    if vision_tower is None:
        vision_tower = known
    if vision_tower is None:
        raise OvEvalError("a vision tower other than the known SigLIP ones must be named (vision_tower=)")
    return {
        "architectures": ["LlavaQwenForCausalLM"],
        "model_type": "llava",
        **{f: getattr(text, f) for f in TEXT_REQUIRED + TEXT_OPTIONAL},
        "rope_theta": float(rope.get("rope_theta", DEFAULT_ROPE_THETA)),
        "rope_scaling": None,
        "tie_word_embeddings": bool(config.tie_word_embeddings),
        "use_cache": True,
        "image_token_index": config.image_token_index,
        "mm_vision_tower": vision_tower,
        "vision_tower_pretrained": None,
        "mm_hidden_size": vision.hidden_size,
        "mm_vision_select_layer": -2,
        "mm_vision_select_feature": "patch",
        "mm_use_im_patch_token": False,  # absent, the original builder takes true and resizes the embeddings
        "mm_use_im_start_end": False,
        "mm_tunable_parts": "mm_vision_tower,mm_mlp_adapter,mm_language_model",
        "mm_resampler_type": None,
        "use_mm_proj": True,
        "tokenizer_model_max_length": 32768,
        "tokenizer_padding_side": "right",
        "image_grid_pinpoints": [[w, h] for h, w in config.image_grid_pinpoints],
        "image_crop_resolution": None,
        "image_split_resolution": None,
        **REQUIRED_ORIGINAL_SETTINGS,
        **{k: v for k, v in OPTIONAL_ORIGINAL_SETTINGS.items() if k not in ("mm_vision_select_layer",
                                                                             "mm_vision_select_feature")},
    }


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
