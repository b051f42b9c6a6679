"""The 17 single-image tasks: YAMLs load, prompts equal release_rules.md's examples, and hand-written responses
to the fixture rows give exact per-sample values and aggregates through the scoring stage (score_task)."""
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO
from fixtures import task_loader
from fixtures.single_image import FIXTURES, write_fixture
from ov_eval.cli import main
from ov_eval.errors import OvEvalError
from ov_eval.registry import task_index
from ov_eval.scoring.aggregations import percent_or_null
from ov_eval.scoring.judged import (
    judge_grade,
    llava_wild_relative_score,
    mathvista_match,
    mathvista_normalize,
    mathvista_quick_extract,
)
from ov_eval.scoring.score import TaskScores, score_task
from ov_eval.task import Task
from ov_eval.types import Response

TAIL = "\nAnswer with the option's letter from the given choices directly."
SWP = "\nAnswer the question using a single word or phrase."
SINGLE_IMAGE_TASKS = sorted(FIXTURES)
JUDGE_TASKS = ["llava_in_the_wild", "mathverse_testmini_vision_intensive", "mathverse_testmini_vision_only",
               "mathvista_testmini_format", "mmvet"]


@pytest.fixture(scope="module")
def fixture_paths(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("single_image_data")
    return {task: write_fixture(task, folder) for task in FIXTURES}


@pytest.fixture(scope="module")
def load(fixture_paths):
    return task_loader(fixture_paths)


@pytest.fixture(scope="module")
def scored(load):
    """score_task over one response per fixture row (doc_id -> text)."""
    def run(name: str, responses: dict[int, str], profile: str = "published") -> TaskScores:
        task = load(name, profile)
        assert sorted(responses) == list(range(len(task.dataset))), "one response per fixture row"
        batch = [Response(f"k{i}", name, i, text) for i, text in responses.items()]
        return score_task(task, batch, task.generation({}).to_dict(), profile, predict_only=False)
    return run


def values_of(scores: TaskScores, key: str) -> list[float | None]:
    return [sample.get(key) for sample in scores.samples]


# ---- loading, listing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["published", "corrected"])
def test_every_yaml_loads_with_its_headline_metric(profile):
    index = task_index()
    for name in SINGLE_IMAGE_TASKS:
        task = Task.load(index.tasks[name], profile=profile)
        assert task.config.headline_metric in task.metric_keys()
        assert (task.config.judge is not None) == (name in JUDGE_TASKS + ["mmbench_en_dev"])


def test_task_list_shows_the_17_tasks_and_their_groups(capsys):
    assert main(["--tasks", "list"]) == 0
    listing = capsys.readouterr().out
    for name in SINGLE_IMAGE_TASKS:
        assert f"\n  {name} " in listing
    assert len(SINGLE_IMAGE_TASKS) == 17
    assert "  mmmu: mmmu_test, mmmu_val  [" in listing
    assert ("  mathvista_testmini: mathvista_testmini_cot, mathvista_testmini_format, mathvista_testmini_solution  ["
            in listing)
    assert "  mathverse_testmini_vision: mathverse_testmini_vision_intensive, mathverse_testmini_vision_only" in listing


def test_result_keys_generation_and_profile_overrides():
    index = task_index()
    keys = {name: Task.load(index.tasks[name]).metric_keys() for name in SINGLE_IMAGE_TASKS}
    assert keys["ai2d"] == keys["realworldqa"] == ["exact_match,flexible-extract"]
    assert keys["docvqa_val"] == keys["infovqa_val"] == ["anls,none"]
    assert keys["mme"] == ["mme_percetion_score,none", "mme_cognition_score,none"]
    assert keys["chartqa"] == ["relaxed_overall,none", "relaxed_human_split,none", "relaxed_augmented_split,none"]
    assert keys["seedbench"] == ["seed_image,none", "seed_video,none", "seed_all,none"]
    assert keys["mmmu_val"] == ["mmmu_acc,none"] and keys["mmbench_en_dev"] == ["gpt_eval_score,none"]
    assert keys["mmstar"][-1] == "average,none" and "science & technology,none" in keys["mmstar"]
    tokens = {name: Task.load(index.tasks[name]).config.generation.max_new_tokens for name in SINGLE_IMAGE_TASKS}
    assert {n for n, t in tokens.items() if t == 16} == {"ai2d", "chartqa", "mme", "realworldqa", "mmmu_val",
                                                          "scienceqa_img"}
    assert (tokens["docvqa_val"], tokens["infovqa_val"], tokens["ocrbench"], tokens["llava_in_the_wild"]) == (
        32, 32, 128, 4096)
    corrected = {name: Task.load(index.tasks[name], profile="corrected") for name in ("mme", "mmmu_val", "mmvet")}
    assert corrected["mme"].metric_keys() == ["mme_perception_score,none", "mme_cognition_score,none"]
    assert corrected["mmmu_val"].config.generation.max_new_tokens == 128
    assert corrected["mmvet"].config.judge.model == "gpt-4o-2024-11-20"
    assert Task.load(index.tasks["mmvet"]).config.judge.model == "gpt-4-0613"


# ---- prompts: the literal examples of release_rules.md ----------------------------------------------------

PROMPTS = {
    "ai2d": (0, "Which label in the diagram marks part 1?\nA. meadow\nB. zebra\nC. needle\nD. bridge" + TAIL),
    "chartqa": (0, "What is the value shown for item 0?\nAnswer the question with a single word."),
    "docvqa_val": (0, "What is written in field 0?" + SWP),
    "infovqa_val": (0, "What is written in field 0?" + SWP),
    "mme": (0, "Is there a meadow in the image?" + SWP),
    "realworldqa": (0, "Which option matches object 0?\nA. Pepper\nB. Apple\nC. Yogurt\nPlease answer directly "
                       "with only the letter of the correct option and nothing else."),
    "ocrbench": (0, "what is written in the image?"),
    "mmmu_val": (0, "Which object is shown in <image 1>? (problem 0)\nA. Quartz\nB. <image 2>\nC. Rocket\n"
                    "D. Walrus\nE. Pepper\n\nAnswer with the option's letter from the given choices directly."),
    "seedbench": (0, "What is the main object in scene 0?\nA. Tunnel\nB. Quartz\nC. Zebra\nD. Rocket" + TAIL),
    "scienceqa_img": (0, "Context: Read the clue about item 1.\nWhich item is described by clue 1?\nA. dolphin\n"
                         "B. falcon\nC. engine" + TAIL),
    "mmstar": (0, "Which object is shown in region 0?\nOptions: A: Lantern, B: Bridge, C: Needle, D: Orchid\n"
                  "Answer with the option's letter from the given choices directly"),
    "mmbench_en_dev": (2, "Context sentence number 1. What is the object in the highlighted box 1? There are "
                          "several options:\nA. Saddle\nB. Dolphin\nC. Guitar\nD. Yogurt\n" + TAIL),
    "mmvet": (0, "First please perform reasoning, and think step by step to provide best answer to the following "
                 "question: \n\nWhat is the colour of shape 0?"),
    "llava_in_the_wild": (0, "What is shown in picture 0?"),
    "mathverse_testmini_vision_only": (1, "Find the angle 1 shown in the image."),
}
MORE_PROMPTS = [
    ("scienceqa_img", 1, "Which item is described by clue 2?\nA. dolphin\nB. falcon\nC. engine" + TAIL),
    ("mmbench_en_dev", 0, "What is the object in the highlighted box 0? There are several options:\nA. Saddle\n"
                          "B. Dolphin\nC. Guitar\nD. Yogurt\n" + TAIL),
    ("mmbench_en_dev", 4, "What is the object in the highlighted box 2? There are several options:\nA. Harbor\n"
                          "B. Needle\nC. Orchid\n" + TAIL),  # hint "nan" and option D "nan" are left out
    ("mmmu_val", 4, "What is the value of x in <image 1>?\n\nAnswer the question using a single word or phrase."),
    ("mathvista_testmini_format", 0, "Which shape is shown?\nA. circle\nB. square\nC. triangle" + TAIL),
    ("mathvista_testmini_format", 1, "How many dots are there?\nAnswer the question using a single integer number."),
    ("mathvista_testmini_format", 2, "What is the length of the bar? (Unit: cm)\nAnswer the question using a single "
                                     "floating-point number with one decimal place."),
    ("mathvista_testmini_format", 3, "What is the slope of the line?\nAnswer the question using a single "
                                     "floating-point number with two decimal places."),
    ("mathvista_testmini_format", 4, "Which values are marked?\nAnswer the question using a Python list."),
]


# MathVista's `_cot` and `_solution` variants (release_rules.md §4): the hint sentences and the `Choices:` layout
# of the reference's zero-shot step-by-step / solution queries; `_solution` ends in "Solution:", no space.
MATHVISTA_COT = [
    "Question: Which shape is shown?\nChoices:\n(A) circle\n(B) square\n(C) triangle\nHint: Please answer the "
    "question and provide the correct option letter, e.g., A, B, C, D, at the end.",
    "Question: How many dots are there?\nHint: Please answer the question requiring an integer answer and provide "
    "the final value, e.g., 1, 2, 3, at the end.",
    "Question: What is the length of the bar? (Unit: cm)\nHint: Please answer the question requiring a "
    "floating-point number with one decimal place and provide the final value, e.g., 1.2, 1.3, 1.4, at the end.",
    "Question: What is the slope of the line?\nHint: Please answer the question requiring a floating-point number "
    "with two decimal places and provide the final value, e.g., 1.23, 1.34, 1.45, at the end.",
    "Question: Which values are marked?\nHint: Please answer the question requiring a Python list as an answer and "
    "provide the final list, e.g., [1, 2, 3], [1.2, 1.3, 1.4], at the end.",
]
MORE_PROMPTS += [("mathvista_testmini_cot", i, text) for i, text in enumerate(MATHVISTA_COT)]
MORE_PROMPTS += [("mathvista_testmini_solution", i, text + "\nSolution:") for i, text in enumerate(MATHVISTA_COT)]
MATHVISTA_VARIANTS = ["mathvista_testmini_cot", "mathvista_testmini_format", "mathvista_testmini_solution"]


@pytest.fixture(scope="module")
def load_any(fixture_paths):
    """load(name, profile) for the fixture tasks and the MathVista variants (they read _format's fixture)."""
    return task_loader(fixture_paths | dict.fromkeys(MATHVISTA_VARIANTS, fixture_paths["mathvista_testmini_format"]))


def test_mathvista_variants_differ_only_in_their_prompts(load_any):
    tasks = [load_any(name) for name in MATHVISTA_VARIANTS]
    assert task_index().groups["mathvista_testmini"] == MATHVISTA_VARIANTS
    shared = [task.config.model_dump(exclude={"task"}) for task in tasks]
    assert shared[0] == shared[1] == shared[2] and shared[0]["group"] == ["mathvista_testmini"]
    assert len({task.text(task.doc(0), 0) for task in tasks}) == 3
    assert tasks[2].text(tasks[2].doc(1), 1).endswith("at the end.\nSolution:")


@pytest.mark.parametrize("name,doc_id,expected", [(n, d, e) for n, (d, e) in PROMPTS.items()] + MORE_PROMPTS)
def test_prompt_equals_the_reference_example(load_any, name, doc_id, expected):
    task = load_any(name)
    assert task.text(task.doc(doc_id), doc_id) == expected


def test_every_task_has_a_prompt_check():
    assert set(PROMPTS) | {n for n, _, _ in MORE_PROMPTS} | {"mathverse_testmini_vision_intensive"} == set(
        FIXTURES) | set(MATHVISTA_VARIANTS)


def test_mmmu_images_are_the_referenced_columns_in_order(load):
    task = load("mmmu_val")
    doc = task.doc(0)
    refs = task.media(doc, 0)
    assert [ref.label.rsplit("'", 2)[1] for ref in refs] == ["image_1", "image_2"]  # image_3 is not referred to
    assert len(task.media(task.doc(1), 1)) == 1


def test_seedbench_video_rows_send_every_frame(load):
    task = load("seedbench")
    assert [len(task.media(task.doc(i), i)) for i in range(6)] == [1, 1, 1, 1, 3, 3]


# ---- scoring ------------------------------------------------------------------------------------------------

def test_ai2d_flexible_extract_and_exact_match(scored, load):
    scores = scored("ai2d", {0: "B. zebra", 1: "The answer is D.", 2: "(C)", 3: "b"})
    assert values_of(scores, "exact_match,flexible-extract") == [1.0, 0.0, 1.0, 1.0]
    assert scores.metrics == {"exact_match,flexible-extract": 0.75}
    assert [s["filtered_resps"] for s in scores.samples] == [["B"], ["The answer is D."], ["(C)"], ["b"]]
    # no leading letter extracted and scored wrong: unresolved; "(C)" and "b" still match as the rules have it
    assert [s["unresolved"] for s in scores.samples] == [False, True, False, False] and scores.n_unresolved == 1
    task = load("ai2d")
    doc = task.doc(2)  # answer C
    assert [task.score(doc, r, "published").values["exact_match,flexible-extract"]
            for r in ("C", "  C. needle", "Answer: C) x", "Option C")] == [1.0, 1.0, 0.0, 0.0]


def test_chartqa_relaxed_accuracy_and_splits(scored):
    scores = scored("chartqa", {0: "2000", 1: "45%", 2: "0.23", 3: "25,000", 4: "45 units", 5: "Asia.", 6: "0"})
    assert values_of(scores, "relaxed_overall,none") == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    assert values_of(scores, "relaxed_human_split,none") == [1.0, None, 1.0, None, 0.0, None, 1.0]
    assert values_of(scores, "relaxed_augmented_split,none") == [None, 1.0, None, 0.0, None, 0.0, None]
    assert scores.metrics == {"relaxed_overall,none": 4 / 7, "relaxed_human_split,none": 0.75,
                              "relaxed_augmented_split,none": 1 / 3}


def test_docvqa_anls_binarised_published_and_max_corrected(scored):
    responses = {0: "197", 1: "#####fghij", 2: "xyz", 3: "total", 4: "a"}
    published, corrected = scored("docvqa_val", responses), scored("docvqa_val", responses, "corrected")
    assert values_of(published, "anls,none") == [1.0, 1.0, 0.0, 1.0, 0.0]
    assert values_of(corrected, "anls,none") == [0.75, 0.5, 0.0, 1.0, 0.0]
    assert published.metrics["anls,none"] == pytest.approx(0.6)
    assert corrected.metrics["anls,none"] == pytest.approx(0.45)


def test_infovqa_anls_over_several_answers(scored):
    responses = {0: "forty-two", 1: "no"}
    assert scored("infovqa_val", responses).metrics["anls,none"] == 0.5
    assert scored("infovqa_val", responses, "corrected").metrics["anls,none"] == pytest.approx((1 - 1 / 9) / 2)


MME_RESPONSES = {0: "Yes", 1: "No",  # existence: both right -> 100 + 100
                 2: "yes.", 3: "Yes",  # count: one right -> 50 + 0
                 4: "Nope", 5: "y", 6: "The answer is yes", 7: "Not sure",  # color: (200 + 50) / 2
                 8: "Yes", 9: "Yes",  # code_reasoning: 50
                 10: "no", 11: "n"}  # numerical_calculation: 200


def test_mme_sums_acc_and_acc_plus_per_category(scored):
    scores = scored("mme", MME_RESPONSES)
    assert scores.metrics == {"mme_percetion_score,none": 375.0, "mme_cognition_score,none": 250.0}
    assert scores.n_unresolved == 1 and scores.samples[6]["unresolved"] is True
    assert values_of(scores, "mme_cognition_score,none")[:8] == [None] * 8
    corrected = scored("mme", MME_RESPONSES, "corrected")
    assert corrected.metrics == {"mme_perception_score,none": 375.0, "mme_cognition_score,none": 250.0}


def test_mme_leaves_out_an_image_without_its_pair(load, caplog):
    task = load("mme")
    batch = [Response(f"k{i}", "mme", i, MME_RESPONSES[i]) for i in range(3)]
    with caplog.at_level(logging.WARNING):
        scores = score_task(task, batch, {}, "published", predict_only=False)
    assert scores.metrics == {"mme_percetion_score,none": 200.0, "mme_cognition_score,none": None}
    assert "count/count/000001.jpg" in caplog.text


def test_realworldqa_published_filter_and_corrected_rules(scored, load):
    responses = {0: "b", 1: "Engine", 2: "There are 3 cars", 3: "3."}
    published = scored("realworldqa", responses)
    assert values_of(published, "exact_match,flexible-extract") == [1.0, 1.0, 1.0, 1.0]
    corrected = scored("realworldqa", responses, "corrected")
    assert values_of(corrected, "exact_match,flexible-extract") == [0.0, 0.0, 0.0, 1.0]
    assert corrected.n_unresolved == 3 and corrected.metrics["exact_match,flexible-extract"] == 0.25
    task = load("realworldqa")
    cases = [(0, "Apple", 1.0, False), (1, "candle", 0.0, True), (2, "3", 1.0, False), (2, "13", 0.0, False),
             (2, "two", 0.0, False), (2, "Three.", 0.0, True)]
    for doc_id, response, value, unresolved in cases:
        score = task.score(task.doc(doc_id), response, "published")
        assert (score.values["exact_match,flexible-extract"], score.unresolved) == (value, unresolved), response
    assert task.score(task.doc(0), "B", "corrected").values == {"exact_match,flexible-extract": 1.0}


def test_ocrbench_per_thousand_and_categories(scored):
    responses = {0: "The text is centre.", 1: "x^{2}", 2: "X+1", 3: "It says 12 May 2020", 4: "ＡＢＣ", 5: "go"}
    published = scored("ocrbench", responses)
    assert values_of(published, "ocrbench_accuracy,none") == [1.0, 1.0, 0.0, 1.0, 0.0, 0.0]
    assert published.metrics == {
        "ocrbench_accuracy,none": 0.003, "text_recognition,none": 1.0, "scene_text_centric_vqa,none": 0.0,
        "doc_oriented_vqa,none": 1.0, "key_information_extraction,none": 0.0,
        "handwritten_mathematical_expression_recognition,none": 1.0}
    corrected = scored("ocrbench", responses, "corrected")  # case kept for HME100k, full-width folded
    assert corrected.metrics["ocrbench_accuracy,none"] == 0.005
    assert corrected.metrics["handwritten_mathematical_expression_recognition,none"] == 2.0


def test_mmmu_choice_parser_open_answers_and_no_random_fallback(scored):
    scores = scored("mmmu_val", {0: "C", 1: "D is correct, not A", 2: "(A) or (B)? I pick (B)",
                                 3: "Answer: C) Rocket", 4: "x = 42", 5: "approximately 3.171"})
    assert values_of(scores, "mmmu_acc,none") == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert scores.metrics == {"mmmu_acc,none": 0.5}
    assert scores.n_unresolved == 1 and scores.samples[3]["unresolved"] is True


def test_mmmu_accuracy_is_rounded_to_five_decimals(scored):
    scores = scored("mmmu_val", {0: "C", 1: "D", 2: "B", 3: "B", 4: "41", 5: "3.14"})
    assert scores.metrics == {"mmmu_acc,none": 0.66667}


def test_seedbench_first_character_and_image_video_split(scored):
    scores = scored("seedbench", {0: "A", 1: "b", 2: "Answer: C", 3: "", 4: "D", 5: "B"})
    assert values_of(scores, "seed_image,none") == [1.0, 1.0, 1.0, 0.0, None, None]
    assert scores.metrics == {"seed_image,none": 0.75, "seed_video,none": 0.5, "seed_all,none": 4 / 6}
    assert scores.n_unresolved == 1


def test_scienceqa_lower_cased_published_and_letter_dot_corrected(scored, load):
    responses = {0: "B.", 1: "A.kettle", 2: "C"}
    assert values_of(scored("scienceqa_img", responses), "exact_match,none") == [0.0, 0.0, 1.0]
    assert scored("scienceqa_img", responses, "corrected").metrics == {"exact_match,none": 1.0}
    task, doc = load("scienceqa_img"), load("scienceqa_img").doc(0)
    assert [task.score(doc, r, "published").values["exact_match,none"] for r in ("b", "B. walrus")] == [1.0, 0.0]
    assert task.score(doc, "B. walrus", "corrected").values["exact_match,none"] == 1.0


MMSTAR_RESPONSES = {0: "A", 1: "(b)", 2: "Answer: C", 3: "the answer is d", 4: "option c", 5: ""}


def test_mmstar_category_means_of_l2_means(scored):
    scores = scored("mmstar", MMSTAR_RESPONSES)
    assert values_of(scores, "average,none") == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    assert scores.metrics == {"coarse perception,none": 1.0, "fine-grained perception,none": None,
                              "instance reasoning,none": None, "logical reasoning,none": None,
                              "science & technology,none": None, "math,none": 0.25, "average,none": 0.625}
    assert scores.samples[0].keys() >= {"coarse perception,none", "average,none"}
    assert "math,none" not in scores.samples[0]


def test_mmstar_corrected_uses_the_mcq_extractor(scored):
    scores = scored("mmstar", MMSTAR_RESPONSES, "corrected")
    assert values_of(scores, "average,none") == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert (scores.metrics["coarse perception,none"], scores.metrics["math,none"]) == (0.25, 0.0)
    assert scores.metrics["average,none"] == 0.125 and scores.n_unresolved == 4


def test_mmbench_circular_groups_without_judge(scored, load):
    scores = scored("mmbench_en_dev", {0: "C", 1: "Answer: B) Guitar", 2: "saddle is shown",
                                       3: "The answer is D, not A", 4: "I am not sure", 5: "E", 6: "A"})
    assert values_of(scores, "gpt_eval_score,none") == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0]
    assert scores.metrics == {"gpt_eval_score,none": 50.0}  # groups 0 and 1 right, 2 unresolved, 3 wrong
    assert scores.n_unresolved == 1 and scores.samples[4]["unresolved"] is True
    task = load("mmbench_en_dev")
    one_wrong = task.score(task.doc(3), "The answer is A, not B", "published")  # reads B, the answer is D
    assert one_wrong.values == {"gpt_eval_score,none": 0.0} and not one_wrong.unresolved


