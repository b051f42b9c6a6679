"""Checkpoint resolution and loading: a local folder or a hub id from the local cache; loading must be complete.

Two formats load into the same transformers model: llava-hf folders directly, original lmms-lab folders through
`ov_eval.models.convert` (config and weight names converted, every parameter checked to come from the file)."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from transformers import AutoTokenizer, LlavaOnevisionForConditionalGeneration, PreTrainedTokenizerBase

from ov_eval.distributed import this_process_gpus
from ov_eval.errors import OvEvalError
from ov_eval.fingerprint import files_fingerprints
from ov_eval.models.convert import (LM_HEAD_KEY, hf_to_original_key, is_original_config, original_to_hf_config,
                                    original_to_hf_key)

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
    """Changes whenever the bytes of the config, tokenizer or weights change (content fingerprints, cached by
    inode and ctime: see ov_eval.fingerprint), not only their names, sizes or times."""
    paths = [path for path in sorted(folder.iterdir())
             if path.suffix in (".json", ".safetensors", ".bin", ".model", ".txt") and path.is_file()]
    digest = hashlib.sha256()
    for path, fingerprint in zip(paths, files_fingerprints(paths), strict=True):
        digest.update(f"{path.name}:{fingerprint}\n".encode())
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


def detect_format(config: dict[str, Any], config_path: Path) -> str:
    """'hf' for a transformers llava_onevision folder, 'original' for an lmms-lab llava_qwen folder."""
    if config.get("model_type") == "llava_onevision":
        return "hf"
    if is_original_config(config):
        return "original"
    if config.get("model_type") in ("llava", "llava_qwen"):  # lmms-lab's model_type; older tiny ones: llava_qwen
        raise OvEvalError(f"{config_path}: an original lmms-lab (llava_qwen) config needs mm_vision_tower and "
                          f"mm_projector_type (both missing)")
    raise OvEvalError(f"{config_path}: neither a transformers llava_onevision checkpoint (model_type is "
                      f"'{config.get('model_type')}') nor an original lmms-lab OneVision checkpoint "
                      f"(no mm_vision_tower / mm_projector_type)")


def check_config_keys(config: dict[str, Any], checkpoint_format: str, config_path: Path) -> None:
    """The sections each layout cannot do without: transformers would otherwise build a default-sized model
    (minutes and many GB) from a config that lacks them."""
    if checkpoint_format == "hf":
        missing = [key for key in ("text_config", "vision_config") if not isinstance(config.get(key), dict)]
        if missing:
            raise OvEvalError(f"{config_path}: a transformers llava_onevision config needs {' and '.join(missing)} "
                              f"(missing or not a mapping)")


def check_safetensors(path: Path) -> None:
    """A header that parses and tensor data that the file really holds; checked before anything is loaded."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        prefix = handle.read(8)
        header_size = int.from_bytes(prefix, "little") if len(prefix) == 8 else None
        if header_size is None or header_size > size - 8:
            raise OvEvalError(f"{path}: truncated or corrupt safetensors file (its {size} bytes do not hold the "
                              f"header it announces)")
        try:
            header = json.loads(handle.read(header_size))
            ends = [int(entry["data_offsets"][1]) for name, entry in header.items() if name != "__metadata__"]
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise OvEvalError(f"{path}: corrupt safetensors header (not a JSON table of tensors)") from None
    needed = 8 + header_size + max(ends, default=0)
    if needed > size:
        raise OvEvalError(f"{path}: truncated safetensors file ({size} bytes; its tensors need {needed})")


