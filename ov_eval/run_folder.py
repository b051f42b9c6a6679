"""The run's output folder: created and checked writable before the model loads, and held by one run at a time.

Two runs appending to one journal would interleave their records, so the main process of a run holds an
exclusive fcntl lock on `{folder}/.lock` (with its pid inside) for as long as it runs. Only rank 0 takes it:
a second run always has a rank 0 too, so it stops there at once, and a failing rank 0 stops its other ranks
through the launcher. The lock goes with the process (a killed run leaves nothing to clean up).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
from pathlib import Path
from typing import Iterator

from ov_eval.disk import writing
from ov_eval.errors import OvEvalError

LOCK_NAME = ".lock"
_UNSAFE = re.compile(r"[\"<>:/|\\?*\[\]]+")  # the reference's set of characters made `__`


def run_folder_name(name: str) -> str:
    """The folder a model's runs go to, under --output_path.

    A hub id keeps the reference's name (`lmms-lab/x` -> `lmms-lab__x`). A local checkpoint is named from its
    resolved path, so `pretrained=../x`, `./x` and `/abs/x` share one folder from any working directory: its last
    two components and 8 hex digits of the whole resolved path (two checkpoints `a/run/final` and `b/run/final`
    stay apart). No name starts with a dot (`..__x` would be hidden from `logs/*/`); "" when nothing is left."""
    local = Path(name).expanduser()
    if name and local.exists():
        resolved = local.resolve()
        digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
        name = "__".join(resolved.parts[-2:] if len(resolved.parts) > 2 else resolved.parts[-1:]) + f"-{digest}"
    return _UNSAFE.sub("__", name).strip("_").lstrip("._")


def create_output_folder(folder: Path, output_path: str) -> None:
    """`folder` exists as a folder (parents made); a file in the way or a refused mkdir names --output_path."""
    for parent in [folder, *folder.parents]:
        if parent.exists() and not parent.is_dir():
            raise OvEvalError(f"--output_path: '{output_path}' cannot hold the run: '{parent}' is a file, "
                              "not a folder")
        if parent.exists():
            break
    try:
        with writing(folder):
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OvEvalError(f"--output_path: cannot create folder '{folder}': {exc.strerror}") from None


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"


@contextlib.contextmanager
def claim_output_folder(folder: Path, output_path: str, hold_lock: bool) -> Iterator[None]:
    """Create and check `folder`; with `hold_lock`, hold its run lock until the block ends."""
    create_output_folder(folder, output_path)
    try:
        with writing(folder / LOCK_NAME):
            fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OvEvalError(f"--output_path: cannot write in '{folder}': {exc.strerror}") from None
    try:
        if hold_lock:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OvEvalError(f"another ov_eval run (pid {_holder(fd)}) is using {folder}") from None
            with writing(folder / LOCK_NAME):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