@pytest.mark.parametrize("name", JUDGE_TASKS)
def test_judge_tasks_refuse_to_score_without_a_judge(load, name):
    task = load(name)
    batch = [Response("k0", name, 0, "some answer")]
    with pytest.raises(OvEvalError, match=f"task '{name}' needs an LLM judge .*--predict_only"):
        score_task(task, batch, {}, "published", predict_only=False)
    logged = score_task(task, batch, {}, "published", predict_only=True)
    assert set(logged.metrics.values()) == {None} and logged.samples[0]["resps"] == [["some answer"]]


def test_mathvista_extraction_normalisation_and_score(load):
    task = load("mathvista_testmini_format")
    choice, integer, float_1 = (task.doc(i) for i in range(3))
    assert [mathvista_quick_extract(r, choice) for r in ("square", "B", "")] == ["square", None, ""]
    assert [mathvista_quick_extract(r, integer) for r in ("3", "12.0", "three")] == ["3", None, None]
    assert mathvista_quick_extract("1.5", float_1) == "1.5"
    assert [mathvista_normalize(e, choice) for e in ("(B) square", "B", "", "triangel")] == [
        "square", "square", "circle", "triangle"]
    assert mathvista_normalize("3.0", integer) == "3"
    assert mathvista_normalize("1.5", float_1) is None  # precision is a float64: round() raises, as published
    assert [mathvista_match(e, d["answer"], d, "published") for e, d in
            (("B", choice), ("3", integer), ("1.5", float_1))] == [1.0, 1.0, None]
    assert (percent_or_null([1.0, 1.0, 0.0], []), percent_or_null([0.0, 0.0], [])) == (66.67, None)


