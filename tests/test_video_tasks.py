"""The video and multi-image tasks: YAMLs load, prompts equal release_rules.md's examples, and hand-written
responses to the fixture rows give exact per-sample values and aggregates through the scoring stage."""
import json
from pathlib import Path

import pytest

from fixtures import single_image
from fixtures import task_loader
from fixtures.video_multi import FIXTURES, write_fixture
from ov_eval.errors import OvEvalError
from ov_eval.registry import task_index
from ov_eval.reporting.submissions import write_submissions
from ov_eval.scoring.score import TaskScores, score_task
from ov_eval.scoring.text_metrics import rouge_l_f
from ov_eval.scoring.video_benchmarks import (
    interleave_category_mean,
    judge_score_0_5,
    judge_yes,
    muirbench,
    nextqa_mc,
    perceptiontest_mc,
    rouge_l,
    videomme,
)
from ov_eval.task import Task
from ov_eval.types import Response

TAIL = "\nAnswer with the option's letter from the given choices directly."
INSTR = ("Select the best answer to the following multiple-choice question based on the video and the subtitles. "
         "Respond with only the letter (A, B, C, or D) of the correct option.")
TASKS = sorted(FIXTURES)
EXPECTED_KEYS = {  # task -> (first result keys, headline) in the published profile
    "activitynetqa": (["gpt_eval_accuracy,none", "gpt_eval_score,none"], "gpt_eval_accuracy,none"),
    "videochatgpt_gen": (["gpt_eval_score_correctness,none", "gpt_eval_score_detailed_orientation,none",
                          "gpt_eval_score_context,none"], "gpt_eval_score_correctness,none"),
    "videochatgpt_temporal": (["gpt_eval_score_temporal,none"], "gpt_eval_score_temporal,none"),
    "videochatgpt_consistency": (["gpt_eval_score_consistency,none"], "gpt_eval_score_consistency,none"),
    "video_dc499": (["gpt_eval_score,none"], "gpt_eval_score,none"),
    "nextqa_mc_test": (["exact_match,none"], "exact_match,none"),
    "egoschema": (["submission,none"], "submission,none"),
    "egoschema_subset": (["score,none", "submission,none"], "score,none"),
    "videomme": (["videomme_percetion_score,none"], "videomme_percetion_score,none"),
    "videomme_w_subtitle": (["videomme_percetion_score,none"], "videomme_percetion_score,none"),
    "perceptiontest_val_mc": (["accuracy,none"], "accuracy,none"),
    "llava_interleave_bench_in_domain": (["overall_score,none"], "overall_score,none"),
    "llava_interleave_bench_out_domain": (["overall_score,none"], "overall_score,none"),
    "llava_interleave_bench_multi_view": (["overall_score,none"], "overall_score,none"),
    "muirbench": (["muirbench_score_overall,flexible-extract"], "muirbench_score_overall,flexible-extract"),
    "mmmu_test": (["submission,none"], "submission,none"),
}


