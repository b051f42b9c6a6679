"""A new user's first task: the README's template run verbatim through the real CLI, the image column forms it
accepts, the rule that a filter extracting nothing leaves a sample unresolved, and the generated vocabulary."""
import io
import re
from pathlib import Path

import datasets
import pytest
from PIL import Image

from conftest import REPO, read_results, read_samples, run_ov_eval
from ov_eval.data.media import MediaError, decode_image
from ov_eval.task import Task
from ov_eval.types import MediaRef

TEMPLATE_HEADER = "# my_tasks/my_task/my_task.yaml"
QUESTIONS = {
    "question": ["Which shape is drawn?", "What colour is the square?"],
    "options": [["circle", "square", "triangle"], ["red", "green", "blue", "black"]],
    "answer": [1, 2],
}


def readme_template() -> str:
    """The README's task template, exactly as printed (the yaml block that starts with its file name)."""
    blocks = re.findall(r"```yaml\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.DOTALL)
    [template] = [block for block in blocks if block.startswith(TEMPLATE_HEADER)]
    return template


def png_bytes(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def write_template_task(root: Path, images: list) -> Path:
    """The template copied to root/my_tasks/my_task/, with a parquet of its columns where its dataset.path says."""
    folder = root / "my_tasks" / "my_task"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "my_task.yaml").write_text(readme_template(), encoding="utf-8")
    image_feature = datasets.Image() if isinstance(images[0], dict) else datasets.Value("string")
    features = datasets.Features(question=datasets.Value("string"), options=datasets.List(datasets.Value("string")),
                                 answer=datasets.Value("int64"), image=image_feature)
    datasets.Dataset.from_dict({**QUESTIONS, "image": images}, features=features).to_parquet(
        str(folder / "my_task.parquet"))
    return folder / "my_task.yaml"


@pytest.fixture(scope="module")
def template_run(tiny_checkpoint, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("template")
    write_template_task(root, [{"bytes": png_bytes("white"), "path": None}, {"bytes": png_bytes("blue"), "path": None}])
    output = root / "logs"
    result = run_ov_eval(["--model", "llava_onevision", "--model_args", f"pretrained={tiny_checkpoint}",
                          "--tasks", "my_task", "--include_path", str(root / "my_tasks"), "--log_samples",
                          "--output_path", str(output), "--workers", "0", "--verbosity", "WARNING"])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return output


def test_readme_template_runs_verbatim_through_include_path(template_run):
    results = read_results(template_run)
    entry = results["results"]["my_task"]
    assert entry["n_samples"] == 2 and entry["n_errors"] == 0
    assert set(entry) >= {"exact_match,flexible-extract", "n_unresolved"}
    samples = read_samples(template_run, "my_task")
    assert [s["target"] for s in samples] == ["B", "C"]
    assert samples[0]["arguments"]["text"] == ("Which shape is drawn?\nA. circle\nB. square\nC. triangle\n"
                                               "Answer with the option's letter from the given choices directly.")


def test_template_without_a_leading_letter_is_unresolved(tmp_path):
    task = Task.load(write_template_task(tmp_path, [{"bytes": png_bytes("white"), "path": None}] * 2))
    doc = task.doc(0)  # answer B
    scores = [task.score(doc, response, "published") for response in
              ("B. square", "B", "I cannot tell", "The answer is C.", "(C)")]
    assert [(s.values["exact_match,flexible-extract"], s.unresolved) for s in scores] == [
        (1.0, False), (1.0, False), (0.0, True), (0.0, True), (0.0, True)]


def test_demo_tasks_count_an_unparsed_answer_as_unresolved_alike():
    shapes = Task.load(REPO / "tasks" / "demo" / "demo_shapes.yaml")  # leading_letter filter + exact_match
    video = Task.load(REPO / "tasks" / "demo" / "demo_video.yaml")  # choice_accuracy, no filter step
    for task in (shapes, video):
        score = task.score(task.doc(0), "I cannot tell", "published")
        assert (list(score.values.values()), score.unresolved) == ([0.0], True), task.name
    colours = Task.load(REPO / "tasks" / "demo" / "demo_colours.yaml")  # no extracting step: a plain mismatch
    score = colours.score(colours.doc(0), "I cannot tell", "published")
    assert (score.values, score.unresolved) == ({"exact_match,none": 0.0}, False)


def test_image_path_strings_resolve_against_the_dataset_folder(tmp_path):
    pictures = tmp_path / "my_tasks" / "my_task" / "pictures"
    pictures.mkdir(parents=True)
    Image.new("RGB", (20, 10), "red").save(pictures / "a.png")
    Image.new("RGB", (30, 10), "blue").save(pictures / "b.png")
    task = Task.load(write_template_task(tmp_path, ["pictures/a.png", str(pictures / "b.png")]))
    images = [decode_image(ref) for i in range(2) for ref in task.media(task.doc(i), i)]
    assert [(image.size, image.getpixel((0, 0))) for image in images] == [((20, 10), (255, 0, 0)),
                                                                        ((30, 10), (0, 0, 255))]


def test_image_cells_that_cannot_be_read_say_what_is_accepted():
    with pytest.raises(MediaError) as relative:
        decode_image(MediaRef("image", "pictures/a.png", "task 't', doc 0, column 'image'"))
    assert str(relative.value) == ("task 't', doc 0, column 'image': image path 'pictures/a.png' is relative and "
                                   "the dataset has no local folder to resolve it against (a hub dataset): store "
                                   "image bytes or absolute paths")
    with pytest.raises(MediaError) as other:
        decode_image(MediaRef("image", 7, "task 't', doc 1, column 'image'"))
    assert str(other.value) == ("task 't', doc 1, column 'image': no image data (int); accepted: a datasets Image "
                                "value, {'bytes': ...}, {'path': ...} or a file path string (relative paths "
                                "resolve against the local dataset's folder)")


def test_list_vocabulary_names_every_registered_function_with_one_line():
    from ov_eval.scoring import registry

    registry.load_builtins()
    result = run_ov_eval(["--list-vocabulary"])
    assert result.returncode == 0 and result.stderr == ""
    rows = result.stdout.splitlines()
    assert rows[:2] == ["| key | name | what it does |", "| --- | --- | --- |"]
    assert "| `filter.steps` | `leading_letter` | flexible-extract: the letter of a leading `X.`; else the response " \
           "unchanged, marked as nothing extracted. |" in rows
    assert "| `target.transform` | `index_to_letter` | An option index 0, 1, 2, ... as the letter A, B, C, ... |" \
        in rows
    assert all(re.fullmatch(r"\| `[^|]+` \| `[^|]+` \| [^|]+\S \|", row) for row in rows[2:]), rows
    listed = {row.split("`")[3] for row in rows[2:]}
    assert listed == {*registry.FILTERS, *registry.METRICS, *registry.AGGREGATIONS, "none", "index_to_letter", "true",
                      "COLUMN or [COLUMNS]"}
    assert "| `visual.optional` | `true` | A document whose image fields hold no image is generated text-only " \
           "(mixed text/image benchmarks); without it (default false) such a document is an error of its own, never " \
           "generated. |" in rows


def test_readme_vocabulary_table_is_the_generated_one():
    from ov_eval.scoring.vocabulary import vocabulary_table

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    [table] = re.findall(r"<!-- vocabulary: generated.*?-->\n(.*?)\n<!-- /vocabulary -->", readme, re.DOTALL)
    assert table == vocabulary_table(), "README table is stale: paste `python -m ov_eval --list-vocabulary`"