def test_judge_grades_and_llava_wild_relative_score():
    assert [judge_grade(g, "", {}, "published") for g in ("1", "0", "0.5", "x", "2")] == [1.0, 0.0, 0.5, None, None]
    assert llava_wild_relative_score([(8, 7), (9, 9), (6, 3)]) == 82.6  # 6.333 / 7.667


def test_where_field_missing_from_the_docs_is_named(load):
    task = load("chartqa")
    doc = {k: v for k, v in task.doc(0).items() if k != "type"}
    with pytest.raises(OvEvalError, match="task 'chartqa', metric 'relaxed_human_split,none'.*'type'"):
        task.score(doc, "2019", "published")


def test_corrected_profile_removes_reasoning_blocks(load):
    task = load("ai2d")
    doc = task.doc(0)  # answer B
    assert task.score(doc, "<think>A</think>B", "corrected").values == {"exact_match,flexible-extract": 1.0}
    assert task.score(doc, "<think>A</think>B", "published").values == {"exact_match,flexible-extract": 0.0}


# ---- no parser copied into a task folder ---------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("duplicates") is None, reason="the `duplicates` tool is not installed")
def test_no_scoring_code_is_copied_into_task_hooks():
    out = subprocess.run(["duplicates", "--repo", str(REPO), "--most", "200", "--seconds", "90"],
                         capture_output=True, text=True, timeout=180).stdout
    rows = [line for line in out.splitlines() if " ~ " in line]
    assert not [row for row in rows if "tasks/" in row], out
    assert "incomplete:" not in out, out


