"""A tiny checkpoint of the real OneVision architecture (SigLIP tower + projector + Qwen2), random weights.

Sizes keep 384 px tiles and 27x27 patches so every token count matches the real model; widths and depths are
tiny so it runs on a CPU in milliseconds. The tokenizer is byte-level with the real special tokens: `<image>` and
`<video>` only in the transformers (llava-hf) format, as on the hub; the original format's tokenizer has neither,
as the lmms-lab ones.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models
from transformers import (LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration, PreTrainedTokenizerFast,
                          Qwen2Config, SiglipVisionConfig, SiglipVisionModel)

from ov_eval.models.convert import (TINY_TOWER_ID, VISION_FIELDS, hf_to_original_config, hf_to_original_state_dict,
                                    known_vision_tower)
from ov_eval.models.preprocess import ANYRES_MAX_9_PINPOINTS

TEXT_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MEDIA_TOKENS = ["<image>", "<video>"]
SPECIAL_TOKENS = TEXT_SPECIAL_TOKENS + MEDIA_TOKENS


def build_tokenizer(media_tokens: bool = True) -> PreTrainedTokenizerFast:
    """One token per printable ASCII character (plus newline and tab), so random outputs stay readable. With
    `media_tokens`, `<image>` and `<video>` follow the text special tokens (ids 101 and 102)."""
    symbols = ["<unk>", "\n", "\t"] + [chr(c) for c in range(32, 127)]
    backend = Tokenizer(models.BPE(vocab={s: i for i, s in enumerate(symbols)}, merges=[], unk_token="<unk>"))
    backend.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", eos_token="<|im_end|>",
                                        pad_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS if media_tokens
                                  else TEXT_SPECIAL_TOKENS})
    return tokenizer


def tiny_config(tokenizer: PreTrainedTokenizerFast) -> LlavaOnevisionConfig:
    # The tiny tower minus its last layer, as OneVision uses it; no pooling head (OneVision reads hidden states).
    tower = known_vision_tower(TINY_TOWER_ID)
    tower["num_hidden_layers"] -= 1
    vision = SiglipVisionConfig(**tower, vision_use_head=False)
    # Head size 32: the smallest vLLM's CPU attention accepts (it refuses 16), so the engine tests can run it.
    text = Qwen2Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32768,
                       tie_word_embeddings=True, bos_token_id=None,
                       eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
                       pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"))
    return onevision_config(vision, text, tokenizer)


def onevision_config(vision: SiglipVisionConfig, text: Qwen2Config,
                     tokenizer: PreTrainedTokenizerFast) -> LlavaOnevisionConfig:
    """The OneVision wiring around a tower and a language model: the published anyres_max_9 settings."""
    return LlavaOnevisionConfig(
        vision_config=vision, text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
        vision_feature_select_strategy="full", vision_feature_layer=-1, vision_aspect_ratio="anyres_max_9",
        image_grid_pinpoints=[[h, w] for w, h in ANYRES_MAX_9_PINPOINTS], tie_word_embeddings=True)


def _randomise(model: torch.nn.Module, seed: int) -> None:
    """Scaled-normal weights (std 2/sqrt(fan_in)): large enough that outputs follow the image and the question."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            if param.dim() >= 2:
                std = 2.0 / math.sqrt(param.shape[-1])
                param.copy_(torch.randn(param.shape, generator=generator) * std)
            elif "norm" in name:
                param.fill_(1.0)
            else:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)


