"""Unusual data never becomes a silently wrong number: documents without their visual, options or answers of the
wrong shape, targets that cannot be made, a share limit on a tiny task, a scoring fault in one task, and compare
of runs on other data. Runs are real subprocesses through a weights-free scripted adapter (tests/scripted_adapter.py)
that logs every sample it is asked to generate."""
import json
import math

import datasets
import pytest

from conftest import REPO, read_results, read_samples, run_ov_eval
from fixtures.logged_runs import write_run
from fixtures.single_image import _image
from ov_eval.data.doc_values import answer_list, option_index, option_list
from ov_eval.pipeline import SampleFailure
from ov_eval.scoring.benchmarks import anls_metric, ocrbench
from ov_eval.data.datasets import share_of
from ov_eval.task import Task

COLOURS = REPO / "tasks/demo/data/colours.parquet"
SCRIPTED = "scripted_adapter:Scripted"
IMAGE = datasets.Image()
STR = datasets.Value("string")


def run_args(out, tasks, *extra):
    return ["--model", SCRIPTED, "--tasks", tasks, "--log_samples", "--output_path", str(out), "--verbosity",
            "WARNING", "--workers", "0", *extra]


def calls(log):
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def write_parquet(path, rows, features):
    datasets.Dataset.from_list(rows, features=datasets.Features(features)).to_parquet(str(path))
    return path


def task_folder(tmp_path, tasks: dict[str, str]):
    folder = tmp_path / "tasks"
    folder.mkdir(exist_ok=True)
    for name, body in tasks.items():
        (folder / f"{name}.yaml").write_text(f"task: {name}\n" + body, encoding="utf-8")
    return folder


def samples_by_doc(out, task):
    return {s["doc_id"]: s for s in read_samples(out, task)}


# ---- documents without their visual ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def visual_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("visual")
    colours = [{**row, "question": f"colours {i}"} for i, row in enumerate(datasets.load_dataset(
        "parquet", data_files=str(COLOURS), split="train").cast_column("image", datasets.Image(decode=False)).to_list())]
    colours[1]["image"] = None
    single = write_parquet(tmp / "colours.parquet", colours, {"image": IMAGE, "question": STR, "answer": STR})
    multi_rows = [{"question": f"multi {i}", "answer": "A", "image_list": images}
                  for i, images in enumerate([[_image(0), _image(1)], [], None])]
    multi = write_parquet(tmp / "multi.parquet", multi_rows,
                          {"question": STR, "answer": STR, "image_list": datasets.List(IMAGE)})
    common = (f"dataset: {{path: {multi}, split: train}}\ntarget: {{field: answer}}\n"
              "metrics: [{metric: exact_match}]\n")
    folder = task_folder(tmp, {"multi": common + "visual: {kind: image, fields: [image_list]}\n",
                               "multi_optional": common + "visual: {kind: image, fields: [image_list], optional: true}\n"})
    log, out = tmp / "calls.log", tmp / "out"
    done = run_ov_eval(run_args(out, "demo_colours,multi,multi_optional", "--include_path", str(folder),
                                "--dataset_override", f"demo_colours={single}"), OV_TEST_CALL_LOG=str(log))
    return done, out, calls(log)


def test_a_document_without_its_image_is_its_error_and_never_generated(visual_run):
    done, out, generated = visual_run
    assert done.returncode == 0, done.stderr
    assert [line for line in generated if line.startswith("colours")] == [
        f"colours {i}\timages=1\tvideos=0" for i in (0, 2, 3, 4, 5, 6, 7)]
    assert [line for line in generated if line.startswith("multi")][:1] == ["multi 0\timages=2\tvideos=0"]
    results = read_results(out)["results"]
    assert (results["demo_colours"]["n_samples"], results["demo_colours"]["n_errors"]) == (8, 1)
    assert (results["multi"]["n_samples"], results["multi"]["n_errors"]) == (3, 2)
    assert samples_by_doc(out, "demo_colours")[1]["error"] == (
        "task 'demo_colours', doc 1: no image in column 'image' (None); a task whose documents may have no image "
        "sets visual.optional: true")
    multi = samples_by_doc(out, "multi")
    assert [multi[d]["error"] for d in (1, 2)] == [
        "task 'multi', doc 1: no image in column 'image_list' (list []); a task whose documents may have no image "
        "sets visual.optional: true",
        "task 'multi', doc 2: no image in column 'image_list' (None); a task whose documents may have no image "
        "sets visual.optional: true"]


