"""Video-MME subtitles: the SRT lines on screen at the sampled frames (docs/scoring_rules.md §2 videomme_w_subtitle).

The reference deduplicates the collected lines through a Python `set` and prints them in set order, which
changes with PYTHONHASHSEED; ov_eval prints them in order of first appearance (by sampled frame, then by
start time), which is deterministic.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import numpy as np

NO_SUBTITLES = "No subtitles available"
_WHITE_FONT = re.compile(r'<font color="white" size=".72c">(.*?)</font>')
_TIME = re.compile(r"(\d+):(\d+):(\d+)[,.](\d+)")


def _seconds(stamp: str) -> float:
    match = _TIME.search(stamp)
    if match is None:
        raise ValueError(f"not an SRT time: {stamp!r}")
    hours, minutes, seconds, millis = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 10 ** len(millis)


def parse_srt(text: str) -> dict[tuple[float, float], str]:
    """(start s, end s) -> text (lines 3+ space-joined); sections with fewer than 3 lines are skipped and a
    repeated range overwrites the earlier one."""
    entries: dict[tuple[float, float], str] = {}
    for section in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = section.split("\n")
        if len(lines) < 3 or "-->" not in lines[1]:
            continue
        start, _, end = lines[1].partition("-->")
        try:
            entries[(_seconds(start), _seconds(end))] = " ".join(lines[2:])
        except ValueError:
            continue
    return entries


def subtitle_lines(srt_text: str, fps: float, total_frames: int, num_frames: int) -> str:
    """The white-font captions shown at frames int(linspace(0, total-1, num_frames)), joined with newlines."""
    frames = np.linspace(0, total_frames - 1, num_frames, dtype=int).tolist()
    spans = [(int(start * fps), int(end * fps), text) for (start, end), text in parse_srt(srt_text).items()]
    chosen: list[str] = []
    for frame in frames:
        for start, end, text in spans:
            if start <= frame < end and text not in chosen:
                chosen.append(text)
    captions = [m.group(1) for m in (_WHITE_FONT.search(text) for text in chosen) if m is not None]
    return "\n".join(captions)


@functools.lru_cache(maxsize=256)
def video_frame_info(path: str) -> tuple[float, int]:
    """(fps, frame count) of a video, read from its header (decord, else PyAV)."""
    try:
        import decord

        reader = decord.VideoReader(path, num_threads=1)
        return float(reader.get_avg_fps()), len(reader)
    except Exception:
        import av

        with av.open(path) as container:
            stream = container.streams.video[0]
            return float(stream.average_rate or 0), int(stream.frames or 0)


def subtitle_folder(task: Any) -> Path:
    configured = task.config.dataset.subtitle_dir
    if configured:
        folder = Path(configured).expanduser()
        return folder if folder.is_absolute() else task.source_path.parent / folder
    return task.video_folder().parent / "subtitle"


def subtitles_at_sampled_frames(task: Any, doc: dict, num_frames: int) -> str:
    """The subtitle block of a Video-MME prompt, or "No subtitles available" (no SRT, or a video whose frame
    count cannot be read; that video's decode then reports the error for the sample)."""
    srt = subtitle_folder(task) / f"{doc['videoID']}.srt"
    if not srt.is_file():
        return NO_SUBTITLES
    try:
        fps, total = video_frame_info(str(task.video_path(doc)))
    except Exception:
        return NO_SUBTITLES
    if fps <= 0 or total <= 0:
        return NO_SUBTITLES
    return subtitle_lines(srt.read_text(encoding="utf-8", errors="replace"), fps, total, num_frames)
