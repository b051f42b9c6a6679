"""LLaVA-OneVision pixel preprocessing and visual token geometry (PIL + numpy, no torchvision).

Three input modes, as in the published evaluation:
- ``anyres``: one image per sample, anyres_max_9 tiling (base tile + grid tiles);
- ``pad``: several images per sample, each padded to a square and squashed to one tile (729 tokens, no newline);
- video: sampled frames, each squashed to one tile.

The token-count functions here describe exactly what ``ov_eval.models.packing`` produces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

TILE = 384
FEATURE_SIDE = 27  # SigLIP patch 14 over a 384 tile
TILE_TOKENS = FEATURE_SIDE * FEATURE_SIDE  # 729
ANYRES_MAX_TILES = 9
DOWNSAMPLE_THRESHOLD = 1.1
VIDEO_POOL_STRIDE = 2

# Pairs are (width, height), the convention of LLaVA-NeXT's select_best_resolution.
# transformers reads the very same list as (height, width). The set is symmetric under
# transposition, so only the visiting order differs, which could matter only for an exact tie;
# an exhaustive check of every size up to 6000x6000 found no image where the two pick differently.
ANYRES_MAX_9_PINPOINTS: tuple[tuple[int, int], ...] = tuple(
    (TILE * i, TILE * j) for i in range(1, 7) for j in range(1, 7)
)

# int(0.5 * 255) per channel: the SigLIP mean, as the reference expand2square uses.
PAD_FILL_RGB = (127, 127, 127)
PAD_IMAGE_TOKENS = TILE_TOKENS  # one tile, no newline row

_BICUBIC = Image.Resampling.BICUBIC


def _build_normalisation_table() -> np.ndarray:
    # Rescale in float64 then cast, normalise in float32: the reference arithmetic, done
    # once for the 256 byte values so a whole tile is a single table lookup.
    rescaled = (np.arange(256, dtype=np.float64) * (1 / 255)).astype(np.float32)
    return (rescaled - np.float32(0.5)) / np.float32(0.5)


_NORMALISED_BYTE = _build_normalisation_table()


@dataclass(frozen=True)
class PreparedImage:
    tiles: np.ndarray  # uint8 (n_tiles, 3, 384, 384): a quarter of the float32 pixels while it waits
    image_size: tuple[int, int]  # (height, width) of the original
    mode: str  # "anyres" or "pad"

    @property
    def pixel_values(self) -> np.ndarray:
        """float32 (n_tiles, 3, 384, 384), normalised as the vision tower takes them."""
        return normalise(self.tiles)


@dataclass(frozen=True)
class AnyresLayout:
    """Feature-map geometry of one anyres image (sizes in 27-per-tile feature cells)."""

    rows: int
    cols: int
    unpadded_hw: tuple[int, int]  # grid map after cropping the canvas padding
    packed_hw: tuple[int, int]  # after the optional bilinear downsample

    @property
    def token_count(self) -> int:
        height, width = self.packed_hw
        return TILE_TOKENS + height * (width + 1)


def select_best_resolution(
    width: int,
    height: int,
    candidates: tuple[tuple[int, int], ...] | list[tuple[int, int]] = ANYRES_MAX_9_PINPOINTS,
) -> tuple[int, int]:
    """Pick the (W, H) canvas: highest effective resolution, then least waste, then first listed."""
    best: tuple[int, int] | None = None
    best_effective = 0
    best_wasted = math.inf
    for cand_width, cand_height in candidates:
        scale = min(cand_width / width, cand_height / height)
        effective = min(int(width * scale) * int(height * scale), width * height)
        wasted = cand_width * cand_height - effective
        if effective > best_effective or (effective == best_effective and wasted < best_wasted):
            best = (int(cand_width), int(cand_height))
            best_effective = effective
            best_wasted = wasted
    if best is None:
        raise ValueError(f"no candidate resolution for a {width}x{height} image")
    return best


def _fit_inside(width: int, height: int, target_width: int, target_height: int) -> tuple[int, int]:
    """Size (w, h) of the image resized to fill one side of the target, aspect kept."""
    scale_w = target_width / width
    scale_h = target_height / height
    if scale_w < scale_h:
        return target_width, min(math.ceil(height * scale_w), target_height)
    return min(math.ceil(width * scale_h), target_width), target_height


def normalise(tiles_uint8: np.ndarray) -> np.ndarray:
    """uint8 tiles -> the float32 pixels the vision tower takes (a table lookup: the same bits wherever it runs).
    C order whatever the input's strides: a transposed (channels-last) array would reach the vision tower's
    convolution in another memory format, whose kernel rounds differently from the one a batch gets."""
    return _NORMALISED_BYTE[np.ascontiguousarray(tiles_uint8)]


def _check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ValueError(f"image has no pixels: {width}x{height}")


def prepare_anyres_image(image: Image.Image) -> PreparedImage:
    """anyres_max_9 tiles: the squashed original first, then the padded canvas row-major."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    _check_size(width, height)
    canvas_width, canvas_height = select_best_resolution(width, height)
    fitted_width, fitted_height = _fit_inside(width, height, canvas_width, canvas_height)
    fitted = np.asarray(rgb.resize((fitted_width, fitted_height), _BICUBIC))

    canvas = np.zeros((canvas_height, canvas_width, 3), dtype=np.uint8)
    top = (canvas_height - fitted_height) // 2
    left = (canvas_width - fitted_width) // 2
    canvas[top : top + fitted_height, left : left + fitted_width] = fitted

    rows, cols = canvas_height // TILE, canvas_width // TILE
    grid_tiles = canvas.reshape(rows, TILE, cols, TILE, 3).transpose(0, 2, 4, 1, 3)
    grid_tiles = grid_tiles.reshape(rows * cols, 3, TILE, TILE)
    base_tile = np.asarray(rgb.resize((TILE, TILE), _BICUBIC)).transpose(2, 0, 1)[None]

    tiles = np.ascontiguousarray(np.concatenate([base_tile, grid_tiles]))
    return PreparedImage(tiles=tiles, image_size=(height, width), mode="anyres")