def test_a_task_declaring_visuals_optional_generates_those_documents_text_only(visual_run):
    done, out, generated = visual_run
    assert done.returncode == 0, done.stderr
    assert generated[-3:] == ["multi 0\timages=2\tvideos=0", "multi 1\timages=0\tvideos=0",
                              "multi 2\timages=0\tvideos=0"]
    entry = read_results(out)["results"]["multi_optional"]
    assert (entry["n_samples"], entry["n_errors"], entry["exact_match,none"]) == (3, 0, 1.0)


def test_visual_optional_is_validated_strictly(tmp_path):
    from ov_eval.config import load_task_config
    from ov_eval.errors import OvEvalError

    folder = task_folder(tmp_path, {"mine": f"dataset: {{path: {COLOURS}, split: train}}\ntarget: {{field: answer}}\n"
                                            "metrics: [{metric: exact_match}]\n"
                                            "visual: {kind: image, fields: [image], optional: 'yes'}\n"})
    with pytest.raises(OvEvalError) as error:
        load_task_config(folder / "mine.yaml")
    assert str(error.value) == f"{folder / 'mine.yaml'}: 'visual.optional': Input should be a valid boolean"


# ---- options ---------------------------------------------------------------------------------------------------

CHOICE_TASK = ("dataset: {{path: {data}, split: train}}\nprompt: {{text: \"{{question}}\\n{{options}}\", "
               "options_field: options}}\ntarget: {{field: answer, transform: index_to_letter}}\n"
               "metrics: [{{metric: exact_match}}]\n")


def test_options_typed_as_one_string_stop_the_task_at_load_naming_the_column(tmp_path):
    data = write_parquet(tmp_path / "s.parquet", [{"question": "q", "options": "red, green, blue", "answer": 0}],
                         {"question": STR, "options": STR, "answer": datasets.Value("int64")})
    folder = task_folder(tmp_path, {"mine": CHOICE_TASK.format(data=data)})
    log = tmp_path / "calls.log"
    done = run_ov_eval(run_args(tmp_path / "out", "mine", "--include_path", str(folder)), OV_TEST_CALL_LOG=str(log))
    assert (done.returncode, done.stderr) == (
        2, "ov_eval: error: task 'mine': prompt.options_field reads column 'options' as the options, which must be a "
           "list of strings; the dataset types it Value('string')\n")
    assert calls(log) == []


@pytest.fixture(scope="module")
def choice_run(tmp_path_factory):
    """Options and index targets that cannot make a prompt or a letter, beside good ones, in a run of two tasks."""
    tmp = tmp_path_factory.mktemp("choice")
    options = ["red", "green", "blue", "white"]
    rows = [(options, 0.0), (None, 1.0), (options, 7.0), (options, -1.0), (options, float("nan")), (options, 2.5),
            (options, 3.0)]
    data = write_parquet(tmp / "choice.parquet",
                         [{"question": f"choice {i}", "options": o, "answer": a} for i, (o, a) in enumerate(rows)],
                         {"question": STR, "options": datasets.List(STR), "answer": datasets.Value("float64")})
    folder = task_folder(tmp, {"mine": CHOICE_TASK.format(data=data)})
    log, out = tmp / "calls.log", tmp / "out"
    done = run_ov_eval(run_args(out, "mine,demo_colours", "--include_path", str(folder)), OV_TEST_CALL_LOG=str(log))
    return done, out, calls(log)


def test_options_and_index_targets_that_cannot_be_made_are_errors_of_their_document(choice_run):
    done, out, generated = choice_run
    assert done.returncode == 0, done.stderr
    assert [line.split("\t")[0] for line in generated if line.startswith("choice")] == ["choice 0", "choice 6"]
    errors = {d: s["error"] for d, s in samples_by_doc(out, "mine").items() if s["error"]}
    assert errors == {
        1: "task 'mine', doc 1, column 'options': options must be a non-empty list of strings, got None",
        2: "task 'mine', doc 2, column 'answer': target: option index 7 is outside the 4 options (0-3)",
        3: "task 'mine', doc 3, column 'answer': target: option index -1 is outside the 4 options (0-3)",
        4: "task 'mine', doc 4, column 'answer': target: an option index must be a whole number, got float nan",
        5: "task 'mine', doc 5, column 'answer': target: an option index must be a whole number, got float 2.5"}
    entry = read_results(out)["results"]["mine"]
    assert (entry["n_samples"], entry["n_errors"], entry["exact_match,none"]) == (7, 5, 0.5)  # A right, D wrong
    assert [samples_by_doc(out, "mine")[d]["target"] for d in (0, 2, 6)] == ["A", None, "D"]


