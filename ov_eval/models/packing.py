"""Pack projected per-tile features into the visual token sequence LLaVA-OneVision expects.

Inputs are tile features already through the vision tower and projector, shape (n_tiles, 729, D),
in the tile order produced by ``ov_eval.models.preprocess``. Output lengths equal the token
counts computed there.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ov_eval.models.preprocess import (
    FEATURE_SIDE,
    TILE_TOKENS,
    VIDEO_POOL_STRIDE,
    anyres_layout,
)


def _check_tiles(features: torch.Tensor, expected_tiles: int | None, what: str) -> None:
    if features.dim() != 3 or features.shape[1] != TILE_TOKENS:
        raise ValueError(f"{what}: expected (n_tiles, {TILE_TOKENS}, D), got {tuple(features.shape)}")
    if expected_tiles is not None and features.shape[0] != expected_tiles:
        raise ValueError(f"{what}: expected {expected_tiles} tiles, got {features.shape[0]}")


def _newline_like(newline: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    if newline.shape != (features.shape[-1],):
        raise ValueError(f"newline must have shape ({features.shape[-1]},), got {tuple(newline.shape)}")
    return newline.to(device=features.device, dtype=features.dtype)


def pack_anyres_features(
    tile_features: torch.Tensor,
    image_size_hw: tuple[int, int],
    newline: torch.Tensor,
) -> torch.Tensor:
    """(1 + rows*cols, 729, D) tile features of one anyres image -> (tokens, D).

    Base tile first (no newline), then the grid map unpadded to the image aspect, downsampled
    when larger than about nine tiles, with ``newline`` closing every row.
    """
    height, width = image_size_hw
    layout = anyres_layout(width, height)
    _check_tiles(tile_features, 1 + layout.rows * layout.cols, "anyres features")
    newline = _newline_like(newline, tile_features)
    dim = tile_features.shape[-1]

    grid = tile_features[1:].reshape(layout.rows, layout.cols, FEATURE_SIDE, FEATURE_SIDE, dim)
    grid = grid.permute(4, 0, 2, 1, 3).reshape(
        dim, layout.rows * FEATURE_SIDE, layout.cols * FEATURE_SIDE
    )

    kept_height, kept_width = layout.unpadded_hw
    top = (grid.shape[1] - kept_height) // 2
    left = (grid.shape[2] - kept_width) // 2
    grid = grid[:, top : top + kept_height, left : left + kept_width]

    packed_height, packed_width = layout.packed_hw
    if layout.packed_hw != layout.unpadded_hw:
        grid = F.interpolate(
            grid[None], size=[packed_height, packed_width], mode="bilinear", align_corners=False
        )[0]

    newline_column = newline[:, None, None].expand(dim, packed_height, 1)
    grid = torch.cat([grid, newline_column], dim=2)
    return torch.cat([tile_features[0], grid.reshape(dim, -1).transpose(0, 1)], dim=0)


def pack_pad_features(features: torch.Tensor) -> torch.Tensor:
    """(1, 729, D) features of one pad-mode image -> (729, D), with no newline.

    The published path stacks a sample's padded images into one 4-D tensor, which the model encodes on its
    plain path: each placeholder receives the tile's 729 tokens and no `image_newline` row.
    """
    _check_tiles(features, 1, "pad features")
    return features[0]


def pack_video_features(
    frame_features: torch.Tensor,
    newline: torch.Tensor,
    stride: int = VIDEO_POOL_STRIDE,
) -> torch.Tensor:
    """(T, 729, D) frame features -> (T * 14 * 14 + 1, D) for stride 2.

    Each 27x27 map is bilinearly resized to ceil(27 / stride) per side; all frames are
    flattened in order and ONE newline closes the whole video.
    """
    _check_tiles(frame_features, None, "video features")
    newline = _newline_like(newline, frame_features)
    n_frames, _, dim = frame_features.shape
    pooled_side = math.ceil(FEATURE_SIDE / stride)

    maps = frame_features.reshape(n_frames, FEATURE_SIDE, FEATURE_SIDE, dim)
    maps = maps.permute(0, 3, 1, 2).contiguous()
    pooled = F.interpolate(
        maps, size=[pooled_side, pooled_side], mode="bilinear", align_corners=False
    )
    tokens = pooled.permute(0, 2, 3, 1).reshape(n_frames * pooled_side * pooled_side, dim)
    return torch.cat([tokens, newline[None]], dim=0)
