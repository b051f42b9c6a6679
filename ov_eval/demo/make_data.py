"""The bundled demo data, drawn by code: shapes, colours, counts, a bar chart and one short video.

`python -m ov_eval.demo.make_data [OUT_DIR]` rewrites tasks/demo/data; a test checks the committed files
still equal what this code draws.
"""
from __future__ import annotations

import sys
from pathlib import Path

import datasets
import numpy as np
from PIL import Image, ImageDraw

COLOURS = {"red": (220, 30, 30), "green": (30, 170, 60), "blue": (40, 70, 220), "yellow": (235, 200, 20)}
SHAPES = ["circle", "square", "triangle", "star"]
SIZES = [(160, 120), (640, 480), (300, 600), (384, 384), (200, 200), (512, 256)]


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int, int], fill: tuple) -> None:
    x0, y0, x1, y1 = box
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    elif shape == "triangle":
        draw.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=fill)
    else:
        cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
        points = [(cx + (r if i % 2 == 0 else r / 2.5) * np.sin(i * np.pi / 5),
                   cy - (r if i % 2 == 0 else r / 2.5) * np.cos(i * np.pi / 5)) for i in range(10)]
        draw.polygon(points, fill=fill)


def shape_image(shape: str, colour: str, size: tuple[int, int]) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size, (255, 255, 255))
    side = min(width, height) * 3 // 5
    left, top = (width - side) // 2, (height - side) // 2
    _draw_shape(ImageDraw.Draw(image), shape, (left, top, left + side, top + side), COLOURS[colour])
    return image


def count_image(count: int, size: tuple[int, int]) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size, (250, 250, 250))
    draw = ImageDraw.Draw(image)
    radius = min(width, height) // 10
    for i in range(count):
        cx = int(width * (i + 1) / (count + 1))
        draw.ellipse((cx - radius, height // 2 - radius, cx + radius, height // 2 + radius), fill=COLOURS["blue"])
    return image


def bar_chart(values: list[int], size: tuple[int, int] = (320, 240)) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    bar = width // (2 * len(values) + 1)
    for i, value in enumerate(values):
        x = bar * (2 * i + 1)
        top = height - 20 - int((height - 40) * value / 100)
        draw.rectangle((x, top, x + bar, height - 20), fill=list(COLOURS.values())[i % 4])
        draw.text((x, top - 12), str(value), fill=(0, 0, 0))
    draw.line((0, height - 20, width, height - 20), fill=(0, 0, 0))
    return image


def moving_square_frames(colour: str, n_frames: int = 16, side: int = 96) -> np.ndarray:
    frames = np.full((n_frames, side, side, 3), 255, dtype=np.uint8)
    for t in range(n_frames):
        x = int((side - 24) * t / max(n_frames - 1, 1))
        frames[t, 36:60, x:x + 24] = COLOURS[colour]
    return frames


def write_video(path: Path, frames: np.ndarray, fps: int = 8) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"qscale": "2"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _save(rows: dict[str, list], features: dict[str, datasets.features.features.FeatureType], path: Path) -> None:
    datasets.Dataset.from_dict(rows, features=datasets.Features(features)).to_parquet(str(path))


def make_all(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    shapes = [(SHAPES[i % 4], list(COLOURS)[(i // 2) % 4], SIZES[i % len(SIZES)]) for i in range(8)]
    _save({"image": [shape_image(s, c, z) for s, c, z in shapes],
           "question": ["Which shape is shown in the image?"] * len(shapes),
           "options": [SHAPES] * len(shapes), "answer": [str(SHAPES.index(s)) for s, _, _ in shapes]},
          {"image": datasets.Image(), "question": datasets.Value("string"),
           "options": datasets.List(datasets.Value("string")), "answer": datasets.Value("string")},
          out / "shapes.parquet")
    _save({"image": [shape_image(s, c, z) for s, c, z in shapes],
           "question": ["What colour is the shape?"] * len(shapes), "answer": [c for _, c, _ in shapes]},
          {"image": datasets.Image(), "question": datasets.Value("string"), "answer": datasets.Value("string")},
          out / "colours.parquet")
    counts = [1, 2, 3, 4, 5, 3]
    _save({"image": [count_image(n, SIZES[i % len(SIZES)]) for i, n in enumerate(counts)],
           "question": ["How many circles are there?"] * len(counts), "answer": [str(n) for n in counts]},
          {"image": datasets.Image(), "question": datasets.Value("string"), "answer": datasets.Value("string")},
          out / "counts.parquet")
    charts = [[20, 45, 80, 35], [60, 15, 30, 90], [50, 50, 70, 10], [5, 95, 40, 60]]
    _save({"image": [bar_chart(v) for v in charts], "question": ["What is the value of the tallest bar?"] * 4,
           "answer": [str(max(v)) for v in charts], "type": ["human_test", "augmented_test"] * 2},
          {"image": datasets.Image(), "question": datasets.Value("string"), "answer": datasets.Value("string"),
           "type": datasets.Value("string")},
          out / "chart.parquet")
    videos = out / "videos"
    videos.mkdir(exist_ok=True)
    video_colours = ["red", "blue", "green", "yellow"]
    for colour in video_colours:
        write_video(videos / f"square_{colour}.mp4", moving_square_frames(colour))
    _save({"video_id": [f"square_{c}" for c in video_colours],
           "question": ["What colour is the moving square?"] * 4,
           "options": [list(COLOURS)] * 4, "answer": [str(list(COLOURS).index(c)) for c in video_colours]},
          {"video_id": datasets.Value("string"), "question": datasets.Value("string"),
           "options": datasets.List(datasets.Value("string")), "answer": datasets.Value("string")},
          out / "video.parquet")


if __name__ == "__main__":
    make_all(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "tasks/demo/data")
