"""The LLaVA-OneVision adapter: the published preprocessing and qwen_1_5 prompting, on transformers' model.

The project builds the visual token sequence itself (anyres_max_9 for one image, pad for several, pooled frames
for video) and feeds `inputs_embeds` to the language model, so every token matches the published path.
`_embed_batch` is the one function that builds those rows; an engine (ov_eval.models.engine) generates from
them: `engine=transformers` (default) a left-padded batched `generate`, `engine=vllm` vLLM's engine fed the rows
as prompt embeddings (the vision tower and projector stay here, the language model runs in vLLM).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch

from ov_eval.errors import OvEvalError
from ov_eval.models import packing
from ov_eval.models.base import check_model_args
from ov_eval.models.checkpoint import load_checkpoint
from ov_eval.models.engine import VLLM_ARGS, Engine, engine_name
from ov_eval.pipeline import SampleFailure
from ov_eval.models.preprocess import (PAD_IMAGE_TOKENS, anyres_image_token_count, prepare_anyres_image,
                                       normalise, prepare_pad_image, video_frame_tiles,
                                       video_token_count)
from ov_eval.models.templates import IMAGE_PLACEHOLDER, build_prompt, get_template
from ov_eval.types import Generation, GenerationSettings, ModelInput

STOP_TOKENS = ("<|im_end|>", "<|endoftext|>")

MODEL_ARGS: dict[str, Any] = {
    "pretrained": "lmms-lab/llava-onevision-qwen2-0.5b-ov",
    "conv_template": "qwen_1_5",
    "model_name": "llava_qwen",
    "attn_implementation": "sdpa",
    "dtype": "auto",
    "device_map": None,
    "gpus_per_process": None,  # K: local process i holds its model on GPUs i*K .. i*K+K-1
    "max_frames_num": 32,
    "mm_spatial_pool_stride": 2,
    "video_decode_backend": "decord",
    "sticky_pad": "false",
    "engine": "transformers",  # or vllm (ov_eval.models.engine); the vLLM settings below only with vllm
    **VLLM_ARGS,
}
VISION_CHUNK = 64  # tiles or frames per vision-tower forward: bounds activation memory for big batches


@dataclass(frozen=True)
class Visual:
    kind: str  # "anyres", "pad" or "video"
    pixels: np.ndarray  # uint8 (tiles or frames, 3, 384, 384): normalised to float32 only for the vision tower
    image_size: tuple[int, int]  # (height, width); frames: (384, 384)


@dataclass(frozen=True)
class PreparedSample:
    token_ids: list[int]
    visuals: tuple[Visual, ...]
    generation: GenerationSettings
    input_tokens: int  # prompt length once visual tokens replace the placeholders


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
        if str(args["sticky_pad"]).lower() not in ("true", "false"):
            raise OvEvalError(f"--model_args: sticky_pad must be true or false, not '{args['sticky_pad']}'")
        self.sticky_pad = str(args["sticky_pad"]).lower() == "true"  # docs/scoring_rules.md §0.8, see sticky_pad.py
        self.engine_name = engine_name(args)
        if self.engine_name == "vllm":
            from ov_eval.models.vllm_setup import load_for_vllm

            self.model, self.tokenizer, self.checkpoint_id, self.engine = load_for_vllm(args, device)
            self.context = self.engine.max_model_len - 1  # vLLM needs room for at least one generated token
            self.stream_window = self.engine.window
        else:
            loaded = load_checkpoint(str(args["pretrained"]), dtype=str(args["dtype"]),
                                     attn_implementation=args["attn_implementation"], device=device,
                                     device_map=args["device_map"], gpus_per_process=args["gpus_per_process"])
            self.model, self.tokenizer, self.checkpoint_id = loaded.model, loaded.tokenizer, loaded.identity
            self.context = int(self.model.config.text_config.max_position_embeddings)
            self.stream_window = 0  # batches of --batch_size through `generate`
        self.device = next(self.model.parameters()).device
        self.dtype = next(self.model.parameters()).dtype
        self.image_token_id = self.tokenizer.convert_tokens_to_ids(IMAGE_PLACEHOLDER)
        self.stop_ids = stop_token_ids(self.tokenizer)
        if self.engine_name == "transformers":
            from ov_eval.models.engine_transformers import TransformersEngine

            self.engine: Engine = TransformersEngine(self.model, self.stop_ids)
        identity = [self.checkpoint_id, args["conv_template"], self.max_frames_num, self.pool_stride, str(self.dtype)]
        if self.sticky_pad:  # listed only when on, so default journals keep their keys
            identity.append("sticky_pad")
        identity += self.engine.identity()  # empty for transformers, for the same reason
        self.identity = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        return {"model": "llava_onevision", "model_args": {k: str(v) for k, v in self.args.items()},
                "checkpoint": self.checkpoint_id, "dtype": str(self.dtype).removeprefix("torch."),
                "device": str(self.device)} | self.engine.describe()

    def context_tokens(self, text: str) -> int:
        """Token count of a task text as the release-era adapter sorts by it: the lmms-lab tokenizer has no
        `<image>` token, so placeholders in the text count as the plain text they are there."""
        return len(self.tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"])

    # ---- CPU side (background workers) ------------------------------------------------------------
    def prepare(self, item: ModelInput) -> PreparedSample:
        visuals = self._visuals(item)
        prompt = build_prompt(self.template, item.text, len(visuals))
        token_ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        placeholders = token_ids.count(self.image_token_id)
        if placeholders != len(visuals):
            raise OvEvalError(f"the prompt has {placeholders} image placeholders for {len(visuals)} visuals")
        input_tokens = len(token_ids) - placeholders + sum(self._visual_tokens(v) for v in visuals)
        if input_tokens > self.context:  # generating would stall on a sequence the model was never trained for
            limit = (f"vLLM's max_model_len of {self.context + 1} (prompt plus at least one generated token)"
                     if self.engine_name == "vllm" else f"the model's context of {self.context}")
            raise OvEvalError(f"prompt of {input_tokens} tokens exceeds {limit}")
        return PreparedSample(token_ids, visuals, item.generation, input_tokens)

    def _visual_tokens(self, visual: Visual) -> int:
        if visual.kind == "anyres":
            height, width = visual.image_size
            return anyres_image_token_count(width, height)
        if visual.kind == "pad":
            return PAD_IMAGE_TOKENS
        return video_token_count(len(visual.pixels), stride=self.pool_stride)

    def _visuals(self, item: ModelInput) -> tuple[Visual, ...]:
        visuals = [Visual("video", video_frame_tiles(frames), (384, 384)) for frames in item.videos]
        if len(item.images) == 1 and not visuals and not item.pad_images:
            prepared = prepare_anyres_image(item.images[0])
            visuals.append(Visual("anyres", prepared.tiles, prepared.image_size))
        else:
            for image in item.images:
                prepared = prepare_pad_image(image)
                visuals.append(Visual("pad", prepared.tiles, prepared.image_size))
        return tuple(visuals)

    # ---- device side ------------------------------------------------------------------------------
    @torch.inference_mode()
    def generate(self, batch: list[PreparedSample]) -> list[Generation]:
        """Greedy generations for the whole batch (one settings group), in batch order."""
        if not batch:
            return []
        settings = batch[0].generation
        if any(sample.generation != settings for sample in batch):
            raise OvEvalError("a generation batch mixes generation settings; group samples with "
                              "ov_eval.models.batching.split_batches first")
        rows = self._embed_batch(batch)
        tokens = self.engine.generate([row for row, _ in rows], settings)
        return [self._generation(len(row), image_tokens, new_tokens) for (row, image_tokens), new_tokens in zip(rows, tokens)]

    def generate_stream(self, samples: Iterator[tuple[Any, PreparedSample]]
                        ) -> Iterator[tuple[Any, Generation | SampleFailure]]:
        """(tag, generation or that sample's failure) per (tag, sample), in the order the engine finishes them;
        samples are embedded as the engine asks for more (engine=vllm: `stream_window` queued at a time)."""
        def rows() -> Iterator[tuple[Any, torch.Tensor, GenerationSettings]]:
            for tag, sample in samples:
                with torch.inference_mode():
                    ((row, image_tokens),) = self._embed_batch([sample])
                yield (tag, len(row), image_tokens), row, sample.generation

        for (tag, input_tokens, image_tokens), tokens in self.engine.stream(rows()):  # type: ignore[attr-defined]
            yield tag, (tokens if isinstance(tokens, SampleFailure)
                        else self._generation(input_tokens, image_tokens, tokens))

    def _generation(self, input_tokens: int, image_tokens: int, new_tokens: list[int]) -> Generation:
        text = self.tokenizer.decode(new_tokens, skip_special_tokens=True).strip()
        return Generation(text, input_tokens=input_tokens, output_tokens=len(new_tokens), image_tokens=image_tokens)

    def _visual_features(self, visuals: list[Visual]) -> list[torch.Tensor]:
        """Packed features per visual; all tiles and frames go through the tower together, in chunks."""
        if not visuals:
            return []
        pixels = np.concatenate([v.pixels for v in visuals])
        core = self.model.model
        features = []
        for start in range(0, len(pixels), VISION_CHUNK):
            chunk = self._to_device(normalise(pixels[start:start + VISION_CHUNK]))
            hidden = core.vision_tower(chunk, output_hidden_states=True).hidden_states[-1]
            features.append(core.multi_modal_projector(hidden))
        features = torch.cat(features)
        newline = core.image_newline.to(features.dtype)
        packed, start = [], 0
        for visual in visuals:
            tiles = features[start:start + len(visual.pixels)]
            start += len(visual.pixels)
            if visual.kind == "anyres":
                packed.append(packing.pack_anyres_features(tiles, visual.image_size, newline))
            elif visual.kind == "pad":
                packed.append(packing.pack_pad_features(tiles))
            else:
                packed.append(packing.pack_video_features(tiles, newline, stride=self.pool_stride))
        return packed

    def _to_device(self, pixels: np.ndarray) -> torch.Tensor:
        """On CUDA through pinned memory with an asynchronous copy (cast on the device); on CPU just the cast."""
        tensor = torch.from_numpy(pixels)
        if self.device.type == "cuda":
            tensor = tensor.pin_memory().to(self.device, non_blocking=True)
        return tensor.to(self.device, self.dtype)

    def _embed_batch(self, batch: list[PreparedSample]) -> list[tuple[torch.Tensor, int]]:
        """(inputs_embeds row, visual token count) per sample: text embeddings with the packed visual features
        spliced in at the image placeholders."""
        features = iter(self._visual_features([v for sample in batch for v in sample.visuals]))
        embed_tokens = self.model.get_input_embeddings()
        rows = []
        for sample in batch:
            ids = torch.tensor(sample.token_ids, device=self.device)
            text_embeds = embed_tokens(ids)
            pieces, cursor, image_tokens = [], 0, 0
            for position in (ids == self.image_token_id).nonzero().flatten().tolist():
                feature = next(features).to(text_embeds.dtype)
                pieces += [text_embeds[cursor:position], feature]
                cursor, image_tokens = position + 1, image_tokens + len(feature)
            pieces.append(text_embeds[cursor:])
            rows.append((torch.cat(pieces), image_tokens))
        return rows


def stop_token_ids(tokenizer: Any) -> list[int]:
    return [tokenizer.convert_tokens_to_ids(token) for token in STOP_TOKENS]