def load_checkpoint(pretrained: str, dtype: str, attn_implementation: Any, device: str | torch.device,
                    device_map: Any = None, gpus_per_process: Any = None) -> LoadedCheckpoint:
    folder = resolve_pretrained(pretrained)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise OvEvalError(f"--model_args: '{folder}' has no config.json")
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as exc:
        raise OvEvalError(f"{config_path}: not valid JSON ({exc})") from None
    checkpoint_format = detect_format(config, config_path)
    check_config_keys(config, checkpoint_format, config_path)
    for path in weight_files(folder):
        if path.suffix == ".safetensors":
            check_safetensors(path)
    device = torch.device(device)
    kwargs: dict[str, Any] = {"dtype": choose_dtype(dtype, device), "output_loading_info": True}
    attention = choose_attention(attn_implementation)
    if attention:
        kwargs["attn_implementation"] = attention
    if device_map not in (None, "None", ""):
        kwargs["device_map"] = device_map
    if gpus_per_process not in (None, "None", ""):
        kwargs.update(own_gpus_placement(gpus_per_process, device_map))
    if checkpoint_format == "hf":
        model, info = LlavaOnevisionForConditionalGeneration.from_pretrained(str(folder), **kwargs)
        _raise_on_loading_problems(folder, info)
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    else:
        model, tokenizer = _load_original(folder, config, kwargs)
    if "device_map" not in kwargs:
        model = model.to(device)
    return LoadedCheckpoint(model.eval(), tokenizer, checkpoint_identity(folder))


def own_gpus_placement(gpus_per_process: Any, device_map: Any) -> dict[str, Any]:
    """from_pretrained arguments that spread this process's model over its own GPUs only (no CPU offload)."""
    if device_map not in (None, "None", "", "auto"):
        raise OvEvalError(f"--model_args: gpus_per_process places the model itself; drop device_map={device_map}")
    gpus = this_process_gpus(gpus_per_process)
    torch.cuda.set_device(gpus[0])  # this process's own allocations (and NCCL's) stay on its GPUs
    return {"device_map": "auto", "max_memory": {gpu: torch.cuda.mem_get_info(gpu)[0] for gpu in gpus}}


def _raise_on_loading_problems(folder: Path, info: dict[str, Any]) -> None:
    problems = {k: sorted(map(str, info.get(k) or [])) for k in ("missing_keys", "unexpected_keys",
                                                                 "mismatched_keys")}
    problems = {k: v for k, v in problems.items() if v}
    if problems:
        raise OvEvalError(f"{folder}: the checkpoint does not match the model "
                          f"({'; '.join(f'{k}: {_listing(v)}' for k, v in problems.items())})")


def _listing(keys: list[str], limit: int = 20) -> str:
    return ", ".join(keys[:limit]) + (f" … ({len(keys)} in all)" if len(keys) > limit else "")


# ---- original lmms-lab (llava_qwen) checkpoints ----

def _load_original(folder: Path, original: dict[str, Any], kwargs: dict[str, Any]
                   ) -> tuple[LlavaOnevisionForConditionalGeneration, PreTrainedTokenizerBase]:
    config = original_to_hf_config(original, source=str(folder / "config.json"), checkpoint_folder=folder)
    config._name_or_path = str(folder)
    tokenizer = _original_tokenizer(folder, config)
    config.image_token_index = tokenizer.convert_tokens_to_ids("<image>")
    config.video_token_index = tokenizer.convert_tokens_to_ids("<video>")
    with ExitStack() as open_files:
        weights = _renamed_weights(folder, open_files)
        _check_weights_match(folder, config, weights)
        model, info = LlavaOnevisionForConditionalGeneration.from_pretrained(
            None, config=config, state_dict=weights, **kwargs)
    _raise_on_loading_problems(folder, info)
    vocab = tokenizer.get_vocab()
    stop_ids = [vocab[t] for t in ("<|im_end|>", "<|endoftext|>") if t in vocab]
    if stop_ids:  # what llava-hf ships in generation_config.json; the original format has none
        model.generation_config.eos_token_id = stop_ids
        model.generation_config.pad_token_id = stop_ids[-1]
    return model, tokenizer