def test_a_target_that_cannot_be_made_costs_no_other_task_its_results(choice_run):
    done, out, _ = choice_run
    assert "Traceback" not in done.stderr
    assert read_results(out)["results"]["demo_colours"]["n_samples"] == 8


def test_option_values_other_than_a_list_of_strings_are_refused():
    import numpy as np

    assert option_list(np.array(["a", "b"]), "x") == ["a", "b"]
    for value, shown in [("red, green", "str 'red, green'"), (None, "None"), ([1, 2], "list [1, 2]"),
                         ({"a": 1}, "dict {'a': 1}"), ([], "list []")]:
        with pytest.raises(SampleFailure) as failure:
            option_list(value, "task 't', doc 0, column 'options'")
        assert str(failure.value) == ("task 't', doc 0, column 'options': options must be a non-empty list of strings, "
                                      f"got {shown}")


def test_option_indexes_are_whole_numbers_inside_the_options():
    assert [option_index(v, 4, "x") for v in (0, 3, "2", 1.0, " 1 ")] == [0, 3, 2, 1, 1]
    assert option_index(25, None, "x") == 25
    for value, count, message in [(4, 4, "option index 4 is outside the 4 options (0-3)"),
                                  (26, None, "option index 26 is outside the letters A-Z (0-25)"),
                                  (None, 4, "an option index must be a whole number, got None"),
                                  (True, 4, "an option index must be a whole number, got bool True"),
                                  ("B", 4, "an option index must be a whole number, got str 'B'")]:
        with pytest.raises(SampleFailure) as failure:
            option_index(value, count, "here")
        assert str(failure.value) == f"here: {message}"


# ---- answers ---------------------------------------------------------------------------------------------------

def test_a_string_target_is_one_answer_for_every_metric_taking_a_list_of_answers():
    assert anls_metric("1975", "1975", {}, "published") == 1.0
    assert anls_metric("1975", "1 9 7 5 x", {}, "published") == 0.0  # was 1.0: each character an answer
    assert anls_metric("hello", ["hello world", "hello"], {}, "corrected") == 1.0
    assert ocrbench("the answer is 12", "12", {"dataset": "x"}, "published") == 1.0
    assert ocrbench("the answer is 1", "12", {"dataset": "x"}, "published") == 0.0  # was 1.0: "1" in "12"
    assert answer_list("a", "x") == ["a"]
    for value, shown in [(5, "int 5"), ([], "list []"), (["a", None], "list ['a', None]")]:
        with pytest.raises(SampleFailure) as failure:
            answer_list(value, "task 't', doc 0, column 'answers': target")
        assert str(failure.value) == ("task 't', doc 0, column 'answers': target: the answers must be a string or a "
                                      f"non-empty list of strings, got {shown}")


def docvqa_rows(count):
    from fixtures.single_image import docvqa_val

    return docvqa_val().cast_column("image", datasets.Image(decode=False)).to_list()[:count], docvqa_val().features


def test_anls_with_a_string_target_column_scores_an_exact_answer_one(tmp_path):
    rows, features = docvqa_rows(2)
    for row in rows:
        row["answers"] = row["answers"][0]
    data = write_parquet(tmp_path / "docvqa.parquet", rows, dict(features, answers=STR))
    task = Task.load(REPO / "tasks/docvqa/docvqa_val.yaml", str(data))
    task.check_columns()
    assert [task.score(task.doc(d), "1975", "published", doc_id=d).values for d in (0, 1)] == [
        {"anls,none": 1.0}, {"anls,none": 0.0}]  # "1975" against "1975" and "abcdefghij"


def test_an_answers_column_of_numbers_stops_the_task_at_load(tmp_path):
    from ov_eval.errors import OvEvalError

    rows, features = docvqa_rows(1)
    rows[0]["answers"] = 1975
    data = write_parquet(tmp_path / "docvqa.parquet", rows, dict(features, answers=datasets.Value("int64")))
    with pytest.raises(OvEvalError) as error:
        Task.load(REPO / "tasks/docvqa/docvqa_val.yaml", str(data)).check_columns()
    assert str(error.value) == ("task 'docvqa_val': target.field reads column 'answers' as the answers, which must "
                                "be a string or a list of strings; the dataset types it Value('int64')")


