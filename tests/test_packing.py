import numpy as np
import pytest
import torch
from PIL import Image

from ov_eval.models.packing import pack_anyres_features, pack_pad_features, pack_video_features
from ov_eval.models.preprocess import (
    ANYRES_MAX_9_PINPOINTS,
    anyres_image_token_count,
    anyres_layout,
    prepare_anyres_image,
    prepare_video_frames,
    video_token_count,
)

DIM = 8


def random_tiles(n_tiles: int, dim: int = DIM, seed: int = 0) -> torch.Tensor:
    return torch.randn(n_tiles, 729, dim, generator=torch.Generator().manual_seed(seed))


def anyres_tiles_for(width: int, height: int, seed: int = 0) -> torch.Tensor:
    layout = anyres_layout(width, height)
    return random_tiles(1 + layout.rows * layout.cols, seed=seed)


NEWLINE = torch.arange(DIM, dtype=torch.float32) + 100.0


@pytest.mark.parametrize(
    "width, height, expected",
    [
        (384, 384, 1485),
        (640, 480, 2929),
        (1024, 899, 6551),
        (2000, 500, 7249),
        (3000, 3000, 7371),
        (1146, 1377, 8765),
    ],
)
def test_anyres_packed_length_matches_count(width, height, expected):
    packed = pack_anyres_features(anyres_tiles_for(width, height), (height, width), NEWLINE)
    assert packed.shape == (expected, DIM)
    assert anyres_image_token_count(width, height) == expected


def test_anyres_layout_base_first_and_newline_ends_every_row():
    tiles = anyres_tiles_for(640, 480)
    packed = pack_anyres_features(tiles, (480, 640), NEWLINE)
    assert torch.equal(packed[:729], tiles[0])
    # 640x480 -> 2x2 grid, 54x54 map unpadded to 40 rows of 54 cells plus a newline
    rows = packed[729:].reshape(40, 55, DIM)
    assert torch.equal(rows[:, 54], NEWLINE.expand(40, DIM))
    # First kept row is map row 7 of the top-left tile: (54 - 40) // 2 = 7
    assert torch.equal(rows[0, :27], tiles[1][7 * 27 : 8 * 27])
    assert torch.equal(rows[0, 27:54], tiles[2][7 * 27 : 8 * 27])
    assert torch.equal(rows[-1, :27], tiles[3][(46 - 27) * 27 : (47 - 27) * 27])


def test_anyres_rejects_wrong_tile_count():
    with pytest.raises(ValueError):
        pack_anyres_features(random_tiles(4), (480, 640), NEWLINE)


def test_pad_packing():
    features = random_tiles(1)
    packed = pack_pad_features(features)
    assert packed.shape == (729, DIM)
    assert torch.equal(packed, features[0])
    two_images = torch.cat([pack_pad_features(random_tiles(1, seed=s)) for s in (1, 2)])
    assert two_images.shape == (1458, DIM)


def test_video_packing_length_and_single_newline():
    packed = pack_video_features(random_tiles(32), NEWLINE)
    assert packed.shape == (6273, DIM)
    assert video_token_count(32) == 6273
    assert torch.equal(packed[-1], NEWLINE)
    assert not torch.isclose(packed[:-1], NEWLINE).all(dim=1).any()


def test_video_pooling_is_bilinear_per_frame_in_row_major_order():
    # Feature 0 ramps along columns, feature 1 along rows, feature 2 holds the frame index.
    rows, cols = torch.meshgrid(torch.arange(27.0), torch.arange(27.0), indexing="ij")
    frame = torch.stack([cols, rows, torch.zeros(27, 27)], dim=-1).reshape(729, 3)
    features = torch.stack([frame, frame + torch.tensor([0.0, 0.0, 1.0])])
    packed = pack_video_features(features, torch.zeros(3))
    assert packed.shape == (393, 3)
    pooled = packed[:-1].reshape(2, 14, 14, 3)
    # align_corners=False: cell i samples source (i + 0.5) * 27 / 14 - 0.5
    expected_ramp = torch.tensor(
        [0.464286, 2.392857, 4.321429, 6.25, 8.178571, 10.107143, 12.035714,
         13.964286, 15.892857, 17.821429, 19.75, 21.678571, 23.607143, 25.535714]
    )  # fmt: skip
    torch.testing.assert_close(pooled[0, 5, :, 0], expected_ramp, rtol=0, atol=1e-5)
    torch.testing.assert_close(pooled[1, :, 9, 1], expected_ramp, rtol=0, atol=1e-5)
    torch.testing.assert_close(pooled[1, :, :, 2], torch.ones(14, 14), rtol=0, atol=1e-6)


# --- parity with transformers' own LlavaOnevision packing, on a tiny random model ---


@pytest.fixture(scope="module")
def tiny_model():
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionForConditionalGeneration,
        Qwen2Config,
        SiglipVisionConfig,
    )

    torch.manual_seed(0)
    vision = SiglipVisionConfig(
        image_size=384,
        patch_size=14,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        vision_use_head=False,
    )
    text = Qwen2Config(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        vocab_size=64,
    )
    config = LlavaOnevisionConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=60,
        video_token_index=61,
        image_grid_pinpoints=[list(pair) for pair in ANYRES_MAX_9_PINPOINTS],
        vision_aspect_ratio="anyres_max_9",
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
    )
    return LlavaOnevisionForConditionalGeneration(config).eval()


def _capture_projector_output(model, run):
    captured = []
    hook = model.model.multi_modal_projector.register_forward_hook(
        lambda _module, _inputs, output: captured.append(output.detach())
    )
    try:
        with torch.no_grad():
            result = run()
    finally:
        hook.remove()
    assert len(captured) == 1
    return captured[0], result


def _noise(width: int, height: int, seed: int) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


# 640x480: 2x2 grid, no downsample; 300x1200: 4x1 grid; 2000x500: 2x6 grid;
# 1536x1536: 4x4 grid with the bilinear downsample (times = 1.33).
@pytest.mark.parametrize("width, height", [(640, 480), (300, 1200), (2000, 500), (1536, 1536)])
def test_anyres_packing_matches_transformers(tiny_model, width, height):
    prepared = prepare_anyres_image(_noise(width, height, seed=width + height))
    pixel_values = torch.from_numpy(prepared.pixel_values)
    image_sizes = torch.tensor([prepared.image_size])
    tile_features, output = _capture_projector_output(
        tiny_model,
        lambda: tiny_model.model.get_image_features(pixel_values, image_sizes, return_dict=True),
    )
    theirs = output.pooler_output[0]
    ours = pack_anyres_features(tile_features, prepared.image_size, tiny_model.model.image_newline)
    assert ours.shape == (anyres_image_token_count(width, height), 16)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)


def test_video_packing_matches_transformers(tiny_model):
    frames = np.random.default_rng(5).integers(0, 256, (3, 240, 320, 3), dtype=np.uint8)
    pixel_values_videos = torch.from_numpy(prepare_video_frames(frames))[None]
    frame_features, output = _capture_projector_output(
        tiny_model,
        lambda: tiny_model.model.get_video_features(pixel_values_videos, return_dict=True),
    )
    theirs = output.pooler_output[0]
    ours = pack_video_features(frame_features, tiny_model.model.image_newline)
    assert ours.shape == (video_token_count(3), 16)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
