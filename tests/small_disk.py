"""A real full disk for tests: a tmpfs of a few pages, mounted in a user and mount namespace (`unshare -Urm`, no
root needed where unprivileged user namespaces are allowed), so writes fail with the kernel's own ENOSPC."""
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO, subprocess_env

PAGE = 4096
DISK_PAGES = 64


def small_disk_available(probe: Path) -> str | None:
    """None when a tmpfs can be mounted this way here, else why not."""
    if shutil.which("unshare") is None:
        return "no unshare command"
    probe.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["unshare", "-Urm", "sh", "-c", f"mount -t tmpfs -o size=4k tmpfs {shlex.quote(str(probe))}"],
                          capture_output=True, text=True)
    return None if done.returncode == 0 else f"cannot mount a tmpfs in a user namespace: {done.stderr.strip()}"


def run_twice_on_small_disk(disk: Path, saved: Path, args: list[str], free_pages: int, rerun: bool = True,
                            **env: str) -> None:
    """Mount a DISK_PAGES-page tmpfs at `disk` with only `free_pages` pages free, run `ov_eval ARGS` there, save its
    stderr / exit status, a listing of the disk and a copy of it (the filler aside) under `saved/first.*`; then free the space, run the same
    command again and save the same under `saved/second.*`, with a copy of the disk in `saved/disk`."""
    disk.mkdir(parents=True, exist_ok=True)
    saved.mkdir(parents=True, exist_ok=True)
    command = " ".join(shlex.quote(part) for part in [sys.executable, "-m", "ov_eval", *args])
    d, s = shlex.quote(str(disk)), shlex.quote(str(saved))
    script = f"""
set -u
mount -t tmpfs -o size={DISK_PAGES * PAGE} tmpfs {d}
head -c {(DISK_PAGES - free_pages) * PAGE} /dev/zero > {d}/filler
cd {shlex.quote(str(REPO))}
{command} > {s}/first.out 2> {s}/first.err; echo $? > {s}/first.rc
(cd {d} && find . -print | sort) > {s}/first.files
cp -a {d} {s}/first.disk
rm -f {s}/first.disk/filler
rm {d}/filler
{"" if rerun else "exit 0"}
{command} > {s}/second.out 2> {s}/second.err; echo $? > {s}/second.rc
(cd {d} && find . -print | sort) > {s}/second.files
cp -a {d} {s}/disk
"""
    done = subprocess.run(["unshare", "-Urm", "sh", "-c", script], env=subprocess_env(**env), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
