"""Sticky pad (release_rules.md §0.8, `sticky_pad=true`): which image samples the release-era adapter encodes as
pad, decided from its processing order on each rank; off by default."""
from pathlib import Path

import datasets
import pytest

from conftest import read_results, read_samples, run_ov_eval
from ov_eval.demo.make_data import shape_image
from ov_eval.models.sticky_pad import OrderedSample, reference_order, sticky_pad_keys
from ov_eval.models.tiny import build_tokenizer
from ov_eval.types import GenerationSettings, MediaRef, Request

TOKENIZER = build_tokenizer()  # one token per character: a context's token count is its length


def context_tokens(text: str) -> int:
    return len(TOKENIZER(text, add_special_tokens=False, split_special_tokens=True)["input_ids"])


SHORT, LONG = GenerationSettings(max_new_tokens=16), GenerationSettings(max_new_tokens=1024)
# (task, doc, text, images, videos, settings), in run order: task "mmmu" then "other" then "seed".
MIXED = [
    ("mmmu", 0, "What is shown?", 1, 0, SHORT),                              # 14 tokens
    ("mmmu", 1, "Compare <image 1> and <image 2>.", 2, 0, SHORT),            # 32, multi-image
    ("mmmu", 2, "Name the colour of the largest object.", 1, 0, SHORT),      # 38
    ("mmmu", 3, "Which?", 1, 0, SHORT),                                      # 6
    ("mmmu", 4, "Is the chart rising or falling overall?", 1, 0, SHORT),     # 39
    ("mmmu", 5, "Pick one.", 3, 0, SHORT),                                   # 9, multi-image
    ("other", 0, "Describe this picture in every detail.", 1, 0, LONG),      # 38, a later settings group
    ("other", 1, "Describe the video.", 0, 1, LONG),                         # a video is one visual
    ("other", 2, "A question with no image at all.", 0, 0, LONG),
    ("seed", 0, "Count the dots in the image.", 1, 0, SHORT),                # 28, joins the first group
    ("seed", 1, "Zoom.", 1, 0, SHORT),                                       # 5
]


def samples(rank: int = 0, world_size: int = 1) -> list[OrderedSample]:
    """Each task's docs r, r + W, ... in task order, as ov_eval.distributed shards them."""
    chosen = []
    for task in ("mmmu", "other", "seed"):
        docs = [row for row in MIXED if row[0] == task]
        chosen += docs[rank::world_size]
    return [OrderedSample(f"{task}/{doc}", text, settings, images, videos)
            for task, doc, text, images, videos, settings in chosen]


def test_reference_order_groups_by_settings_then_longest_context_first():
    rows = samples()
    assert [rows[i].key for i in reference_order(rows, context_tokens)] == [
        "mmmu/4", "mmmu/2", "mmmu/1", "seed/0", "mmmu/0", "mmmu/5", "mmmu/3", "seed/1",
        "other/0", "other/2", "other/1"]


def test_equal_token_counts_sort_by_context_string_and_exact_ties_keep_request_order():
    rows = [OrderedSample("b", "bb", SHORT, 1, 0), OrderedSample("a", "ab", SHORT, 2, 0),
            OrderedSample("c", "bb", SHORT, 1, 0), OrderedSample("d", "zzz", SHORT, 1, 0)]
    assert [rows[i].key for i in reference_order(rows, context_tokens)] == ["d", "a", "b", "c"]
    assert sticky_pad_keys(rows, context_tokens) == {"b", "c"}


def test_one_process_pads_every_single_image_sample_after_the_first_multi_image_one():
    assert sticky_pad_keys(samples(), context_tokens) == {"seed/0", "mmmu/0", "mmmu/3", "seed/1", "other/0"}


def test_two_processes_decide_per_rank():
    # rank 0: mmmu 0, 2, 4; other 0, 2; seed 0 -> no multi-image sample, nothing switches
    assert sticky_pad_keys(samples(0, 2), context_tokens) == set()
    # rank 1: mmmu 1 (multi), 3, 5 (multi); other 1 (video); seed 1 -> order mmmu/1, mmmu/5, mmmu/3, seed/1, other/1
    assert sticky_pad_keys(samples(1, 2), context_tokens) == {"mmmu/3", "seed/1"}


def test_a_video_does_not_switch_but_frames_given_as_images_do():
    video = [OrderedSample("video", "a long video question", SHORT, 0, 1), OrderedSample("img", "img", SHORT, 1, 0)]
    assert sticky_pad_keys(video, context_tokens) == set()
    frames = [OrderedSample("frames", "a long video question", SHORT, 8, 0), OrderedSample("img", "img", SHORT, 1, 0)]
    assert sticky_pad_keys(frames, context_tokens) == {"img"}