def _original_tokenizer(folder: Path, config: Any) -> PreTrainedTokenizerBase:
    """lmms-lab tokenizers have no `<image>` / `<video>` tokens (LLaVA-NeXT splices the image in by hand): add
    them, as llava-hf did; after Qwen2's 151646 tokens they get the real ids 151646 and 151647."""
    tokenizer = AutoTokenizer.from_pretrained(str(folder), config=config)  # config.json is not a tokenizer hint
    absent = [t for t in ("<image>", "<video>") if t not in tokenizer.get_vocab()]
    if absent:
        tokenizer.add_tokens(absent, special_tokens=True)
    vocab_size = config.text_config.vocab_size
    for token in ("<image>", "<video>"):
        if tokenizer.convert_tokens_to_ids(token) >= vocab_size:
            raise OvEvalError(f"{folder}: token {token} gets id {tokenizer.convert_tokens_to_ids(token)}, beyond "
                              f"the model's {vocab_size} embeddings")
    return tokenizer


def weight_files(folder: Path) -> list[Path]:
    """The checkpoint's weight files: safetensors first (single or sharded), else pytorch_model*.bin."""
    for single, index in (("model.safetensors", "model.safetensors.index.json"),
                          ("pytorch_model.bin", "pytorch_model.bin.index.json")):
        if (folder / index).is_file():
            try:
                weight_map = json.loads((folder / index).read_text())["weight_map"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise OvEvalError(f"{folder / index}: not a weight index ({type(exc).__name__}: {exc})") from None
            shards = [folder / name for name in dict.fromkeys(weight_map.values())]
            absent = [path.name for path in shards if not path.is_file()]
            if absent:
                raise OvEvalError(f"{folder / index}: shard files missing: {', '.join(absent)}")
            return shards
        if (folder / single).is_file():
            return [folder / single]
    raise OvEvalError(f"{folder}: no weights (model.safetensors[.index.json] or pytorch_model.bin[.index.json])")


def _renamed_weights(folder: Path, open_files: ExitStack) -> dict[str, Any]:
    """Original weights under transformers names. Safetensors tensors stay lazy (read when the model takes them);
    .bin files are memory-mapped where torch allows it."""
    renamed: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for path in weight_files(folder):
        if path.suffix == ".safetensors":
            handle = open_files.enter_context(safe_open(str(path), framework="pt", device="cpu"))
            tensors = {key: handle.get_slice(key) for key in handle.keys()}
        else:
            tensors = _torch_load(path)
        for key, tensor in tensors.items():
            new_key = original_to_hf_key(key)
            if new_key is None:
                continue
            if new_key in renamed:
                raise OvEvalError(f"{path}: weight '{key}' also appears as '{origin[new_key]}' in another file")
            renamed[new_key], origin[new_key] = tensor, key
    return renamed


def _torch_load(path: Path) -> dict[str, torch.Tensor]:
    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # legacy (non-zip) files cannot be memory-mapped
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise OvEvalError(f"{path}: cannot read weights ({type(exc).__name__}: {exc})") from None


def _shape(tensor: Any) -> tuple[int, ...]:
    return tuple(tensor.get_shape()) if hasattr(tensor, "get_shape") else tuple(tensor.shape)


def _check_weights_match(folder: Path, config: Any, weights: dict[str, Any]) -> None:
    """Every parameter must come from the file (a tied lm_head aside): compare names and shapes against the model
    built on the meta device, before any memory is spent. Keys are reported under their original names."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in
                    LlavaOnevisionForConditionalGeneration(config).state_dict().items()}
    if config.tie_word_embeddings:
        expected.pop(LM_HEAD_KEY, None)
        weights.pop(LM_HEAD_KEY, None)
    missing = sorted(hf_to_original_key(k) or k for k in expected.keys() - weights.keys())
    unexpected = sorted(hf_to_original_key(k) or k for k in weights.keys() - expected.keys())
    mismatched = sorted(f"{hf_to_original_key(k)} {list(_shape(weights[k]))} != {list(expected[k])}"
                        for k in expected.keys() & weights.keys() if _shape(weights[k]) != expected[k])
    problems = [f"{name}: {_listing(keys)}" for name, keys in
                (("missing keys", missing), ("unexpected keys", unexpected), ("mismatched shapes", mismatched))
                if keys]
    if problems:
        raise OvEvalError(f"{folder}: the original checkpoint does not match the model its config describes "
                          f"({'; '.join(problems)})")
