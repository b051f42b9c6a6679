"""`ov_eval prepare` on local fixture data, without network (HF_HUB_OFFLINE=1 throughout): a local dataset is
loaded and measured; a video task's archive comes from a hub cache laid out as huggingface_hub writes it
(refs/main -> snapshots/<commit>/videos.zip), through the real snapshot_download, and is extracted once; the
closing offline check runs in a child process. Downloading a hub dataset needs the network and is not tested."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, subprocess_env

COMMIT = "0123456789abcdef0123456789abcdef01234567"
DEMO = REPO / "tasks" / "demo" / "data"


@pytest.fixture
def setup(tmp_path):
    tasks = tmp_path / "tasks"
    (tasks / "my").mkdir(parents=True)
    (tasks / "my" / "my_colours.yaml").write_text(
        f"task: my_colours\ndataset: {{path: {DEMO / 'colours.parquet'}, split: train}}\n"
        "visual: {kind: image, fields: [image]}\ntarget: {field: answer}\nmetrics: [{metric: exact_match}]\n")
    (tasks / "my" / "my_video.yaml").write_text(
        f"task: my_video\ndataset:\n  path: {DEMO / 'video.parquet'}\n  split: train\n  video_archives: "
        "{repo: fixture/demo-videos, patterns: [videos.zip], cache_name: demo_videos, subdir: videos}\n"
        "visual: {kind: video, fields: [video_id], video_pattern: '{}.mp4'}\n"
        "target: {field: answer, transform: index_to_letter}\nmetrics: [{metric: exact_match}]\n")
    (tasks / "my" / "my_hub.yaml").write_text(
        "task: my_hub\ndataset: {path: fixture/not-downloaded, split: test}\ntarget: {field: answer}\n"
        "metrics: [{metric: exact_match}]\n")
    repo = tmp_path / "hub" / "datasets--fixture--demo-videos"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    (repo / "snapshots" / COMMIT).mkdir(parents=True)
    with zipfile.ZipFile(repo / "snapshots" / COMMIT / "videos.zip", "w") as bundle:
        for video in sorted((DEMO / "videos").iterdir()):
            bundle.write(video, f"videos/{video.name}")
    env = subprocess_env(HF_HOME=str(tmp_path / "hf"), HF_HUB_CACHE=str(tmp_path / "hub"), HF_HUB_OFFLINE="1",
                         HF_DATASETS_OFFLINE="1", OV_EVAL_VIDEO_CACHE=str(tmp_path / "videos"))
    return tmp_path, tasks, env


def prepare(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ov_eval", "prepare", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)


def kb(path: Path) -> str:
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
    return f"{size / 1e3:.1f} kB"


def test_prepare_loads_measures_extracts_and_checks_offline(setup):
    root, tasks, env = setup
    result = prepare(env, "--tasks", "my_colours,my_video", "--include_path", str(tasks))
    assert result.returncode == 0, result.stderr
    videos = root / "videos" / "demo_videos" / "videos"
    assert sorted(p.name for p in videos.iterdir()) == sorted(p.name for p in (DEMO / "videos").iterdir())
    assert result.stdout.splitlines() == [
        f"my_colours  8 documents, local dataset {kb(DEMO / 'colours.parquet')}",
        f"my_video    4 documents, local dataset {kb(DEMO / 'video.parquet')}, videos {kb(videos)} in {videos}",
        "",
        f"offline-ready: 2 task(s) load with HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 (hub and datasets caches "
        f"under {root / 'hf'}, videos under {root / 'videos'})"]
    again = prepare(env, "--tasks", "my_video", "--include_path", str(tasks), "--offline_check")
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


def test_a_task_that_cannot_be_prepared_is_named_and_the_others_still_are(setup):
    root, tasks, env = setup
    result = prepare(env, "--tasks", "my_hub,my_colours", "--include_path", str(tasks))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("my_hub      FAILED: task 'my_hub': cannot load dataset 'fixture/not-downloaded' "
                               "(config None, split test): ")
    assert lines[1:] == [f"my_colours  8 documents, local dataset {kb(DEMO / 'colours.parquet')}", "",
                         "not offline-ready: 1 of 2 task(s) failed: my_hub"]
    check = prepare(env, "--tasks", "my_hub", "--include_path", str(tasks), "--offline_check")
    assert check.returncode == 1 and check.stdout == ""
    assert check.stderr.splitlines()[-1] == ("not offline-ready: 1 of 1 task(s) do not load from the caches: "
                                             "my_hub")
