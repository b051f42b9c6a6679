"""Content fingerprints: other bytes under the same name, size and mtime (`cp -p`) never reuse old answers."""
import os
import shutil
import sqlite3

from conftest import run_ov_eval
from ov_eval.fingerprint import UNCACHED_BELOW, FingerprintCache, file_fingerprint
from ov_eval.models.tiny import write_tiny_checkpoint
from test_pipeline_e2e import eval_args, journal_lines


def replace_keeping_times(source, target):
    """What `cp -p` / `rsync -a` / tar do: other bytes, the old name, the same size and modification time."""
    times = os.stat(target)
    shutil.copyfile(source, target)
    os.utime(target, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert (os.stat(target).st_size, os.stat(target).st_mtime_ns) == (times.st_size, times.st_mtime_ns)


def big_file(path, fill: bytes):
    path.write_bytes(fill * (UNCACHED_BELOW // len(fill) + 4096))
    return path


def test_same_size_and_mtime_with_other_bytes_changes_the_fingerprint_of_a_cached_file(tmp_path):
    cache = FingerprintCache(tmp_path / "cache.sqlite")
    first = big_file(tmp_path / "a.bin", b"a")
    before = file_fingerprint(first, cache)
    assert file_fingerprint(first, cache) == before  # the cached hash
    with sqlite3.connect(cache.path) as db:
        assert db.execute("SELECT COUNT(*) FROM fingerprints").fetchone() == (1,)
    # one byte in the middle, outside every sampled block, then the mtime put back
    replace_keeping_times(big_file(tmp_path / "b.bin", b"a"), first)
    with open(first, "r+b") as handle:
        handle.seek(UNCACHED_BELOW // 2 + 12345)
        handle.write(b"b")
    os.utime(first, ns=(os.stat(first).st_atime_ns, os.stat(tmp_path / "b.bin").st_mtime_ns))
    after = file_fingerprint(first, cache)
    assert after != before
    assert after == file_fingerprint(first, FingerprintCache(tmp_path / "fresh.sqlite"))  # the bytes' hash


def test_a_stale_cache_entry_is_caught_by_the_sampled_blocks(tmp_path):
    cache = FingerprintCache(tmp_path / "cache.sqlite")
    path = big_file(tmp_path / "a.bin", b"a")
    file_fingerprint(path, cache)
    with sqlite3.connect(cache.path) as db:  # an entry that lies (a file system whose ctime cannot be trusted)
        db.execute("UPDATE fingerprints SET sha256 = 'stale', sample = 'other'")
    assert file_fingerprint(path, cache) == file_fingerprint(path, FingerprintCache(tmp_path / "fresh.sqlite"))
    assert "stale" not in file_fingerprint(path, cache)


def test_an_unwritable_cache_still_gives_the_true_fingerprint(tmp_path):
    (tmp_path / "file").write_text("x")
    path = big_file(tmp_path / "a.bin", b"a")
    blocked = FingerprintCache(tmp_path / "file" / "cache.sqlite")  # below a file: cannot be created
    assert file_fingerprint(path, blocked) == file_fingerprint(path, FingerprintCache(tmp_path / "c.sqlite"))


def test_weights_replaced_with_times_preserved_are_generated_again(tiny_checkpoint, tmp_path):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    other = write_tiny_checkpoint(tmp_path / "other", seed=1)
    out, calls = tmp_path / "out", tmp_path / "calls.log"
    args = eval_args(ckpt, out, "demo_colours", model="ovtest_adapters:CountingAdapter")

    first = run_ov_eval(args, OV_TEST_CALL_LOG=str(calls))
    assert first.returncode == 0, first.stderr
    assert len(calls.read_text().splitlines()) == 8 and journal_lines(out) == 8

    same = run_ov_eval(args, OV_TEST_CALL_LOG=str(calls))  # same bytes: every answer comes from the journal
    assert same.returncode == 0, same.stderr
    assert len(calls.read_text().splitlines()) == 8

    replace_keeping_times(other / "model.safetensors", ckpt / "model.safetensors")
    replaced = run_ov_eval(args, OV_TEST_CALL_LOG=str(calls))
    assert replaced.returncode == 0, replaced.stderr
    assert len(calls.read_text().splitlines()) == 16 and journal_lines(out) == 16
