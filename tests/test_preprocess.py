import numpy as np
import pytest
from PIL import Image

from ov_eval.models.preprocess import (
    ANYRES_MAX_9_PINPOINTS,
    PAD_IMAGE_TOKENS,
    TILE,
    anyres_image_token_count,
    anyres_layout,
    prepare_anyres_image,
    prepare_pad_image,
    prepare_video_frames,
    sample_frame_indices,
    select_best_resolution,
    video_token_count,
)

PARITY_SIZES_WH = [(384, 384), (640, 480), (1024, 899), (2000, 500), (300, 1200), (37, 53)]


def noise_image(width: int, height: int, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


@pytest.fixture(scope="module")
def hf_processor():
    from transformers.models.llava_onevision.image_processing_pil_llava_onevision import (
        LlavaOnevisionImageProcessorPil,
    )

    return LlavaOnevisionImageProcessorPil(
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        size={"height": TILE, "width": TILE},
        image_grid_pinpoints=[list(pair) for pair in ANYRES_MAX_9_PINPOINTS],
    )


def test_pinpoints_are_all_tile_multiples_i_outer_j_inner():
    assert len(ANYRES_MAX_9_PINPOINTS) == 36
    assert ANYRES_MAX_9_PINPOINTS[:3] == ((384, 384), (384, 768), (384, 1152))
    assert ANYRES_MAX_9_PINPOINTS[6] == (768, 384)
    assert ANYRES_MAX_9_PINPOINTS[-1] == (2304, 2304)


@pytest.mark.parametrize(
    "width, height, expected",
    [
        (384, 384, (384, 384)),
        (37, 53, (384, 384)),
        (640, 480, (768, 768)),
        (1024, 899, (1152, 1152)),
        (2000, 500, (2304, 768)),
        (500, 2000, (768, 2304)),
        (300, 1200, (384, 1536)),
        (1146, 1377, (1152, 1536)),
        (3000, 3000, (2304, 2304)),
    ],
)
def test_select_best_resolution(width, height, expected):
    assert select_best_resolution(width, height) == expected


def test_select_best_resolution_exact_tie_keeps_first_candidate():
    # Both fit 100x100 without loss and waste the same area.
    assert select_best_resolution(100, 100, [(200, 300), (300, 200)]) == (200, 300)
    assert select_best_resolution(100, 100, [(300, 200), (200, 300)]) == (300, 200)


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
def test_anyres_token_counts(width, height, expected):
    assert anyres_image_token_count(width, height) == expected


def test_large_image_is_downsampled_and_just_below_threshold_is_not():
    assert anyres_layout(3000, 3000).unpadded_hw == (162, 162)
    assert anyres_layout(3000, 3000).packed_hw == (81, 81)
    # times = sqrt(98 * 81 / 6561) = 1.0999, under the 1.1 threshold
    assert anyres_layout(1146, 1377).packed_hw == (98, 81)


def test_unpad_truncates_like_the_original_model():
    # 820 * (27 / 369) is 59.999999..., int() keeps 59 rows where transformers' round() keeps 60
    # (and ends at 61 rows, 2437 tokens). We follow LLaVA-NeXT.
    assert anyres_layout(369, 820).unpadded_hw == (59, 27)
    assert anyres_image_token_count(369, 820) == 2381


def test_pad_and_video_token_counts():
    assert PAD_IMAGE_TOKENS == 729
    assert 2 * PAD_IMAGE_TOKENS == 1458
    assert video_token_count(32) == 6273
    assert video_token_count(1) == 197


def test_sample_frame_indices_includes_last_frame():
    assert sample_frame_indices(100, 8).tolist() == [0, 14, 28, 42, 56, 70, 84, 99]
    assert sample_frame_indices(320, 32)[-1] == 319


def test_sample_frame_indices_repeats_frames_of_short_videos():
    assert sample_frame_indices(5, 8).tolist() == [0, 0, 1, 1, 2, 2, 3, 4]
    assert sample_frame_indices(1, 3).tolist() == [0, 0, 0]


def test_sample_frame_indices_rejects_empty_video():
    with pytest.raises(ValueError):
        sample_frame_indices(0, 32)


def test_anyres_shapes_and_metadata():
    prepared = prepare_anyres_image(noise_image(640, 480))
    assert prepared.pixel_values.shape == (5, 3, 384, 384)
    assert prepared.pixel_values.dtype == np.float32
    assert prepared.image_size == (480, 640)
    assert prepared.mode == "anyres"


def test_anyres_black_padding_and_value_range():
    white = Image.new("RGB", (2000, 500), (255, 255, 255))
    tiles = prepare_anyres_image(white).pixel_values
    assert tiles.shape == (13, 3, 384, 384)
    # Canvas 2304x768, image fitted to 2304x576, pasted 96 rows down.
    first_grid_tile = tiles[1]
    assert np.all(first_grid_tile[:, :96] == -1.0)
    assert np.all(first_grid_tile[:, 96:] == 1.0)
    last_grid_tile = tiles[12]
    assert np.all(last_grid_tile[:, : 384 - 96] == 1.0)
    assert np.all(last_grid_tile[:, 384 - 96 :] == -1.0)
    assert np.all(tiles[0] == 1.0)


def test_pad_mode_fills_with_mean_grey():
    prepared = prepare_pad_image(Image.new("RGB", (640, 480), (255, 0, 0)))
    assert prepared.pixel_values.shape == (1, 3, 384, 384)
    assert prepared.mode == "pad"
    assert prepared.image_size == (480, 640)
    grey = (127 / 255 - 0.5) / 0.5
    assert prepared.pixel_values[0, :, 0, 0] == pytest.approx([grey, grey, grey], abs=1e-7)
    assert prepared.pixel_values[0, :, 192, 192].tolist() == [1.0, -1.0, -1.0]


def test_non_rgb_inputs_are_converted():
    grey = Image.new("L", (50, 40), 255)
    assert prepare_anyres_image(grey).pixel_values.shape == (2, 3, 384, 384)
    rgba = Image.new("RGBA", (50, 40), (0, 0, 255, 0))
    assert prepare_pad_image(rgba).pixel_values[0, :, 200, 200].tolist() == [-1.0, -1.0, 1.0]


@pytest.mark.parametrize("width, height", PARITY_SIZES_WH)
def test_anyres_pixels_match_transformers(hf_processor, width, height):
    image = noise_image(width, height, seed=width * 7 + height)
    ours = prepare_anyres_image(image)
    theirs = hf_processor(images=image, return_tensors="np")
    assert tuple(theirs["image_sizes"][0]) == ours.image_size
    expected = theirs["pixel_values"][0]
    assert ours.pixel_values.shape == expected.shape
    np.testing.assert_allclose(ours.pixel_values, expected, rtol=0, atol=1e-6)


def test_pad_pixels_match_transformers(hf_processor):
    images = [noise_image(640, 480, seed=1), noise_image(300, 1200, seed=2)]
    theirs = hf_processor(images=[images], return_tensors="np")["pixel_values"]
    for index, image in enumerate(images):
        ours = prepare_pad_image(image).pixel_values
        np.testing.assert_allclose(ours, theirs[index], rtol=0, atol=1e-6)


def test_video_frames_are_squashed_like_the_base_tile(hf_processor):
    frames = np.random.default_rng(3).integers(0, 256, (3, 360, 640, 3), dtype=np.uint8)
    ours = prepare_video_frames(frames)
    assert ours.shape == (3, 3, 384, 384)
    assert ours.dtype == np.float32
    for index, frame in enumerate(frames):
        base_tile = hf_processor(images=Image.fromarray(frame), return_tensors="np")["pixel_values"][0, 0]
        np.testing.assert_allclose(ours[index], base_tile, rtol=0, atol=1e-6)


def test_video_frames_reject_wrong_layout():
    with pytest.raises(ValueError):
        prepare_video_frames(np.zeros((2, 3, 64, 64), dtype=np.uint8))
    with pytest.raises(ValueError):
        prepare_video_frames(np.zeros((2, 64, 64, 3), dtype=np.float32))
