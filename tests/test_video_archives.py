"""Video archives: extracted once and atomically, interrupted extractions redone, ids kept inside the video folder;
a broken or escaping video is an error for its sample and the run still finishes."""
import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import read_results, read_samples
from fixtures.video_multi import perceptiontest_val_mc, write_fixture, write_video
from ov_eval.cli import main
from ov_eval.data import video_archives
from ov_eval.data.media import MediaError, decode_video
from ov_eval.data.video_archives import (
    VideoPathError,
    extract_archives,
    prepare_video_folder,
    resolve_video,
)
from ov_eval.errors import OvEvalError
from ov_eval.registry import task_index
from ov_eval.task import Task
from ov_eval.types import MediaRef


@pytest.fixture(scope="module")
def video_bytes(tmp_path_factory) -> bytes:
    return write_video(tmp_path_factory.mktemp("v") / "clip.mp4").read_bytes()


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return path


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as bundle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
    return path


def test_zip_and_tar_archives_extract_once_into_one_folder(tmp_path, video_bytes, monkeypatch):
    archives = [_zip(tmp_path / "videos_chunked_01.zip", {"videos/a.mp4": video_bytes}),
                _tar(tmp_path / "videos_chunked_02.tar.gz", {"videos/b.mp4": video_bytes})]
    destination = tmp_path / "cache" / "bench"
    assert extract_archives(archives, destination) == destination
    assert sorted(p.name for p in (destination / "videos").iterdir()) == ["a.mp4", "b.mp4"]
    assert decode_video(MediaRef("video", str(destination / "videos" / "b.mp4"), "b"), 4).shape == (4, 64, 64, 3)
    assert sorted(p.name for p in destination.parent.iterdir()) == [".bench.lock", "bench"]  # no temp folder left

    def fail(*args):
        raise AssertionError("extracted twice")
    monkeypatch.setattr(video_archives, "_extract_one", fail)
    assert extract_archives(archives, destination) == destination


def test_an_extraction_killed_midway_is_never_taken_as_complete(tmp_path, video_bytes, monkeypatch):
    archives = [_zip(tmp_path / "one.zip", {"v/a.mp4": video_bytes}), _zip(tmp_path / "two.zip", {"v/b.mp4": video_bytes})]
    destination = tmp_path / "cache" / "bench"
    real_extract = video_archives._extract_one

    def killed_on_second(archive, target):
        if archive.name == "two.zip":
            raise KeyboardInterrupt  # a kill during the second archive
        real_extract(archive, target)
    monkeypatch.setattr(video_archives, "_extract_one", killed_on_second)
    with pytest.raises(KeyboardInterrupt):
        extract_archives(archives, destination)
    assert not destination.exists()
    assert not (tmp_path / "cache" / ".partial-bench").exists()

    monkeypatch.setattr(video_archives, "_extract_one", real_extract)
    extract_archives(archives, destination)
    assert sorted(p.name for p in (destination / "v").iterdir()) == ["a.mp4", "b.mp4"]


def test_a_leftover_temporary_folder_is_removed_and_redone(tmp_path, video_bytes):
    archive = _zip(tmp_path / "one.zip", {"v/a.mp4": video_bytes})
    leftover = tmp_path / "cache" / ".partial-bench"  # what a SIGKILL during extraction leaves behind
    (leftover / "v").mkdir(parents=True)
    (leftover / "v" / "half.mp4").write_bytes(video_bytes[:100])
    destination = extract_archives([archive], tmp_path / "cache" / "bench")
    assert sorted(p.name for p in (destination / "v").iterdir()) == ["a.mp4"]
    assert not leftover.exists()


@pytest.mark.parametrize("make", [_zip, _tar])
def test_archive_members_escaping_the_folder_are_refused(tmp_path, make):
    suffix = ".zip" if make is _zip else ".tar.gz"
    archive = make(tmp_path / f"evil{suffix}", {"../evil.mp4": b"x"})
    with pytest.raises(OvEvalError, match="outside"):
        extract_archives([archive], tmp_path / "cache" / "bench")
    assert not (tmp_path / "cache" / "bench").exists() and not (tmp_path / "cache" / "evil.mp4").exists()


def test_prepare_video_folder_fetches_once_into_the_cache(tmp_path, video_bytes, monkeypatch):
    monkeypatch.setenv("OV_EVAL_VIDEO_CACHE", str(tmp_path / "cache"))
    archive = _zip(tmp_path / "videos.zip", {"Test_Videos/a.mp4": video_bytes})
    calls = []

    def fetch(repo, patterns, revision=None):
        calls.append((repo, tuple(patterns)))
        return [archive]
    monkeypatch.setattr(video_archives, "fetch_archives", fetch)
    folder = prepare_video_folder("lmms-lab/VideoChatGPT", ["videos.zip"], "videochatgpt", "Test_Videos")
    assert folder == tmp_path / "cache" / "videochatgpt" / "Test_Videos" and (folder / "a.mp4").is_file()
    prepare_video_folder("lmms-lab/VideoChatGPT", ["videos.zip"], "videochatgpt", "Test_Videos")
    assert calls == [("lmms-lab/VideoChatGPT", ("videos.zip",))]
    with pytest.raises(OvEvalError, match="hold no folder 'Other'.*found: Test_Videos"):
        prepare_video_folder("lmms-lab/VideoChatGPT", ["videos.zip"], "videochatgpt", "Other")


