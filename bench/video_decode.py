"""Video decoding figures for the media stage (ov_eval.data.media.decode_video), decord and PyAV:

1. time per sample to decode 8 and 32 uniformly sampled frames of a short fixture-like video;
2. peak memory of decoding 32 frames of a long video (10 minutes, 64x64, 10 fps = 6000 frames), measured in a
   fresh process per backend as the growth of its peak RSS (ru_maxrss) over the decode, next to what holding
   every frame would take.

    python bench/video_decode.py [--minutes 10] [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BACKENDS = ("decord", "pyav")


def write_video(path: Path, frames: int, size: int, fps: int) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p"
        for i in range(frames):
            pixels = np.full((size, size, 3), (i * 7) % 256, np.uint8)
            pixels[: size // 2, : size // 2] = (255 - (i * 3) % 256)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decode(path: Path, frames: int, backend: str) -> np.ndarray:
    from ov_eval.data.media import decode_video
    from ov_eval.types import MediaRef

    return decode_video(MediaRef("video", str(path), path.name), frames, backend)


def time_per_sample(path: Path, frames: int, backend: str, repeats: int) -> float:
    decode(path, frames, backend)  # warm-up (imports, codec init)
    start = time.perf_counter()
    for _ in range(repeats):
        decode(path, frames, backend)
    return (time.perf_counter() - start) / repeats


def _peak_child(path: Path, frames: int, backend: str) -> dict:
    """Run in a fresh interpreter: peak-RSS growth of one decode."""
    code = f"""
import json, resource, sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
import decord, av, numpy
from ov_eval.data.media import decode_video
from ov_eval.types import MediaRef
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
try:
    open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the current RSS
    reset = True
except OSError:
    reset = False
before = status("VmRSS")
start = time.perf_counter()
out = decode_video(MediaRef("video", {str(path)!r}, "long"), {frames}, {backend!r})
seconds = time.perf_counter() - start
peak = status("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"peak_kib": peak - before, "seconds": seconds, "shape": list(out.shape), "reset": reset}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        short = write_video(Path(folder) / "short.mp4", frames=240, size=64, fps=24)  # 10 s
        print("Decode time per sample, short video (240 frames, 64x64, 24 fps):")
        print("| backend | 8 frames | 32 frames |\n|---|---:|---:|")
        for backend in BACKENDS:
            t8, t32 = (time_per_sample(short, n, backend, args.repeats) for n in (8, 32))
            print(f"| {backend} | {t8 * 1000:.1f} ms | {t32 * 1000:.1f} ms |")

        total = int(args.minutes * 60 * 10)
        start = time.perf_counter()
        long_video = write_video(Path(folder) / "long.mp4", frames=total, size=64, fps=10)
        print(f"\nLong video: {args.minutes:g} min, {total} frames, 64x64, 10 fps, "
              f"{long_video.stat().st_size / 1e6:.1f} MB (written in {time.perf_counter() - start:.1f} s)")
        every_frame_mib = total * 64 * 64 * 3 / 2 ** 20
        print(f"Holding every decoded frame would take {every_frame_mib:.1f} MiB; 32 frames take "
              f"{32 * 64 * 64 * 3 / 2 ** 20:.2f} MiB.")
        print("| backend | 32 frames: decode time | peak RSS growth |\n|---|---:|---:|")
        for backend in BACKENDS:
            figures = _peak_child(long_video, 32, backend)
            assert figures["shape"] == [32, 64, 64, 3], figures
            print(f"| {backend} | {figures['seconds'] * 1000:.0f} ms | {figures['peak_kib'] / 1024:.1f} MiB |")


if __name__ == "__main__":
    main()
