"""The LLaVA-OneVision adapter: the published preprocessing and qwen_1_5 prompting, on transformers' model.

The project builds the visual token sequence itself (anyres_max_9 for one image, pad for several, pooled frames
for video) and feeds `inputs_embeds` to the language model, so every token matches the published path.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ov_eval.errors import OvEvalError
from ov_eval.models import packing
from ov_eval.models.base import check_model_args
from ov_eval.models.checkpoint import load_checkpoint
from ov_eval.models.preprocess import prepare_anyres_image, prepare_pad_image, prepare_video_frames
from ov_eval.models.templates import IMAGE_PLACEHOLDER, build_prompt, get_template
from ov_eval.types import Generation, GenerationSettings, ModelInput

MODEL_ARGS: dict[str, Any] = {
    "pretrained": "lmms-lab/llava-onevision-qwen2-0.5b-ov",
    "conv_template": "qwen_1_5",
    "model_name": "llava_qwen",
    "attn_implementation": "sdpa",
    "dtype": "auto",
    "device_map": None,
    "max_frames_num": 32,
    "mm_spatial_pool_stride": 2,
    "video_decode_backend": "decord",
}


@dataclass(frozen=True)
class Visual:
    kind: str  # "anyres", "pad" or "video"
    pixels: np.ndarray  # float32 (tiles or frames, 3, 384, 384)
    image_size: tuple[int, int]  # (height, width); frames: (384, 384)


@dataclass(frozen=True)
class PreparedSample:
    token_ids: list[int]
    visuals: tuple[Visual, ...]
    generation: GenerationSettings


class OneVisionAdapter:
    def __init__(self, model_args: dict[str, str], batch_size: int = 1, device: str | torch.device = "cpu") -> None:
        args = check_model_args("llava_onevision", model_args, MODEL_ARGS)
        self.args = args
        self.batch_size = batch_size
        self.template = get_template(args["conv_template"])
        self.max_frames_num = int(args["max_frames_num"])
        self.pool_stride = int(args["mm_spatial_pool_stride"])
        self.video_decode_backend = str(args["video_decode_backend"])
        if self.video_decode_backend not in ("decord", "pyav"):
            raise OvEvalError(f"--model_args: video_decode_backend must be decord or pyav, "
                              f"not '{self.video_decode_backend}'")
        loaded = load_checkpoint(str(args["pretrained"]), dtype=str(args["dtype"]),
                                 attn_implementation=args["attn_implementation"], device=device,
                                 device_map=args["device_map"])
        self.model, self.tokenizer, self.checkpoint_id = loaded.model, loaded.tokenizer, loaded.identity
        self.device = next(self.model.parameters()).device
        self.dtype = next(self.model.parameters()).dtype
        self.image_token_id = self.tokenizer.convert_tokens_to_ids(IMAGE_PLACEHOLDER)
        self.stop_ids = [self.tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")]
        self.identity = hashlib.sha256(json.dumps(
            [self.checkpoint_id, args["conv_template"], self.max_frames_num, self.pool_stride, str(self.dtype)]
        ).encode()).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        return {"model": "llava_onevision", "model_args": {k: str(v) for k, v in self.args.items()},
                "checkpoint": self.checkpoint_id, "dtype": str(self.dtype).removeprefix("torch."),
                "device": str(self.device)}

    # ---- CPU side (background workers) ------------------------------------------------------------
    def prepare(self, item: ModelInput) -> PreparedSample:
        visuals = self._visuals(item)
        prompt = build_prompt(self.template, item.text, len(visuals))
        token_ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        placeholders = token_ids.count(self.image_token_id)
        if placeholders != len(visuals):
            raise OvEvalError(f"the prompt has {placeholders} image placeholders for {len(visuals)} visuals")
        return PreparedSample(token_ids, visuals, item.generation)

    def _visuals(self, item: ModelInput) -> tuple[Visual, ...]:
        visuals = [Visual("video", prepare_video_frames(frames), (384, 384)) for frames in item.videos]
        if len(item.images) == 1 and not visuals:
            prepared = prepare_anyres_image(item.images[0])
            visuals.append(Visual("anyres", prepared.pixel_values, prepared.image_size))
        else:
            for image in item.images:
                prepared = prepare_pad_image(image)
                visuals.append(Visual("pad", prepared.pixel_values, prepared.image_size))
        return tuple(visuals)

    # ---- device side ------------------------------------------------------------------------------
    @torch.inference_mode()
    def generate(self, batch: list[PreparedSample]) -> list[Generation]:
        return [self._generate_one(sample) for sample in batch]

    def _visual_features(self, visuals: tuple[Visual, ...]) -> list[torch.Tensor]:
        if not visuals:
            return []
        pixels = torch.from_numpy(np.concatenate([v.pixels for v in visuals])).to(self.device, self.dtype)
        core = self.model.model
        hidden = core.vision_tower(pixels, output_hidden_states=True).hidden_states[-1]
        features = core.multi_modal_projector(hidden)
        newline = core.image_newline.to(features.dtype)
        packed, start = [], 0
        for visual in visuals:
            chunk = features[start:start + len(visual.pixels)]
            start += len(visual.pixels)
            if visual.kind == "anyres":
                packed.append(packing.pack_anyres_features(chunk, visual.image_size, newline))
            elif visual.kind == "pad":
                packed.append(packing.pack_pad_features(chunk, newline))
            else:
                packed.append(packing.pack_video_features(chunk, newline, stride=self.pool_stride))
        return packed

    def _embed(self, sample: PreparedSample) -> tuple[torch.Tensor, int]:
        ids = torch.tensor(sample.token_ids, device=self.device)
        text_embeds = self.model.get_input_embeddings()(ids)
        features = self._visual_features(sample.visuals)
        positions = (ids == self.image_token_id).nonzero().flatten().tolist()
        pieces, cursor = [], 0
        for position, feature in zip(positions, features):
            pieces += [text_embeds[cursor:position], feature.to(text_embeds.dtype)]
            cursor = position + 1
        pieces.append(text_embeds[cursor:])
        return torch.cat(pieces), sum(len(f) for f in features)

    def _generate_one(self, sample: PreparedSample) -> Generation:
        embeds, image_tokens = self._embed(sample)
        settings = sample.generation
        output = self.model.generate(
            inputs_embeds=embeds[None], attention_mask=torch.ones(1, len(embeds), dtype=torch.long, device=self.device),
            max_new_tokens=settings.max_new_tokens, do_sample=False, num_beams=1, temperature=None, top_p=None,
            top_k=None, eos_token_id=self.stop_ids, pad_token_id=self.stop_ids[-1], use_cache=True)
        new_tokens = [t for t in output[0].tolist() if t not in self.stop_ids]
        text = self.tokenizer.decode(new_tokens, skip_special_tokens=True).strip()
        return Generation(text, input_tokens=len(embeds), output_tokens=len(new_tokens), image_tokens=image_tokens)