def colours_with_a_none(tmp_path, column: str) -> Task:
    """demo_colours on two of its documents, the second with None in `column`."""
    rows = datasets.load_dataset("parquet", data_files=str(COLOURS), split="train").to_list()[:2]
    rows[1][column] = None
    data = write_parquet(tmp_path / "c.parquet", rows, {"image": datasets.Image(), "question": STR, "answer": STR})
    return Task.load(REPO / "tasks/demo/demo_colours.yaml", str(data))


# ---- missing targets -------------------------------------------------------------------------------------------

def test_a_missing_target_is_the_documents_error_unless_the_task_is_submission_only(tmp_path):
    from fixtures import task_loader
    from fixtures.video_multi import write_fixture

    task = colours_with_a_none(tmp_path, "answer")
    with pytest.raises(SampleFailure) as failure:
        task.request(1, task.generation({}), "model")
    assert str(failure.value) == "task 'demo_colours', doc 1, column 'answer': no target (None)"
    egoschema = task_loader({"egoschema": write_fixture("egoschema", tmp_path)})("egoschema")
    assert egoschema.target(egoschema.doc(0), 0) is None  # hidden labels: a submission-only task needs none


# ---- --limit ---------------------------------------------------------------------------------------------------

def test_a_share_rounds_up_to_at_least_one_document():
    assert [share_of(0.5, 1), share_of(0.01, 7), share_of(0.3, 10), share_of(0.25, 10), share_of(0.5, 0)] == \
        [1, 1, 3, 3, 0]


def test_limit_half_of_a_one_document_task_evaluates_that_document(tmp_path):
    rows = datasets.load_dataset("parquet", data_files=str(COLOURS), split="train").to_list()[:1]
    data = write_parquet(tmp_path / "one.parquet", rows, {"image": datasets.Image(), "question": STR, "answer": STR})
    out, log = tmp_path / "out", tmp_path / "calls.log"
    done = run_ov_eval(run_args(out, "demo_colours", "--limit", "0.5", "--dataset_override", f"demo_colours={data}"),
                       OV_TEST_CALL_LOG=str(log))
    assert done.returncode == 0, done.stderr
    assert len(calls(log)) == 1
    assert read_results(out)["results"]["demo_colours"]["n_samples"] == 1


# ---- a scoring fault in one task -------------------------------------------------------------------------------

HOOKS = '''
def broken(prediction, target, doc, profile):
    return 1.0 / (len(doc["question"]) - len(doc["question"]))
'''


