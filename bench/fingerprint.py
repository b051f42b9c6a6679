"""Cost of the checkpoint / media content fingerprint (ov_eval.fingerprint): first sight, cache hit, extrapolation.

Writes a test file of real (non-sparse) bytes under /tmp (--gib, default 2), fingerprints it with a fresh cache
(the full sha256: what the first run on a checkpoint pays), again (a cache hit: a stat, the sampled blocks and a
lookup), then after `cp -p`-style replacement of its bytes, and deletes everything. The first read may come from
the page cache (the file was just written), so the first-sight figure is the hashing speed; on a cold disk the
disk's read speed bounds it instead. Usage: python bench/fingerprint.py [--gib 2] [--dir /tmp]
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from ov_eval.fingerprint import HASH_THREADS, FingerprintCache, file_fingerprint


def write_file(path: Path, gib: float) -> int:
    block = os.urandom(64 * 1024 * 1024)
    size = int(gib * 1024**3)
    with path.open("wb") as handle:
        written = 0
        while written < size:
            chunk = block[: size - written]
            handle.write(chunk)
            written += len(chunk)
    return size


def timed(fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.0)
    parser.add_argument("--dir", default="/tmp")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ov_eval_fingerprint_bench_", dir=args.dir))
    try:
        path = folder / "model.safetensors"
        size = write_file(path, args.gib)
        cache = FingerprintCache(folder / "fingerprints.sqlite")
        first, cold = timed(file_fingerprint, path, cache)
        again, hit = timed(file_fingerprint, path, cache)
        assert again == first
        rate = size / cold / 1e9
        times = os.stat(path)
        with path.open("r+b") as handle:  # other bytes, then size and mtime put back as cp -p would
            handle.seek(size // 3)
            handle.write(b"other bytes")
        os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))
        changed, recompute = timed(file_fingerprint, path, cache)
        print(f"file: {size / 1e9:.2f} GB of real bytes in {folder}")
        print(f"first sight (full sha256, cached afterwards): {cold:.2f} s  ({rate:.2f} GB/s)")
        print(f"cache hit (stat + 16 sampled blocks + lookup): {hit * 1000:.1f} ms")
        print(f"after same-size same-mtime replacement: {recompute:.2f} s, fingerprint changed: {changed != first}")
        print(f"hash threads: {HASH_THREADS} (of {os.cpu_count()} CPUs)")
        print(f"150 GB checkpoint at this rate: first run {150 / rate:.0f} s (once per file version, or the disk's "
              f"read speed if slower); later runs {hit * 1000 * 30:.0f} ms for 30 shards")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