def test_image_placeholders_in_the_text_count_as_plain_text():
    assert context_tokens("<image> hi") == 10  # the lmms-lab tokenizer has no <image> token
    assert len(TOKENIZER("<image> hi", add_special_tokens=False)["input_ids"]) == 4


def test_a_padded_request_gets_a_key_of_its_own():
    request = Request("t", 0, "q", (MediaRef("image", None, "x"),), SHORT, key="k" * 24)
    padded = request.with_pad_images()
    assert padded.pad_images and not request.pad_images
    assert padded.key != request.key and len(padded.key) == 24
    assert padded.key == request.with_pad_images().key


# ---- the real CLI on the tiny checkpoint ----------------------------------------------------------------------
# (question, number of 384x384 images): reference order 1, 2 (two images: the switch), 3, 0, 4.
CLI_DOCS = [("Short one?", 1), ("A somewhat longer question about the picture?", 1),
            ("Compare the two pictures carefully.", 2), ("Medium question here?", 1), ("Tiny?", 1)]
TASK_YAML = """task: sticky_mix
dataset:
  path: sticky_mix.parquet
  split: train
visual:
  kind: image
  fields: [images]
prompt:
  text: "{question}"
target:
  field: answer
generation:
  max_new_tokens: 2
metrics:
  - metric: exact_match
"""


@pytest.fixture(scope="module")
def task_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sticky_task")
    rows = [{"question": q, "answer": "A", "images": [shape_image("circle", "red", (384, 384))] * n}
            for q, n in CLI_DOCS]
    features = datasets.Features({"question": datasets.Value("string"), "answer": datasets.Value("string"),
                                  "images": datasets.List(datasets.Image())})
    datasets.Dataset.from_list(rows, features=features).to_parquet(str(folder / "sticky_mix.parquet"))
    (folder / "sticky_mix.yaml").write_text(TASK_YAML)
    return folder


def run_sticky_mix(checkpoint: Path, task_folder: Path, output: Path, *model_args: str) -> dict:
    args = ",".join([f"pretrained={checkpoint}", *model_args])
    run = run_ov_eval(["--model", "llava_onevision", "--model_args", args, "--tasks", "sticky_mix",
                       "--include_path", str(task_folder), "--predict_only", "--log_samples", "--batch_size", "2",
                       "--output_path", str(output), "--verbosity", "WARNING"])
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    return {s["doc_id"]: s["image_tokens"] for s in read_samples(output, "sticky_mix")}


def test_cli_sticky_pad_encodes_later_single_images_as_one_pad_tile(tiny_checkpoint, task_folder, tmp_path):
    # a 384x384 image in anyres_max_9: 729 + 27 x 28 = 1485 tokens; as a pad tile: 729
    assert run_sticky_mix(tiny_checkpoint, task_folder, tmp_path / "default") == {
        0: 1485, 1: 1485, 2: 1458, 3: 1485, 4: 1485}
    assert read_results(tmp_path / "default")["model"]["model_args"]["sticky_pad"] == "false"
    assert run_sticky_mix(tiny_checkpoint, task_folder, tmp_path / "sticky", "sticky_pad=true") == {
        0: 729, 1: 1485, 2: 1458, 3: 729, 4: 729}
    assert read_results(tmp_path / "sticky")["model"]["model_args"]["sticky_pad"] == "true"


def test_sticky_pad_is_part_of_the_identity_only_when_on(tiny_checkpoint):
    from ov_eval.models.onevision import OneVisionAdapter

    default = OneVisionAdapter({"pretrained": str(tiny_checkpoint)})
    off = OneVisionAdapter({"pretrained": str(tiny_checkpoint), "sticky_pad": "false"})
    on = OneVisionAdapter({"pretrained": str(tiny_checkpoint), "sticky_pad": "TRUE"})
    assert (default.sticky_pad, off.sticky_pad, on.sticky_pad) == (False, False, True)
    assert default.identity == off.identity != on.identity
    assert on.context_tokens("<image> hi") == 10


def test_bad_sticky_pad_value_is_one_line_error(tiny_checkpoint, task_folder, tmp_path):
    run = run_ov_eval(["--model_args", f"pretrained={tiny_checkpoint},sticky_pad=yes", "--tasks", "sticky_mix",
                       "--include_path", str(task_folder), "--output_path", str(tmp_path)])
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1] == "ov_eval: error: --model_args: sticky_pad must be true or false, not 'yes'"
