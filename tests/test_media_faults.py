"""Any fault while resolving or reading one sample's media is that sample's error: the run completes, the other
samples are scored, n_errors counts them (real runs through the CLI)."""
import os
import shutil

import datasets

from conftest import REPO, read_results, read_samples, run_ov_eval
from test_pipeline_e2e import eval_args

DEMO = REPO / "tasks/demo/data"
LONG_ID = "v" * 300


def hostile_videos(tmp_path):
    """demo_video's rows plus a 300-character id, a symlink loop, a NUL byte and a null id."""
    folder = tmp_path / "video_data"
    (folder / "videos").mkdir(parents=True)
    for video in (DEMO / "videos").iterdir():
        shutil.copy(video, folder / "videos" / video.name)
    os.symlink("loop_b.mp4", folder / "videos" / "loop_a.mp4")
    os.symlink("loop_a.mp4", folder / "videos" / "loop_b.mp4")
    rows = datasets.load_dataset("parquet", data_files=str(DEMO / "video.parquet"), split="train").to_list()
    good = rows[0]
    rows += [{**good, "video_id": video_id} for video_id in (LONG_ID, "loop_a", "bad\x00id", None)]
    datasets.Dataset.from_list(rows, features=datasets.Features({
        "video_id": datasets.Value("string"), "question": datasets.Value("string"),
        "options": datasets.Sequence(datasets.Value("string")), "answer": datasets.Value("string")})).to_parquet(
        str(folder / "video.parquet"))
    return folder


def test_hostile_video_ids_are_errors_of_their_samples(tiny_checkpoint, tmp_path):
    out = tmp_path / "out"
    data = hostile_videos(tmp_path)
    done = run_ov_eval(eval_args(tiny_checkpoint, out, "demo_video", "--dataset_override", f"demo_video={data}",
                                 "--gen_kwargs", "max_new_tokens=2"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    entry = read_results(out)["results"]["demo_video"]
    assert (entry["n_samples"], entry["n_errors"]) == (8, 4)
    errors = [s["error"] for s in read_samples(out, "demo_video")]
    assert errors[:4] == [None] * 4
    assert errors[4:] == [
        f"task 'demo_video', doc 4: video id '{'v' * 60}'... (304 characters): File name too long",
        "task 'demo_video', doc 5: video id 'loop_a.mp4': symlink loop",
        "task 'demo_video', doc 6: video id 'bad\\x00id.mp4' holds a NUL byte",
        "task 'demo_video', doc 7: the video id (column 'video_id') is null",
    ]


def hostile_image_paths(tmp_path):
    """demo_colours with its images as files named by path, plus a NUL byte, a 300-character name and a loop."""
    folder = tmp_path / "image_data"
    folder.mkdir()
    rows = datasets.load_dataset("parquet", data_files=str(DEMO / "colours.parquet"), split="train").to_list()[:3]
    for i, row in enumerate(rows):
        (folder / f"{i}.png").write_bytes(row["image"]["bytes"])
        row["image"] = f"{i}.png"
    os.symlink("loop_b.png", folder / "loop_a.png")
    os.symlink("loop_a.png", folder / "loop_b.png")
    rows += [{**rows[0], "image": name} for name in ("bad\x00name.png", "i" * 300 + ".png", "loop_a.png")]
    datasets.Dataset.from_list(rows).to_parquet(str(folder / "colours.parquet"))
    return folder


def test_hostile_image_paths_are_errors_of_their_samples(tiny_checkpoint, tmp_path):
    out = tmp_path / "out"
    data = hostile_image_paths(tmp_path)
    done = run_ov_eval(eval_args(tiny_checkpoint, out, "demo_colours", "--dataset_override",
                                 f"demo_colours={data / 'colours.parquet'}", "--gen_kwargs", "max_new_tokens=2"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    entry = read_results(out)["results"]["demo_colours"]
    assert (entry["n_samples"], entry["n_errors"]) == (6, 3)
    errors = [s["error"] for s in read_samples(out, "demo_colours")]
    long_name = data / ("i" * 300 + ".png")
    assert errors == [
        None, None, None,
        "task 'demo_colours', doc 3, column 'image': cannot decode image: embedded null byte",
        f"task 'demo_colours', doc 4, column 'image': cannot decode image: [Errno 36] File name too long: "
        f"'{long_name}'",
        f"task 'demo_colours', doc 5, column 'image': cannot decode image: [Errno 40] Too many levels of symbolic "
        f"links: '{data / 'loop_a.png'}'",
    ]


def test_image_placeholders_that_do_not_match_the_images_name_the_task_and_document(tiny_checkpoint, tmp_path):
    folder = tmp_path / "ext"
    folder.mkdir()
    (folder / "mine.yaml").write_text(
        f"task: mine\ndataset: {{path: {DEMO / 'colours.parquet'}, split: train}}\n"
        "visual: {kind: image, fields: [image]}\nprompt: {text: '<image> <image> {question}'}\n"
        "target: {field: answer}\ngeneration: {max_new_tokens: 2}\nmetrics: [{metric: exact_match}]\n")
    out = tmp_path / "out"
    done = run_ov_eval(["--model_args", f"pretrained={tiny_checkpoint}", "--tasks", "mine", "--include_path",
                        str(folder), "--limit", "2", "--log_samples", "--output_path", str(out),
                        "--verbosity", "WARNING"])
    assert done.returncode == 0, done.stderr
    assert [s["error"] for s in read_samples(out, "mine")] == [
        f"task 'mine', doc {i}: the prompt has 2 image placeholders for 1 visuals" for i in (0, 1)]
    assert read_results(out)["results"]["mine"]["n_errors"] == 2