@pytest.fixture(scope="module")
def fixture_paths(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("video_multi_data")
    return {task: write_fixture(task, folder) for task in FIXTURES}


@pytest.fixture(scope="module")
def load(fixture_paths):
    return task_loader(fixture_paths)


@pytest.fixture(scope="module")
def scored(load):
    def run(name: str, responses: dict[int, str], profile: str = "published", predict_only: bool = False
            ) -> TaskScores:
        task = load(name, profile)
        assert sorted(responses) == list(range(len(task.dataset))), "one response per fixture row"
        batch = [Response(f"k{i}", name, i, text) for i, text in responses.items()]
        return score_task(task, batch, task.generation({}).to_dict(), profile, predict_only=predict_only)
    return run


def _text(load, name: str, doc_id: int = 0, profile: str = "published") -> str:
    task = load(name, profile)
    return task.text(task.doc(doc_id), doc_id)


# --- configuration ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", TASKS)
def test_every_yaml_loads_with_keys_headline_and_generation(load, name):
    keys, headline = EXPECTED_KEYS[name]
    for profile in ("published", "corrected"):
        task = load(name, profile)
        assert len(task.dataset) >= 2
        assert task.config.headline_metric in task.metric_keys()
    task = load(name)
    assert task.metric_keys()[:len(keys)] == keys and task.config.headline_metric == headline
    expected_tokens = {"activitynetqa": 64, "videomme": 16, "videomme_w_subtitle": 16, "muirbench": 16,
                       "mmmu_test": 16}.get(name, 16 if "interleave" in name else 1024)
    assert task.config.generation.max_new_tokens == expected_tokens


def test_reference_dataset_ids_configs_and_splits(load):
    ids = {name: (load(name).config.dataset.path, load(name).config.dataset.name, load(name).config.dataset.split)
           for name in TASKS}
    assert ids["nextqa_mc_test"] == ("lmms-lab/NExTQA", "MC", "test")
    assert ids["egoschema"] == ("lmms-lab/egoschema", "GENERATION", "test")
    assert ids["egoschema_subset"] == ("lmms-lab/egoschema", "Subset", "test")
    assert ids["videomme_w_subtitle"] == ("lmms-lab/Video-MME", "videomme", "test")
    assert ids["perceptiontest_val_mc"] == ("lmms-lab/PerceptionTest_Val", "mc_question_val", "validation")
    assert ids["llava_interleave_bench_out_domain"] == ("lmms-lab/LLaVA-NeXT-Interleave-Bench", "out_of_domain", "test")
    assert ids["llava_interleave_bench_multi_view"][1] == "multi_view_in_domain"
    assert ids["muirbench"] == ("MUIRBENCH/MUIRBENCH", None, "test")
    assert ids["mmmu_test"] == ("lmms-lab/MMMU", None, "test")
    assert ids["videochatgpt_consistency"] == ("lmms-lab/VideoChatGPT", "Consistency", "test")
    assert ids["video_dc499"] == ("lmms-lab/VideoDetailDescription", None, "test")
    assert load("video_dc499").config.dataset.video_archives.cache_name == "videochatgpt"  # shares the videos


def test_corrected_profile_overlays(load):
    assert load("videomme", "corrected").config.headline_metric == "videomme_perception_score,none"
    assert load("egoschema_subset", "corrected").metric_keys() == ["score,none"]
    assert load("mmmu_test", "corrected").config.generation.max_new_tokens == 512
    assert load("activitynetqa", "corrected").config.judge.kind == ["activitynetqa_corrected"]
    assert load("activitynetqa", "corrected").config.judge.model == "gpt-4o-2024-11-20"


def test_groups():
    index = task_index()
    assert sorted(index.groups["videochatgpt"]) == ["videochatgpt_consistency", "videochatgpt_gen",
                                                    "videochatgpt_temporal"]
    assert sorted(index.groups["llava_interleave_bench"]) == [
        "llava_interleave_bench_in_domain", "llava_interleave_bench_multi_view", "llava_interleave_bench_out_domain"]


@pytest.mark.parametrize("name", ["activitynetqa", "videochatgpt_gen", "video_dc499"])
def test_judge_tasks_need_predict_only(load, name):
    task = load(name)
    with pytest.raises(OvEvalError, match="--predict_only"):
        task.check_scorable(predict_only=False)
    task.check_scorable(predict_only=True)


# --- prompts (release_rules.md's literal examples) ---------------------------------------------------------

def test_video_prompts_equal_release_rules_examples(load):
    assert _text(load, "nextqa_mc_test") == (
        "why did the person look at the kettle at the end\nA. the needle moves\nB. the harbor moves\n"
        "C. the kettle moves\nD. the saddle moves\nE. the dolphin moves")
    assert _text(load, "nextqa_mc_test", 1).endswith("\nA. a red ball\nB. a blue cup\nC. a green hat\nD. a lamp\nE. a zebra")
    ego = _text(load, "egoschema")
    assert ego.startswith("What is the overall goal of C in video 0?\nA. C cleans the engine.\nB. ")
    assert ego.endswith("\nE. C sorts the candle." + TAIL)
    assert _text(load, "egoschema_subset") == ego
    assert _text(load, "perceptiontest_val_mc") == (
        "What happens to the walrus in clip 0?\nA. it falls\nB. it rolls\nC. it stays" + TAIL)
    assert _text(load, "activitynetqa") == (
        "What is the man in the us doing? Answer the question using a single word or phrase.")
    assert _text(load, "videochatgpt_gen") == "What happens in video 0?"
    assert [_text(load, "videochatgpt_consistency", i) for i in (0, 1)] == [
        "What is the man holding?", "What does the man hold in his hand?"]


def test_perceptiontest_labels_options_past_the_third_as_c(load):
    task = load("perceptiontest_val_mc")
    doc = dict(task.doc(0), options=["w", "x", "y", "z"])
    assert task.text(doc, 0) == "What happens to the walrus in clip 0?\nA. w\nB. x\nC. y\nC. z" + TAIL


def test_videomme_prompts(load):
    assert _text(load, "videomme") == (
        INSTR + "\nWhat object appears in segment 0 of the video?\n['A. Harbor.', 'B. Needle.', 'C. Saddle.', "
        "'D. Orchid.']\n" + TAIL)
    # Python's list repr: double quotes around a string holding an apostrophe
    assert "\n['A. One.', 'B. Two.', 'C. Three.', \"D. It's unclear.\"]\n" in _text(load, "videomme", 1)
    assert _text(load, "videomme", 0, "corrected") == (
        INSTR + "\nWhat object appears in segment 0 of the video?\nA. Harbor.\nB. Needle.\nC. Saddle.\nD. Orchid.\n"
        + TAIL)


def test_videomme_subtitle_prompt_uses_lines_at_the_sampled_frames(load):
    question = ("\n" + INSTR + "\nWhat object appears in segment 0 of the video?\n"
                "['A. Harbor.', 'B. Needle.', 'C. Saddle.', 'D. Orchid.']\nThe best answer is:")
    assert _text(load, "videomme_w_subtitle") == (
        "This video's subtitles are listed below: \nHello there\nGeneral" + question)
    assert _text(load, "videomme_w_subtitle", 1).startswith(
        "This video's subtitles are listed below: \nNo subtitles available\n" + INSTR)


def test_multi_image_prompts(load):
    assert _text(load, "muirbench") == (
        "Which option matches the images? <image> <image> (item 0)\nA. Lantern\nB. Jacket\nC. Zebra\nD. Saddle"
        + TAIL)
    assert _text(load, "llava_interleave_bench_in_domain") == (
        "<image><image> Which object appears in both images?\nA. Candle\nB. Needle\nC. Umbrella\nD. Walrus")
    assert _text(load, "llava_interleave_bench_multi_view") == (
        '[{"from": "human", "value": "<image><image> Describe what changed between the two images."}]')
    assert "Caf\\u00e9?" in _text(load, "llava_interleave_bench_multi_view", 1)  # non-ASCII escaped
    interleave = load("llava_interleave_bench_in_domain")
    assert [len(interleave.media(interleave.doc(i), i)) for i in range(3)] == [2, 2, 1]  # non-null image_k only
    muir = load("muirbench")
    assert [len(muir.media(muir.doc(i), i)) for i in range(2)] == [2, 2]


def test_mmmu_test_prompts_equal_mmmu_val(load, tmp_path):
    val = Task.load(task_index().tasks["mmmu_val"], str(single_image.write_fixture("mmmu_val", tmp_path)))
    test = load("mmmu_test")
    assert len(test.dataset) == len(val.dataset)
    for i in range(len(val.dataset)):
        assert test.text(test.doc(i), i) == val.text(val.doc(i), i)
        assert len(test.media(test.doc(i), i)) == len(val.media(val.doc(i), i))
    assert test.doc(0)["id"] == "test_Art_1"


def test_video_refs_resolve_in_the_override_videos_folder(load, fixture_paths):
    task = load("activitynetqa")
    [ref] = task.media(task.doc(0), 0)
    assert Path(ref.source) == (fixture_paths["activitynetqa"] / "videos" / "v_anet0.mp4").resolve()


# --- scoring ------------------------------------------------------------------------------------------------

def test_nextqa_letters(scored):
    scores = scored("nextqa_mc_test", {0: "(C) the kettle moves", 1: "b"})
    assert [s["exact_match,none"] for s in scores.samples] == [1.0, 0.0]
    assert scores.metrics == {"exact_match,none": 0.5} and scores.n_unresolved == 1
    doc = {f"a{i}": t for i, t in enumerate(["x", "y", "z", "w", "v"])}
    assert nextqa_mc("D is correct, not A", "A", doc, "published") == 1.0
    assert nextqa_mc("<think>D</think>C", "C", doc, "published") == 1.0
    assert nextqa_mc("Answer: C) Rocket", "C", doc, "published") is None


def test_egoschema_subset_index_parsing(scored):
    scores = scored("egoschema_subset", {0: "C. C paints the lantern.", 1: "B or A", 2: "not sure"})
    assert [s.get("score,none") for s in scores.samples] == [1.0, 0.0, 0.0]
    assert [s.get("submission,none") for s in scores.samples] == [2.0, 1.0, 0.0]
    assert scores.metrics["score,none"] == pytest.approx(1 / 3)
    assert scores.metrics["submission,none"] is None and scores.n_unresolved == 1


def test_egoschema_generation_has_no_local_score(scored):
    scores = scored("egoschema", {0: "(E)", 1: "A.", 2: "?"})
    assert scores.metrics == {"submission,none": None} and scores.n_unresolved == 1


def test_videomme_breakdowns(scored):
    published = scored("videomme", {0: "The answer is A.", 1: "Best answer: C"})
    head = "videomme_percetion_score"
    assert published.metrics[f"{head},none"] == 50.0
    assert published.metrics[f"{head}_duration_short,none"] == 100.0
    assert published.metrics[f"{head}_duration_long,none"] == 0.0
    assert published.metrics[f"{head}_duration_medium,none"] is None  # no row
    assert published.metrics[f"{head}_domain_knowledge,none"] == 100.0
    assert published.metrics[f"{head}_domain_film_television,none"] == 0.0
    assert published.metrics[f"{head}_task_type_object_recognition,none"] == 100.0
    assert published.metrics[f"{head}_task_type_counting_problem,none"] == 0.0
    assert len(published.metrics) == 1 + 3 + 6 + 12
    corrected = scored("videomme", {0: "The answer is A.", 1: "Best answer: C"}, "corrected")
    assert corrected.metrics["videomme_perception_score,none"] == 100.0
    assert "videomme_percetion_score,none" not in corrected.metrics


def test_videomme_parsing_and_unknown_categories():
    doc = {"duration": "short", "domain": "Knowledge", "sub_category": "Law", "task_type": "OCR Problems"}
    assert videomme("Answer: C) Rocket", "A", doc, "published") == 1.0  # the A of "Answer"
    assert videomme("Apple.", "A", doc, "published") == 1.0
    assert videomme("b", "B", doc, "published") is None
    assert videomme("Answer: C) Rocket", "C", doc, "corrected") == 1.0
    with pytest.raises(OvEvalError, match="unknown duration 'tiny'"):
        videomme("A", "A", dict(doc, duration="tiny"), "published")


def test_perceptiontest_index_mapping(scored):
    scores = scored("perceptiontest_val_mc", {0: "A man drops it", 1: "A."})
    assert [s["accuracy,none"] for s in scores.samples] == [0.0, 1.0]
    assert scores.metrics == {"accuracy,none": 0.5}
    assert perceptiontest_mc("The answer is (B)", "1", {}, "published") == 1.0
    assert perceptiontest_mc("none of them", "0", {}, "published") is None
    assert perceptiontest_mc("D", "3", {}, "published") == 1.0


def test_muirbench_flexible_extract(scored):
    scores = scored("muirbench", {0: "b", 1: "(A)"})
    assert [s["filtered_resps"] for s in scores.samples] == [["b"], ["(A)"]]
    assert scores.metrics == {"muirbench_score_overall,flexible-extract": 0.5}
    assert scored("muirbench", {0: "B. Jacket", 1: " A. <image>"}).metrics[
        "muirbench_score_overall,flexible-extract"] == 1.0
    assert muirbench(" B ", "b", {}, "published") == 1.0


def test_interleave_category_means(scored):
    scores = scored("llava_interleave_bench_in_domain", {0: "Option B", 1: "yes it is", 2: "It is a dog"})
    values = [s["overall_score,none"] for s in scores.samples]
    assert values[0] == 1.0 and values[2] == 1.0
    assert values[1] == pytest.approx(0.5, abs=1e-8)
    # three categories (Spot-the-Diff, NLVR2, QBench), each one sample
    assert scores.metrics["overall_score,none"] == pytest.approx(2.5 / 3, abs=1e-8)
    docs = [{"sub_task": s} for s in ["Spot-the-Diff", "CLEVR-Change", "VIST", "Unlisted"]]
    assert interleave_category_mean([1.0, 0.0, 1.0, 0.0], docs) == 0.75  # (0.5 + 1.0) / 2, Unlisted ignored
    with pytest.raises(OvEvalError, match="no sample's sub_task"):
        interleave_category_mean([1.0], [{"sub_task": "Unlisted"}])


def test_interleave_multi_view_rouge(scored):
    scores = scored("llava_interleave_bench_multi_view", {0: "A chair was moved.", 1: ""})
    assert [s["overall_score,none"] for s in scores.samples] == [pytest.approx(1.0), 0.0]
    assert scores.metrics["overall_score,none"] == pytest.approx(0.5)


def test_rouge_l_values():
    assert rouge_l("the cat sat", "the cat sat on the mat") == pytest.approx(0.75, abs=1e-8)
    assert rouge_l("", "anything") == 0.0
    assert rouge_l("...", "a reference") == 0.0  # the reference crashes here
    assert rouge_l("The dog. A cat ran", "a cat ran. The dog") == pytest.approx(rouge_l_f("The dog. A cat ran",
                                                                                          "a cat ran. The dog"))
    long = "word " * 200 + "answer"
    assert rouge_l(long, "answer") == 0.0  # "answer" lies past the 512-character cut
    assert rouge_l("answer " + long, "answer") == pytest.approx(2 * (1 / 2) / (1 / 2 + 1 + 1e-8), abs=1e-6)


def test_mmmu_test_has_no_local_score(scored):
    scores = scored("mmmu_test", {i: text for i, text in enumerate(["C", "xyz", "B", "(A)", "42", "Paris"])})
    assert scores.metrics == {"submission,none": None}
    assert scores.n_unresolved == 1  # "xyz" on a multiple-choice row


def test_judge_verdict_metrics():
    assert judge_yes("yes", None, {}, "published") == 1.0
    assert judge_yes("Yes", None, {}, "published") == 0.0  # case-sensitive
    assert judge_yes("", None, {}, "published") is None
    assert judge_score_0_5("4.8", None, {}, "published") == 4.8
    assert judge_score_0_5(7, None, {}, "published") == 7.0  # outside 0-5: kept, as the reference keeps it
    assert judge_score_0_5(-1, None, {}, "published") == -1.0
    assert judge_score_0_5(float("nan"), None, {}, "published") is None
    assert judge_score_0_5(4, None, {}, "published") == 4.0  # VideoChatGPT's parsed int
    assert judge_score_0_5(None, None, {}, "published") is None


# --- submission files from logged samples ------------------------------------------------------------------

def _samples(scores: TaskScores) -> list[dict]:
    return [json.loads(json.dumps(s)) for s in scores.samples]  # as read back from samples_<task>.jsonl


def test_mmmu_submission_published_raw_and_corrected_parsed(scored, tmp_path):
    responses = {0: " C ", 1: "xyz", 2: "B", 3: "(A)", 4: "x = 42", 5: "Paris"}
    [path] = write_submissions(tmp_path, "mmmu_test", _samples(scored("mmmu_test", responses)), "published")
    assert path == tmp_path / "submissions" / "mmmu_test_for_submission.json"
    published = json.loads(path.read_text())
    assert published["test_Art_1"] == "C" and published["test_Art_2"] == "xyz" and len(published) == 6
    corrected = json.loads(write_submissions(tmp_path / "c", "mmmu_test", _samples(
        scored("mmmu_test", responses, "corrected")), "corrected")[0].read_text())
    assert corrected == {"test_Art_1": "C", "test_Art_2": "", "test_Physics_1": "B", "test_Physics_2": "A",
                         "test_Math_1": [42.0], "test_Math_2": ["paris"]}  # open: the normalised predictions
    assert list(json.loads(path.read_text())) == sorted(published)  # keys written sorted


def test_egoschema_submission_indices_and_determinism(scored, tmp_path):
    samples = _samples(scored("egoschema", {0: "C. C paints the lantern.", 1: "B or A", 2: "?"}))
    [path] = write_submissions(tmp_path, "egoschema", samples, "published")
    assert path.name == "inference_results_egoschema_MC.json"
    data = json.loads(path.read_text())
    assert data == {"00000000-0000-4000-8000-000000000000": 2, "00000001-0000-4000-8000-000000000001": 1,
                    "00000002-0000-4000-8000-000000000002": -1}
    first = path.read_bytes()
    write_submissions(tmp_path, "egoschema", list(reversed(samples)), "published")
    assert path.read_bytes() == first
    assert write_submissions(tmp_path, "egoschema_subset", samples, "corrected") == []
    assert write_submissions(tmp_path, "videomme", samples, "published") == []


# --- Video-MME subtitles ------------------------------------------------------------------------------------

def test_srt_parsing_and_lines_at_sampled_frames():
    from ov_eval.data.subtitles import parse_srt, subtitle_lines

    white = '<font color="white" size=".72c">{}</font>'
    srt = (f"1\n00:00:00,000 --> 00:00:01,000\n{white.format('one')}\n\n"
           f"2\n00:00:00,000 --> 00:00:01,000\n{white.format('one again')}\n\n"  # same range: overwrites
           f"3\n00:00:02,500 --> 00:00:03,000\n{white.format('two')} and\nmore\n\n"
           "4\n00:00:03,000 --> 00:00:04,000\n\n"  # fewer than 3 lines: skipped
           f"5\n00:01:00,000 --> 00:01:01,000\n{white.format('never shown')}\n")
    entries = parse_srt(srt)
    assert entries[(0.0, 1.0)] == white.format("one again")
    assert entries[(2.5, 3.0)] == white.format("two") + " and more"
    assert len(entries) == 3
    # 10 fps, 40 frames, 4 samples: frames 0, 13, 26, 39 -> [0, 10) and [25, 30)
    assert subtitle_lines(srt, 10.0, 40, 4) == "one again\ntwo"
    assert subtitle_lines(srt, 10.0, 40, 2) == "one again"


def test_subtitle_dir_setting_is_used(load, fixture_paths, tmp_path):
    from ov_eval.data.subtitles import subtitle_folder

    task = load("videomme_w_subtitle")
    assert subtitle_folder(task) == fixture_paths["videomme_w_subtitle"] / "subtitle"
    other = Task(task.config.model_copy(update={"dataset": task.config.dataset.model_copy(
        update={"subtitle_dir": str(tmp_path)})}), task.source_path, task.dataset_path_override, task.hooks)
    assert subtitle_folder(other) == tmp_path
    assert other.text(other.doc(0), 0).startswith("This video's subtitles are listed below: \nNo subtitles available\n")
