"""Media stage: turns MediaRefs into decoded images and sampled video frames, or a per-sample MediaError."""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ov_eval.data.doc_values import describe
from ov_eval.fingerprint import file_fingerprint
from ov_eval.models.preprocess import sample_frame_indices
from ov_eval.types import EncodedImage, MediaRef


class MediaError(Exception):
    """A sample's image or video cannot be decoded: an error for that sample, never a silent fallback."""


ACCEPTED_IMAGE_FORMS = ("a datasets Image value, {'bytes': ...}, {'path': ...} or a file path string "
                        "(relative paths resolve against the local dataset's folder)")


def resolve_image_paths(cell: Any, dataset_folder: Path | None) -> Any:
    """An image cell with a relative path (a string, or {'path': ...} without bytes) made absolute against the
    folder of a local dataset; a hub dataset has no such folder, so its relative paths stay as they are."""
    if dataset_folder is None:
        return cell
    if isinstance(cell, str) and cell and not os.path.isabs(cell):
        return str(dataset_folder / cell)
    if isinstance(cell, dict) and not cell.get("bytes") and cell.get("path") and not os.path.isabs(cell["path"]):
        return {**cell, "path": str(dataset_folder / cell["path"])}
    return cell


def no_visual_message(label: str, columns: list[str], doc: dict[str, Any], from_hook: bool) -> str:
    """Why a document of an image task has no image (its image fields are None or empty lists)."""
    if from_hook and not columns:
        return f"{label}: doc_to_visual names no image column; a task whose documents may have no image sets " \
               "visual.optional: true"
    cells = ", ".join(f"'{c}' ({describe(doc.get(c))})" for c in columns)
    return f"{label}: no image in column{'s' if len(columns) > 1 else ''} {cells}; a task whose documents may " \
           "have no image sets visual.optional: true"


def decode_image(ref: MediaRef) -> Image.Image:
    source = ref.source
    try:
        if isinstance(source, Image.Image):
            image = source
        elif isinstance(source, dict) and source.get("bytes"):
            image = Image.open(io.BytesIO(source["bytes"]))
        elif isinstance(source, dict) and source.get("path"):
            image = Image.open(source["path"])
        elif isinstance(source, str) and source and not os.path.isabs(source):
            raise MediaError(f"{ref.label}: image path '{source}' is relative and the dataset has no local folder "
                             "to resolve it against (a hub dataset): store image bytes or absolute paths")
        elif isinstance(source, (str, os.PathLike)) and source:
            image = Image.open(source)
        else:
            raise MediaError(f"{ref.label}: no image data ({type(source).__name__}); accepted: "
                             f"{ACCEPTED_IMAGE_FORMS}")
        image.load()
        return image.convert("RGB")
    except MediaError:
        raise
    except Exception as exc:
        raise MediaError(f"{ref.label}: cannot decode image: {exc}") from None


def encoded_image(ref: MediaRef) -> EncodedImage | None:
    """The image's original bytes when they are PNG or JPEG (sent as they are), else None (re-encode the pixels)."""
    source = ref.source
    try:
        if isinstance(source, dict) and source.get("bytes"):
            data = bytes(source["bytes"])
        elif isinstance(source, dict) and source.get("path"):
            data = Path(source["path"]).read_bytes()
        else:
            return None
    except (OSError, ValueError):  # unreadable: the decode of the same image reports it for its sample
        return None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return EncodedImage(data, "image/png")
    if data.startswith(b"\xff\xd8\xff"):
        return EncodedImage(data, "image/jpeg")
    return None


def decode_video(ref: MediaRef, num_frames: int, backend: str = "decord") -> np.ndarray:
    """`num_frames` frames sampled uniformly (linspace), decoding only those frames."""
    if not ref.source:  # the task refused the video id (e.g. it escapes the video folder)
        raise MediaError(ref.label)
    path = Path(ref.source)
    try:
        if not path.is_file():
            raise MediaError(f"{ref.label}: video file not found: {path}")
        if backend == "decord":
            return _decode_with_decord(path, num_frames)
        return _decode_with_pyav(path, num_frames)
    except MediaError:
        raise
    except Exception as exc:
        raise MediaError(f"{ref.label}: cannot decode video {path.name}: {exc}") from None


def _decode_with_decord(path: Path, num_frames: int) -> np.ndarray:
    import decord

    reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
    total = len(reader)
    if total == 0:
        raise MediaError(f"video {path.name} has no frames")
    indices = sample_frame_indices(total, num_frames)
    return reader.get_batch(indices.tolist()).asnumpy()


def _decode_with_pyav(path: Path, num_frames: int) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        total = stream.frames or sum(1 for _ in container.decode(stream))
    if total == 0:
        raise MediaError(f"video {path.name} has no frames")
    wanted = sample_frame_indices(total, num_frames).tolist()
    frames: list[np.ndarray] = []
    index = -1
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(container.streams.video[0])):
            while len(frames) < len(wanted) and wanted[len(frames)] == index:
                frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == len(wanted):
                break
    if len(frames) != len(wanted):
        raise MediaError(f"video {path.name} ended after {index + 1} of {total} frames")
    return np.stack(frames)


def media_digest(ref: MediaRef) -> str:
    """Content identity of a media reference, so a journal never reuses a response for other media."""
    source = ref.source
    digest = hashlib.sha1()
    if isinstance(source, dict) and source.get("bytes"):
        digest.update(source["bytes"])
    elif isinstance(source, dict) and source.get("path"):
        digest.update(_file_identity(source["path"]).encode())
    elif isinstance(source, (str, os.PathLike)):
        digest.update(_file_identity(source).encode())
    elif isinstance(source, Image.Image):
        digest.update(source.tobytes())
    return digest.hexdigest()[:16]


def _file_identity(path: str | os.PathLike) -> str:
    """The path and a fingerprint of the file's bytes; a path that cannot be read (missing, too long, a loop, a
    NUL byte) gets a marker instead, and its decode reports the fault for that sample."""
    try:
        return f"{os.fspath(path)}:{file_fingerprint(path)}"
    except (OSError, ValueError) as exc:
        return f"{os.fspath(path)}:unreadable:{type(exc).__name__}"
