"""A random-weight checkpoint with the real LLaVA-OneVision 0.5B sizes, built locally (no download).

SigLIP SO400M without its last layer (26 layers, as OneVision uses it) + 2-layer MLP projector + Qwen2-0.5B
(hidden 896, 24 layers, 14 heads, 2 KV heads, intermediate 4864, vocab 151936, tied embeddings). Every shape,
and so every FLOP and byte a forward pass costs, is the real model's: it is for throughput benchmarks on GPUs.
The tokenizer is the tiny byte-level one (the real Qwen2 tokenizer needs a download), so prompt text takes a few
more tokens than with the real tokenizer; visual tokens, which dominate, are exact.
"""
from __future__ import annotations

from pathlib import Path

import torch
from transformers import (LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration, PreTrainedTokenizerFast,
                          Qwen2Config, SiglipVisionConfig)

from ov_eval.models.convert import KNOWN_VISION_TOWERS
from ov_eval.models.tiny import build_tokenizer, onevision_config

QWEN2_0_5B = {"hidden_size": 896, "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
              "intermediate_size": 4864, "vocab_size": 151936, "max_position_embeddings": 32768,
              "rms_norm_eps": 1e-6, "hidden_act": "silu"}
QWEN2_ROPE_THETA = 1000000.0


def onevision_0_5b_config(tokenizer: PreTrainedTokenizerFast) -> LlavaOnevisionConfig:
    tower = dict(KNOWN_VISION_TOWERS["siglip-so400m-patch14-384"])
    tower["num_hidden_layers"] -= 1  # OneVision drops the tower's last layer
    vision = SiglipVisionConfig(**tower, vision_use_head=False)
    text = Qwen2Config(**QWEN2_0_5B, tie_word_embeddings=True, bos_token_id=None,
                       rope_parameters={"rope_type": "default", "rope_theta": QWEN2_ROPE_THETA},
                       eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
                       pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"))
    return onevision_config(vision, text, tokenizer)


def _random_0_5b_weights(seed: int) -> tuple[LlavaOnevisionForConditionalGeneration, PreTrainedTokenizerFast]:
    """The model with N(0, 0.02) matrices, unit norms and zero biases, built on the meta device first (transformers'
    own initialisation of ~0.9B parameters takes half a minute on a small CPU). Its non-persistent buffers (rotary
    inv_freq, SigLIP position ids) stay unset: the model is only fit to be saved, and loading rebuilds them."""
    tokenizer = build_tokenizer()
    with torch.device("meta"):
        model = LlavaOnevisionForConditionalGeneration(onevision_0_5b_config(tokenizer))
    model.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():  # the tied lm_head is the embedding tensor: visited once
            if param.dim() >= 2:
                param.normal_(0.0, 0.02, generator=generator)
            elif "norm" in name:
                param.fill_(1.0)
            else:
                param.zero_()
    model.tie_weights()
    model.generation_config.eos_token_id = [tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.eval(), tokenizer


def write_random_0_5b_checkpoint(out_dir: Path, seed: int = 0, dtype: torch.dtype = torch.bfloat16) -> Path:
    """Save the random 0.5B model as a transformers checkpoint folder (bf16 by default: ~1.8 GB)."""
    model, tokenizer = _random_0_5b_weights(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.to(dtype).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