def prepare_pad_image(image: Image.Image) -> PreparedImage:
    """Multi-image mode: centre on a mean-grey square, squash to one 384 tile."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    _check_size(width, height)
    if width != height:
        side = max(width, height)
        square = Image.new("RGB", (side, side), PAD_FILL_RGB)
        square.paste(rgb, ((side - width) // 2, (side - height) // 2))
        rgb = square
    tile = np.asarray(rgb.resize((TILE, TILE), _BICUBIC)).transpose(2, 0, 1)[None]
    return PreparedImage(tiles=np.ascontiguousarray(tile), image_size=(height, width), mode="pad")


def sample_frame_indices(n_frames: int, num: int) -> np.ndarray:
    """Uniform frame indices, first and last included.

    With fewer frames than ``num`` indices repeat (e.g. 5 frames, 8 samples ->
    0 0 1 1 2 2 3 4): the reference harness decodes the repeated indices as they are, so the
    model always sees ``num`` frames and ``video_token_count(num)`` tokens.
    """
    if n_frames < 1:
        raise ValueError(f"video has no frames (n_frames={n_frames})")
    if num < 1:
        raise ValueError(f"must sample at least one frame (num={num})")
    return np.linspace(0, n_frames - 1, num, dtype=int)


def prepare_video_frames(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 frames -> float32 (T, 3, 384, 384), each frame squashed to one tile."""
    return normalise(video_frame_tiles(frames))


def video_frame_tiles(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 frames -> uint8 (T, 3, 384, 384) tiles, each frame squashed to one tile."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames of shape (T, H, W, 3), got {frames.dtype} {frames.shape}")
    if frames.shape[0] == 0:
        raise ValueError("video has no frames")
    squashed = np.stack(
        [np.asarray(Image.fromarray(frame).resize((TILE, TILE), _BICUBIC)) for frame in frames]
    )
    return np.ascontiguousarray(squashed.transpose(0, 3, 1, 2))


def _unpadded_size(width: int, height: int, map_height: int, map_width: int) -> tuple[int, int]:
    """Grid feature map size once the canvas padding is cropped away.

    The kept extent is truncated with int() as LLaVA-NeXT does; transformers rounds to 7 decimals
    first, so for a few sizes where the product lands a hair under an integer (e.g. 369x820) the
    two disagree by two rows/columns. We follow the original model code.
    """
    if width / height > map_width / map_height:
        scale = map_width / width
        kept_height = int(height * scale)
        padding = (map_height - kept_height) // 2
        return map_height - 2 * padding, map_width
    scale = map_height / height
    kept_width = int(width * scale)
    padding = (map_width - kept_width) // 2
    return map_height, map_width - 2 * padding


def anyres_layout(width: int, height: int) -> AnyresLayout:
    """Geometry of the packed anyres feature map for an original image of width x height."""
    _check_size(width, height)
    canvas_width, canvas_height = select_best_resolution(width, height)
    rows, cols = canvas_height // TILE, canvas_width // TILE
    unpadded = _unpadded_size(width, height, rows * FEATURE_SIDE, cols * FEATURE_SIDE)
    map_height, map_width = unpadded
    times = math.sqrt(map_height * map_width / (ANYRES_MAX_TILES * TILE_TOKENS))
    if times > DOWNSAMPLE_THRESHOLD:
        packed = (int(map_height // times), int(map_width // times))
    else:
        packed = unpadded
    return AnyresLayout(rows=rows, cols=cols, unpadded_hw=unpadded, packed_hw=packed)


def anyres_image_token_count(width: int, height: int) -> int:
    """Visual tokens of one anyres image: 729 base + rows x (cols + newline)."""
    return anyres_layout(width, height).token_count


def video_token_count(n_frames: int, stride: int = VIDEO_POOL_STRIDE) -> int:
    """Visual tokens of a video: pooled frames flattened, one newline for the whole video."""
    pooled_side = math.ceil(FEATURE_SIDE / stride)
    return n_frames * pooled_side * pooled_side + 1
