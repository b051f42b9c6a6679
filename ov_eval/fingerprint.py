"""Content fingerprints of files (checkpoint weights, media named by path): they change whenever the bytes do.

Names, sizes and modification times are not enough: `cp -p`, `rsync -a` and tar put other bytes under the same
size and mtime. A fingerprint is a sha256 of the whole file (a sha256 over the sha256s of its 256 MiB segments,
hashed by several threads), so it is exact; what keeps it cheap for a 150 GB checkpoint is a cache of those hashes keyed by (device, inode, size, mtime, ctime). Copying, extracting or
writing a file sets its ctime to the present, and no user call can set a ctime back, so any change of the bytes
misses the cache. On every cache hit a sample of the file (its first 64 KiB, which holds a safetensors header,
and 16 blocks of 4 KiB at fixed offsets) is read and compared with the sample stored beside the hash: a hit
costs a stat and about 130 KiB of reads, and a stale entry is caught (and the hash computed again) even where the
file system's ctimes cannot be trusted. Small files are hashed directly, without the cache.

The cache is SQLite at $OV_EVAL_FINGERPRINT_CACHE, else $XDG_CACHE_HOME (or ~/.cache)/ov_eval/fingerprints.sqlite;
where it cannot be written the hashes are computed every time (slower, never wrong).
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import sqlite3
import stat as stat_module
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterator, Sequence

log = logging.getLogger(__name__)

HEAD_BYTES = 64 * 1024
SAMPLE_BLOCKS = 16
BLOCK_BYTES = 4 * 1024
UNCACHED_BELOW = 8 * 1024 * 1024  # hashing a file this small costs less than looking it up
READ_CHUNK = 8 * 1024 * 1024
SEGMENT_BYTES = 256 * 1024 * 1024
HASH_THREADS = min(8, os.cpu_count() or 1)
_LOCK_BUCKETS = 16  # processes hashing the same file wait for one another instead of reading it twice

_SCHEMA = """CREATE TABLE IF NOT EXISTS fingerprints (
    device INTEGER, inode INTEGER, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER,
    sample TEXT NOT NULL, sha256 TEXT NOT NULL,
    PRIMARY KEY (device, inode, size, mtime_ns, ctime_ns))"""


def default_cache_path() -> Path:
    if os.environ.get("OV_EVAL_FINGERPRINT_CACHE"):
        return Path(os.environ["OV_EVAL_FINGERPRINT_CACHE"])
    root = Path(os.environ["XDG_CACHE_HOME"]) if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return root / "ov_eval" / "fingerprints.sqlite"


def sample_digest(path: str | os.PathLike[str], size: int) -> str:
    """sha256 of the file's head and of blocks at fixed offsets spread over the file (the cache's check)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        digest.update(handle.read(HEAD_BYTES))
        if size > HEAD_BYTES:
            last = size - BLOCK_BYTES
            for i in range(SAMPLE_BLOCKS):
                handle.seek(HEAD_BYTES + (last - HEAD_BYTES) * i // (SAMPLE_BLOCKS - 1))
                digest.update(handle.read(BLOCK_BYTES))
    return digest.hexdigest()


def _segment_digest(fd: int, offset: int, length: int) -> bytes:
    digest = hashlib.sha256()
    end = offset + length
    while offset < end:
        chunk = os.pread(fd, min(READ_CHUNK, end - offset), offset)
        if not chunk:
            raise OSError(f"file shrank while being hashed (at byte {offset})")
        digest.update(chunk)
        offset += len(chunk)
    return digest.digest()


def full_digest(path: str | os.PathLike[str]) -> str:
    """sha256 over the sha256 of each SEGMENT_BYTES segment, the segments hashed in parallel threads (hashlib and
    pread release the GIL), so a large file is hashed at the speed of several cores or of the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        offsets = range(0, max(size, 1), SEGMENT_BYTES)
        workers = min(HASH_THREADS, len(offsets))
        if workers == 1:
            parts = [_segment_digest(fd, 0, size)]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ov_eval-hash") as pool:
                parts = list(pool.map(lambda start: _segment_digest(fd, start, min(SEGMENT_BYTES, size - start)),
                                      offsets))
    finally:
        os.close(fd)
    return hashlib.sha256(f"{size}:".encode() + b"".join(parts)).hexdigest()


_UNUSABLE_CACHES: set[Path] = set()


class FingerprintCache:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection | None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            connection.execute(_SCHEMA)
            return connection
        except (OSError, sqlite3.Error) as exc:
            if self.path not in _UNUSABLE_CACHES:  # once per cache, not once per file of a large dataset
                _UNUSABLE_CACHES.add(self.path)
                log.warning("fingerprint cache %s cannot be used (%s): hashing files in full", self.path, exc)
            return None

    @contextmanager
    def _bucket_lock(self, key: tuple[int, ...]) -> Iterator[None]:
        lock = self.path.with_name(f"{self.path.name}.lock{hash(key) % _LOCK_BUCKETS}")
        try:
            handle = open(lock, "a")
        except OSError:
            yield
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def fingerprint(self, path: str | os.PathLike[str], info: os.stat_result) -> str:
        key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        sample = sample_digest(path, info.st_size)
        connection = self._connect()
        if connection is None:
            return full_digest(path)
        with closing(connection), self._bucket_lock(key):
            row = connection.execute("SELECT sample, sha256 FROM fingerprints WHERE device=? AND inode=? AND size=? "
                                     "AND mtime_ns=? AND ctime_ns=?", key).fetchone()
            if row is not None and row[0] == sample:
                return row[1]
            sha = full_digest(path)
            try:
                connection.execute("INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?, ?, ?, ?, ?)",
                                   (*key, sample, sha))
            except sqlite3.Error as exc:
                log.warning("fingerprint cache %s: cannot store a hash (%s)", self.path, exc)
            return sha


def file_fingerprint(path: str | os.PathLike[str], cache: FingerprintCache | None = None) -> str:
    """`sha256:<hex>` of the file's bytes (OSError when it cannot be read; a path that is not a file: ValueError
    from os.stat for a NUL byte, IsADirectoryError for a folder)."""
    info = os.stat(path)
    if stat_module.S_ISDIR(info.st_mode):
        raise IsADirectoryError(f"{os.fspath(path)} is a folder")
    if info.st_size < UNCACHED_BELOW or not stat_module.S_ISREG(info.st_mode):
        return f"sha256:{full_digest(path)}"
    return f"sha256:{(cache or FingerprintCache(default_cache_path())).fingerprint(path, info)}"


def files_fingerprints(paths: Sequence[Path]) -> list[str]:
    """Fingerprints of several files (a sharded checkpoint) through one cache."""
    cache = FingerprintCache(default_cache_path())
    return [file_fingerprint(path, cache) for path in paths]