def build_tiny_model(seed: int = 0) -> tuple[LlavaOnevisionForConditionalGeneration, PreTrainedTokenizerFast]:
    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    model = LlavaOnevisionForConditionalGeneration(tiny_config(tokenizer))
    _randomise(model, seed)
    model.generation_config.eos_token_id = [tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.eval(), tokenizer


def write_tiny_checkpoint(out_dir: Path, seed: int = 0, format: str = "hf") -> Path:
    """Save the tiny model of `seed` as a transformers checkpoint (`format="hf"`) or, with the same weights, in the
    original lmms-lab layout (`format="original"`: llava config.json naming the tower by the hub-style id
    TINY_TOWER_ID, original key names, no tied lm_head, a tokenizer without `<image>` / `<video>` in files
    transformers 4.4x reads). LLaVA-NeXT loads the latter as it is once `write_tower_cache` has put the tower
    where a download would have."""
    if format not in ("hf", "original"):
        raise ValueError(f"format must be 'hf' or 'original', got {format!r}")
    model, tokenizer = build_tiny_model(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if format == "hf":
        model.save_pretrained(out_dir)
        _use_hub_tower_names(out_dir / "model.safetensors")
        tokenizer.save_pretrained(out_dir)
        _write_processor(model.config, tokenizer, out_dir)
    else:
        _write_original(model, out_dir)
        build_tokenizer(media_tokens=False).save_pretrained(out_dir)
        _write_portable_tokenizer_config(out_dir / "tokenizer_config.json")
    return out_dir


def write_tower_cache(seed: int = 0, hub_cache: Path | None = None) -> Path:
    """The tiny tower of `seed` (see `write_vision_tower`) under TINY_TOWER_ID in the Hugging Face hub-cache layout
    (`models--ORG--NAME/blobs`, `snapshots/<rev>/` linking to them, `refs/main`) of `hub_cache` (default: the
    one huggingface_hub uses, under HF_HOME), so `from_pretrained(TINY_TOWER_ID)` finds it offline, as it finds
    a downloaded tower. Returns the snapshot folder."""
    if hub_cache is None:
        from huggingface_hub import constants

        hub_cache = Path(constants.HF_HUB_CACHE)
    model, _ = build_tiny_model(seed)
    repo = Path(hub_cache) / ("models--" + TINY_TOWER_ID.replace("/", "--"))
    staging = repo / ".staging"
    files = write_vision_tower(model, staging, seed)
    contents = {path.name: path.read_bytes() for path in sorted(files.iterdir())}
    revision = hashlib.sha1(b"".join(hashlib.sha256(data).digest() for data in contents.values())).hexdigest()
    snapshot = repo / "snapshots" / revision
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        blob = repo / "blobs" / _blob_name(name, data)
        blob.write_bytes(data)
        link = snapshot / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(blob, snapshot))
        (staging / name).unlink()
    staging.rmdir()
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(revision)  # no newline: huggingface_hub reads the file as the revision
    return snapshot


def _blob_name(name: str, data: bytes) -> str:
    """What the hub names a blob: the sha256 of an LFS file (weights), the git blob sha1 of any other."""
    if name.endswith(".safetensors"):
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _use_hub_tower_names(path: Path) -> None:
    """transformers 5 saves the tower as `vision_tower.embeddings.*`; llava-hf checkpoints on the hub (and vLLM,
    which refuses the short form) spell it `vision_tower.vision_model.*`. transformers loads both alike."""
    with safe_open(str(path), "pt") as weights:
        renamed = {("vision_tower.vision_model." + k.removeprefix("vision_tower.")
                    if k.startswith("vision_tower.") else k): weights.get_tensor(k) for k in weights.keys()}
    save_file(renamed, str(path), metadata={"format": "pt"})


# The qwen_1_5 turns, with every content part where the request puts it (transformers serve renders this).
_SERVING_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>\n{% elif part['type'] == 'video' %}<video>\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def _write_processor(config: LlavaOnevisionConfig, tokenizer: PreTrainedTokenizerFast, out_dir: Path) -> None:
    """The processor files `transformers serve` loads with AutoProcessor (SigLIP's 0.5 mean and std, 384 px)."""
    from transformers import LlavaOnevisionImageProcessor, LlavaOnevisionProcessor, LlavaOnevisionVideoProcessor

    size, half = {"height": 384, "width": 384}, [0.5, 0.5, 0.5]
    LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(image_grid_pinpoints=config.image_grid_pinpoints, size=size,
                                                     image_mean=half, image_std=half),
        video_processor=LlavaOnevisionVideoProcessor(size=size, image_mean=half, image_std=half),
        tokenizer=tokenizer, num_image_tokens=729, vision_feature_select_strategy="full",
        vision_aspect_ratio="anyres_max_9", chat_template=_SERVING_CHAT_TEMPLATE).save_pretrained(out_dir)


def _write_original(model: LlavaOnevisionForConditionalGeneration, out_dir: Path) -> None:
    config = hf_to_original_config(model.config)  # names the tower TINY_TOWER_ID
    weights = hf_to_original_state_dict(model.state_dict(), tie_word_embeddings=model.config.tie_word_embeddings)
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_file({k: v.detach().contiguous().clone() for k, v in weights.items()}, str(out_dir / "model.safetensors"),
              metadata={"format": "pt"})


def write_vision_tower(model: LlavaOnevisionForConditionalGeneration, folder: Path, seed: int) -> Path:
    """The SigLIP tower as `mm_vision_tower` names it: the model's tower plus the last layer and pooling head that
    OneVision drops (random), in the layout transformers 4.4x saves (`vision_model.*` keys, `siglip_vision_model`
    config), so LLaVA-NeXT's tower loader and transformers' SiglipVisionModel both read it. (LLaVA-NeXT then
    overwrites the kept layers with the checkpoint's own tower weights, which are these.)"""
    kept = model.model.vision_tower
    fields = {f: getattr(kept.config, f) for f in VISION_FIELDS}
    fields["num_hidden_layers"] += 1
    tower = SiglipVisionModel(SiglipVisionConfig(**fields, vision_use_head=True))
    _randomise(tower, seed + 1)
    unmatched = tower.load_state_dict(kept.state_dict(), strict=False)
    if unmatched.unexpected_keys:
        raise ValueError(f"tower keys not in a SiglipVisionModel: {unmatched.unexpected_keys}")
    folder.mkdir(parents=True, exist_ok=True)
    config = {"architectures": ["SiglipVisionModel"], "model_type": "siglip_vision_model", **fields,
              "vision_use_head": True, "torch_dtype": "float32"}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    weights = {f"vision_model.{k}": v.detach().contiguous().clone() for k, v in tower.state_dict().items()}
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def _write_portable_tokenizer_config(path: Path) -> None:
    """transformers 5 names its own backend class (`TokenizersBackend`) and a list-valued `extra_special_tokens`;
    4.4x knows neither. Name `PreTrainedTokenizerFast` (tokenizer.json holds everything) and list the special
    tokens as `additional_special_tokens`, as Qwen2 tokenizer files do."""
    config = json.loads(path.read_text())
    config.pop("backend", None)
    config["additional_special_tokens"] = config.pop("extra_special_tokens", [])
    config.update(tokenizer_class="PreTrainedTokenizerFast", model_max_length=32768, padding_side="right")
    path.write_text(json.dumps(config, indent=2) + "\n")