def test_a_scoring_fault_costs_only_its_task_and_exits_non_zero(tmp_path):
    folder = task_folder(tmp_path, {"mine": f"dataset: {{path: {COLOURS}, split: train}}\ntarget: {{field: answer}}\n"
                                            "visual: {kind: image, fields: [image]}\nhooks: hooks.py\n"
                                            "metrics: [{metric: hooks.broken}]\n"})
    (folder / "hooks.py").write_text(HOOKS, encoding="utf-8")
    out = tmp_path / "out"
    done = run_ov_eval(run_args(out, "mine,demo_colours", "--include_path", str(folder)),
                       OV_TEST_CALL_LOG=str(tmp_path / "calls.log"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    [path] = sorted(out.glob("*/*_results.json"))
    assert done.stderr.splitlines()[-2:] == [  # after the progress bars
        "ov_eval: error: task 'mine' could not be scored: ZeroDivisionError: float division by zero",
        f"ov_eval: the other tasks' results are in {path}"]
    results = json.loads(path.read_text())["results"]
    assert results["mine"].pop("throughput")["n_generated"] == 8  # generation happened; only scoring failed
    assert results["mine"] == {"alias": "mine", "hooks.broken,none": None, "hooks.broken_stderr,none": None,
                               "hooks.broken_ci95,none": None, "n_samples": 8, "n_errors": 0, "n_unresolved": 0,
                               "scoring_error": "ZeroDivisionError: float division by zero"}
    assert results["demo_colours"]["n_samples"] == 8 and results["demo_colours"]["exact_match,none"] == 0.0
    assert [s["resps"] for s in read_samples(out, "mine")] == [[["A"]]] * 8  # kept for `rescore`
    assert "| mine | hooks.broken,none | - | 8 | 0 | 0 |" in done.stdout


# ---- compare on other data -------------------------------------------------------------------------------------

def with_fingerprint(path, fingerprint, dataset):
    results = json.loads(path.read_text())
    results["provenance"]["demo_colours"].update(fingerprint=fingerprint, dataset=dataset)
    path.write_text(json.dumps(results))
    return path


def test_compare_refuses_runs_on_other_data(tmp_path):
    a = with_fingerprint(write_run(tmp_path / "a", "20260101_000000", [1.0, 0.0]), "f00d", "/data/a.parquet")
    b = with_fingerprint(write_run(tmp_path / "b", "20260102_000000", [1.0, 1.0]), "beef", "/data/b.parquet")
    refused = run_ov_eval(["compare", str(a), str(b)])
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == ("ov_eval: error: the runs differ in task 'demo_colours': dataset fingerprint A f00d "
                              "(/data/a.parquet), B beef (/data/b.parquet); pass --allow_config_mismatch to compare "
                              "them anyway\n")
    with_fingerprint(b, "f00d", "/data/a.parquet")
    assert run_ov_eval(["compare", str(a), str(b)]).returncode == 0


def test_nan_is_missing_everywhere():
    from ov_eval.data.doc_values import is_missing
    import numpy as np

    assert [is_missing(v) for v in (None, math.nan, np.float32("nan"), 0.0, "", "nan")] == \
        [True, True, True, False, False, False]


# ---- further cases of the same classes -------------------------------------------------------------------------

def scienceqa_with(tmp_path, **changes):
    from fixtures.single_image import scienceqa_img

    rows = scienceqa_img().cast_column("image", datasets.Image(decode=False)).to_list()
    for doc_id, row in changes.items():
        rows[int(doc_id.removeprefix("doc"))].update(row)
    data = write_parquet(tmp_path / "scienceqa.parquet", rows, scienceqa_img().features)
    return Task.load(REPO / "tasks/scienceqa/scienceqa_img.yaml", str(data))


def failure_of(task, doc_id):
    with pytest.raises(SampleFailure) as failure:
        task.request(doc_id, task.generation({}), "model")
    return str(failure.value)


def test_a_hook_prompt_reads_its_options_as_a_list_and_its_index_within_them(tmp_path):
    task = scienceqa_with(tmp_path, doc0={"choices": []}, doc1={"answer": 3})
    assert failure_of(task, 0) == ("task 'scienceqa_img', doc 0, column 'choices': options must be a non-empty list "
                                   "of strings, got list []")
    assert failure_of(task, 1) == ("task 'scienceqa_img', doc 1, column 'answer': target: option index 3 is outside "
                                   "the 3 options (0-2)")  # target.options_field: choices
    assert task.request(2, task.generation({}), "model").text.endswith(
        "A. dolphin\nB. falcon\nC. engine\nAnswer with the option's letter from the given choices directly.")


def test_a_prompt_field_without_a_value_is_the_documents_error_not_the_word_none(tmp_path):
    task = colours_with_a_none(tmp_path, "question")
    assert failure_of(task, 1) == "task 'demo_colours', doc 1, field 'question': no value (None) for the prompt"


def test_a_target_hook_failing_on_one_document_is_that_documents_error(tmp_path):
    folder = task_folder(tmp_path, {"mine": f"dataset: {{path: {COLOURS}, split: train}}\ntarget: {{field: answer}}\n"
                                            "visual: {kind: image, fields: [image]}\nhooks: hooks.py\n"
                                            "metrics: [{metric: exact_match}]\n"})
    (folder / "hooks.py").write_text("def doc_to_target(doc):\n    return {'red': 'r'}[doc['answer']]\n")
    task = Task.load(folder / "mine.yaml")
    red = next(i for i in range(len(task.dataset)) if task.doc(i)["answer"] == "red")
    other = next(i for i in range(len(task.dataset)) if task.doc(i)["answer"] != "red")
    assert task.target(task.doc(red), red) == "r"
    assert failure_of(task, other) == f"task 'mine', doc {other}, doc_to_target: KeyError: '{task.doc(other)['answer']}'"


def test_a_metric_reading_options_of_the_wrong_shape_fails_its_sample_not_the_run():
    from ov_eval.scoring.builtin import choice_accuracy

    with pytest.raises(SampleFailure) as failure:
        choice_accuracy("A", "A", {"options": "red, green"}, "published")
    assert str(failure.value) == "column 'options': options must be a non-empty list of strings, got str 'red, green'"
    assert choice_accuracy("B", "B", {"options": ["red", "green"]}, "published") == 1.0
