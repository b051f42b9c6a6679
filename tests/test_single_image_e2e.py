"""The 17 single-image tasks end to end on a tiny checkpoint and fixture datasets (--limit 2).

Tasks that need an LLM judge run in a second invocation with --predict_only; scoring them without it stops
with an error that names the task.
"""
import json
import math
from pathlib import Path

import pytest

from conftest import read_results, read_samples
from fixtures.single_image import FIXTURES, write_fixture
from ov_eval.cli import main
from ov_eval.reporting.run_files import metric_keys

MATHVISTA_VARIANTS = ["mathvista_testmini_cot", "mathvista_testmini_format", "mathvista_testmini_solution"]
JUDGE_TASKS = [*MATHVISTA_VARIANTS, "llava_in_the_wild", "mmvet", "mathverse_testmini_vision_intensive",
               "mathverse_testmini_vision_only"]
SCORED_TASKS = [name for name in FIXTURES if name not in JUDGE_TASKS]


@pytest.fixture(scope="module")
def fixture_paths(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("single_image_data")
    paths = {task: write_fixture(task, folder) for task in FIXTURES}
    return paths | dict.fromkeys(MATHVISTA_VARIANTS, paths["mathvista_testmini_format"])  # one fixture, 3 prompts


def _run(checkpoint: Path, tasks: list[str], paths: dict[str, Path], output: Path, *extra: str,
         members: list[str] | None = None) -> int:
    overrides = [arg for task in members or tasks for arg in ("--dataset_override", f"{task}={paths[task]}")]
    # Random weights rarely stop early: 16 new tokens at most keeps the 1024-token tasks fast on CPU.
    return main(["--model", "llava_onevision", "--model_args", f"pretrained={checkpoint},conv_template=qwen_1_5",
                 "--tasks", ",".join(tasks), "--limit", "2", "--log_samples", "--output_path", str(output),
                 "--workers", "0", "--verbosity", "WARNING", "--gen_kwargs", "max_new_tokens=16", *overrides,
                 *extra])


def _check_samples(output: Path, task: str, keys: list[str], media_fields: list[str]) -> None:
    samples = read_samples(output, task)
    assert [s["doc_id"] for s in samples] == [0, 1]
    for sample in samples:
        assert sample["error"] is None and len(sample["resps"][0]) == 1
        assert isinstance(sample["resps"][0][0], str) and sample["arguments"]["text"]
        assert set(sample["doc"]).isdisjoint(media_fields)  # media are not logged
        json.dumps(sample)
        assert all(isinstance(sample.get(key, 0.0), float) for key in keys)


def test_scored_tasks_write_results_and_samples(tiny_checkpoint, fixture_paths, tmp_path):
    assert _run(tiny_checkpoint, SCORED_TASKS, fixture_paths, tmp_path) == 0
    results = read_results(tmp_path)
    assert set(results["results"]) == set(SCORED_TASKS)
    assert results["groups"] == {}
    assert results["scoring_profile"] == "published"
    for task in SCORED_TASKS:
        entry = results["results"][task]
        keys = metric_keys(entry)
        assert entry["n_samples"] == 2 and entry["n_errors"] == 0
        assert 0 <= entry["n_unresolved"] <= 2
        headline = results["configs"][task]["headline_metric"]
        assert headline in keys
        assert entry[headline] is None or math.isfinite(entry[headline])
        _check_samples(tmp_path, task, keys, results["configs"][task]["visual"]["fields"])
    assert results["configs"]["mmmu_val"]["generation"]["max_new_tokens"] == 16
    assert set(results["results"]["mme"]) >= {"mme_percetion_score,none", "mme_cognition_score,none"}
    assert results["results"]["mme"]["mme_cognition_score,none"] is None  # the first two rows are perception


def test_judge_tasks_run_with_predict_only_and_groups(tiny_checkpoint, fixture_paths, tmp_path):
    groups = ["mathvista_testmini", "mathverse_testmini_vision"]
    tasks = ["llava_in_the_wild", "mmvet", *groups]
    assert _run(tiny_checkpoint, tasks, fixture_paths, tmp_path, "--predict_only", members=JUDGE_TASKS) == 0
    results = read_results(tmp_path)
    assert set(results["results"]) == set(JUDGE_TASKS)
    assert set(results["groups"]) == set(groups)
    assert results["groups"]["mathvista_testmini"]["n_samples"] == 6  # three variants, two docs each
    prompts = [read_samples(tmp_path, name)[1]["arguments"]["text"] for name in MATHVISTA_VARIANTS]
    assert prompts[0].startswith("Question: How many dots") and prompts[2] == prompts[0] + "\nSolution:"
    for task in JUDGE_TASKS:
        entry = results["results"][task]
        assert entry["n_samples"] == 2 and entry["n_errors"] == 0
        assert all(value is None for key, value in entry.items() if "," in key and "_stderr," not in key)
        _check_samples(tmp_path, task, [], results["configs"][task]["visual"]["fields"])


def test_judge_task_scored_without_predict_only_names_the_task(tiny_checkpoint, fixture_paths, tmp_path, capsys):
    assert _run(tiny_checkpoint, ["mmvet"], fixture_paths, tmp_path, "--limit", "1") == 2
    error = capsys.readouterr().err
    assert "task 'mmvet' needs an LLM judge" in error and "--predict_only" in error
    assert not list(tmp_path.glob("*/*_results.json"))