def test_video_ids_resolve_inside_the_folder_only(tmp_path):
    root = tmp_path / "videos"
    root.mkdir()
    (tmp_path / "secret.mp4").write_bytes(b"x")
    (root / "clip.webm").write_bytes(b"x")
    os.symlink(tmp_path / "secret.mp4", root / "link.mp4")
    assert resolve_video(root, "clip.mp4", [".webm", ".mkv"]) == (root / "clip.webm").resolve()
    assert resolve_video(root, "missing.mp4", [".webm"]) == (root / "missing.mp4").resolve()
    for bad in ["../secret.mp4", "a/../../secret.mp4", str(tmp_path / "secret.mp4"), "/etc/passwd", ""]:
        with pytest.raises(VideoPathError, match="escapes"):
            resolve_video(root, bad)
    with pytest.raises(VideoPathError, match="symlink"):
        resolve_video(root, "link.mp4")


def test_a_task_without_video_dir_reads_the_extracted_archive_cache(tmp_path, video_bytes, monkeypatch):
    monkeypatch.setenv("OV_EVAL_VIDEO_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache" / "perceptiontest_val" / "videos").mkdir(parents=True)  # a complete extraction
    (tmp_path / "cache" / "perceptiontest_val" / "videos" / "video_10909.mp4").write_bytes(video_bytes)
    parquet = tmp_path / "rows.parquet"
    perceptiontest_val_mc().to_parquet(str(parquet))
    task = Task.load(task_index().tasks["perceptiontest_val_mc"], str(parquet))
    [ref] = task.media(task.doc(0), 0)
    assert Path(ref.source) == (tmp_path / "cache" / "perceptiontest_val" / "videos" / "video_10909.mp4").resolve()


def test_truncated_and_escaping_videos_are_sample_errors_and_the_run_finishes(tiny_checkpoint, tmp_path):
    folder = write_fixture("perceptiontest_val_mc", tmp_path / "data")
    rows = perceptiontest_val_mc().to_list()
    rows.append(dict(rows[0], video_name="../outside", question_id="q2"))
    (folder / "outside.mp4").write_bytes((folder / "videos" / "video_10909.mp4").read_bytes())  # exists, refused
    import datasets
    datasets.Dataset.from_list(rows, features=perceptiontest_val_mc().features).to_parquet(
        str(folder / "perceptiontest_val_mc.parquet"))
    second = folder / "videos" / "video_10910.mp4"
    second.write_bytes(second.read_bytes()[: second.stat().st_size // 2])  # truncated
    with pytest.raises(MediaError):
        decode_video(MediaRef("video", str(second), "truncated"), 4, "pyav")
    output = tmp_path / "out"
    code = main(["--model", "llava_onevision", "--model_args",
                 f"pretrained={tiny_checkpoint},conv_template=qwen_1_5,max_frames_num=4",
                 "--tasks", "perceptiontest_val_mc", "--limit", "3", "--log_samples", "--output_path", str(output),
                 "--workers", "0", "--verbosity", "WARNING", "--gen_kwargs", "max_new_tokens=4",
                 "--dataset_override", f"perceptiontest_val_mc={folder}"])
    assert code == 0
    entry = read_results(output)["results"]["perceptiontest_val_mc"]
    assert entry["n_samples"] == 3 and entry["n_errors"] == 2
    samples = read_samples(output, "perceptiontest_val_mc")
    assert samples[0]["error"] is None
    assert "video_10910.mp4" in samples[1]["error"]
    assert "escapes the video folder" in samples[2]["error"]
    json.dumps(samples)


def test_decord_and_pyav_sample_the_same_frames(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=20)
    ref = MediaRef("video", str(path), "clip")
    decord_frames, pyav_frames = decode_video(ref, 6, "decord"), decode_video(ref, 6, "pyav")
    assert decord_frames.shape == pyav_frames.shape == (6, 64, 64, 3)
    # flat frames whose colour steps by 7 per frame: the same indices (0, 3, 7, 11, 15, 19) in both
    assert abs(decord_frames.astype(int) - pyav_frames.astype(int)).max() <= 3
    means = decord_frames.reshape(6, -1).mean(axis=1)
    assert list(abs(means[1:] - means[:-1]) > 10) == [True] * 5


def test_fetch_keeps_only_the_archives_matching_the_patterns(tmp_path, monkeypatch):
    import huggingface_hub

    snapshot = tmp_path / "snapshot"
    for name in ["videos_chunked_01.zip", "videos_chunked_02.zip", "valid_audios.zip", "README.md"]:
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).write_bytes(b"x")
    seen = {}

    def snapshot_download(repo, repo_type, allow_patterns, revision):
        seen.update(repo=repo, repo_type=repo_type, allow_patterns=allow_patterns)
        return str(snapshot)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    found = video_archives.fetch_archives("lmms-lab/PerceptionTest_Val", ["videos_chunked_*.zip"])
    assert [p.name for p in found] == ["videos_chunked_01.zip", "videos_chunked_02.zip"]
    assert seen == {"repo": "lmms-lab/PerceptionTest_Val", "repo_type": "dataset",
                    "allow_patterns": ["videos_chunked_*.zip"]}