def test_scoring_with_another_profile_than_loaded_warns_only_where_the_yaml_differs(load, caplog):
    with caplog.at_level(logging.WARNING):
        score_task(load("ai2d"), [Response("k0", "ai2d", 0, "B")], {}, "corrected", predict_only=False)
        assert "not applied" not in caplog.text
        score_task(load("mme"), [Response("k0", "mme", 0, "Yes")], {}, "corrected", predict_only=False)
    assert "task mme was loaded for the published profile but is scored with corrected" in caplog.text


def test_profiles_and_headline_metric_are_validated(tmp_path):
    base = "task: t\ndataset: {path: x.parquet, split: s}\ntarget: {field: answer}\nmetrics: [{metric: exact_match}]\n"
    bad_profile = tmp_path / "p.yaml"
    bad_profile.write_text(base + "profiles: {fixed: {generation: {max_new_tokens: 8}}}\n")
    with pytest.raises(OvEvalError, match=r"p\.yaml: unknown profile 'fixed' under 'profiles'"):
        Task.load(bad_profile)
    bad_headline = tmp_path / "h.yaml"
    bad_headline.write_text(base + "headline_metric: exact_match\n")
    with pytest.raises(OvEvalError, match=r"h\.yaml: headline_metric 'exact_match' is not one of the result keys"):
        Task.load(bad_headline)
    overlaid = tmp_path / "o.yaml"
    overlaid.write_text(base + "profiles: {corrected: {generation: {max_new_tokens: 8}}}\n")
    assert Task.load(overlaid).config.generation.max_new_tokens == 1024
    assert Task.load(overlaid, profile="corrected").config.generation.max_new_tokens == 8
