"""Video archives of a dataset repo: fetched through the hub cache, extracted once, resolved safely.

A dataset repo ships its videos as zip / tar archives. They are downloaded with `snapshot_download` (so
`HF_HUB_OFFLINE=1` works from the cache) and extracted into `$OV_EVAL_VIDEO_CACHE/<cache_name>` (default
`~/.cache/ov_eval/videos/<cache_name>`). Extraction goes into a temporary sibling folder that is renamed into
place only once every archive is out, under a file lock (several ranks may ask at once): the final folder
existing means complete, and a leftover temporary folder (a killed extraction) is removed and redone.

Video ids resolve inside the video folder only: absolute ids, `..` and symlinks leading out are refused.
"""
from __future__ import annotations

import fcntl
import fnmatch
import os
import shutil
import tarfile
import zipfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Iterator, Sequence

from ov_eval.errors import OvEvalError

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
PARTIAL_PREFIX = ".partial-"


class VideoPathError(OvEvalError):
    """A video id that would resolve outside its video folder."""


def video_cache_root() -> Path:
    configured = os.environ.get("OV_EVAL_VIDEO_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "ov_eval" / "videos"


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def fetch_archives(repo: str, patterns: Sequence[str], revision: str | None = None) -> list[Path]:
    """The repo's archive files matching `patterns`, from the hub cache (downloaded when missing)."""
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(repo, repo_type="dataset", allow_patterns=list(patterns), revision=revision))
    except Exception as exc:  # network, auth, offline without cache: all stop the run with the repo named
        raise OvEvalError(f"cannot fetch video archives {list(patterns)} of dataset '{repo}': {exc}") from None
    archives = sorted(p for p in folder.rglob("*") if p.is_file() and is_archive(p)
                      and any(fnmatch.fnmatch(p.relative_to(folder).as_posix(), pattern) for pattern in patterns))
    if not archives:
        raise OvEvalError(f"dataset '{repo}' has no archive matching {list(patterns)}")
    return archives


def _extract_one(archive: Path, destination: Path) -> None:
    if archive.name.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.namelist():
                _check_member(archive, member)
            bundle.extractall(destination)
    else:
        with tarfile.open(archive) as bundle:
            try:
                bundle.extractall(destination, filter="data")  # refuses absolute, `..` and escaping links
            except tarfile.FilterError as exc:
                raise OvEvalError(f"{archive}: {exc}") from None


def _check_member(archive: Path, member: str) -> None:
    parts = PurePosixPath(member.replace("\\", "/")).parts
    if member.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        raise OvEvalError(f"{archive}: member '{member}' would be written outside the extraction folder")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def extract_archives(archives: Sequence[Path], destination: Path) -> Path:
    """Extract every archive into `destination` once; an existing `destination` is complete by construction."""
    destination = Path(destination)
    with _locked(destination.with_name(f".{destination.name}.lock")):
        if destination.is_dir():
            return destination
        partial = destination.with_name(f"{PARTIAL_PREFIX}{destination.name}")
        if partial.exists():  # a killed extraction: never taken as complete
            shutil.rmtree(partial)
        partial.mkdir(parents=True)
        try:
            for archive in archives:
                _extract_one(Path(archive), partial)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        os.rename(partial, destination)
    return destination


def prepare_video_folder(repo: str, patterns: Sequence[str], cache_name: str, subdir: str = "",
                         revision: str | None = None) -> Path:
    """The folder holding a dataset's videos, fetched and extracted on first use."""
    destination = video_cache_root() / cache_name
    if not destination.is_dir():
        extract_archives(fetch_archives(repo, patterns, revision), destination)
    folder = destination / subdir if subdir else destination
    if not folder.is_dir():  # the archives' layout differs from the task's expectation: say so once, clearly
        found = ", ".join(sorted(p.name for p in destination.iterdir())[:10]) or "nothing"
        raise OvEvalError(f"the archives of dataset '{repo}' extracted into {destination} hold no folder '{subdir}' "
                          f"(found: {found}); fix dataset.video_archives.subdir, or point dataset.video_dir or "
                          "--dataset_override (a folder with the parquet and a videos/ subfolder) at the videos")
    return folder


def _shown(name: str, limit: int = 60) -> str:
    """A video id for a message: quoted, and cut to `limit` characters with its length when longer."""
    return repr(name) if len(name) <= limit else f"{name[:limit]!r}... ({len(name)} characters)"


def resolve_video(root: Path, name: str, fallback_extensions: Sequence[str] = ()) -> Path:
    """`root/name`, or the first existing fallback with another extension; refuses ids that leave `root`.

    A file that exists under none of the names resolves to the primary path (its decode reports it missing).
    """
    relative = PurePosixPath(name.replace("\\", "/"))
    if not name or relative.is_absolute() or ".." in relative.parts or Path(name).is_absolute():
        raise VideoPathError(f"video id '{name}' escapes the video folder")
    if "\x00" in name:
        raise VideoPathError(f"video id {_shown(name)} holds a NUL byte")
    base = Path(root).resolve()
    primary = base / relative
    candidates = [primary] + [primary.with_suffix(ext) for ext in fallback_extensions if primary.suffix != ext]
    try:
        chosen = next((c for c in candidates if c.exists()), primary)
        real = chosen.resolve(strict=chosen.is_symlink())
    except RuntimeError:  # Python 3.11's word for a symlink loop
        raise VideoPathError(f"video id {_shown(name)}: symlink loop") from None
    except OSError as exc:  # a name too long, a symlink loop, a folder that cannot be read
        raise VideoPathError(f"video id {_shown(name)}: {exc.strerror or exc}") from None
    if real != base and base not in real.parents:
        raise VideoPathError(f"video id '{name}' resolves outside the video folder (symlink to {real})")
    return real
