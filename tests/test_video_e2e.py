"""The video and multi-image tasks end to end on a tiny checkpoint and fixture datasets (--limit 2), and the
submission files written from the run's logged samples (and regenerated from the run folder byte for byte)."""
import json
from pathlib import Path

import pytest

from conftest import read_results, read_samples
from fixtures.video_multi import FIXTURES, write_fixture
from ov_eval.cli import main
from ov_eval.reporting.submissions import write_submissions

JUDGE_TASKS = ["activitynetqa", "videochatgpt_gen", "videochatgpt_temporal", "videochatgpt_consistency",
               "video_dc499"]
SCORED_TASKS = [name for name in FIXTURES if name not in JUDGE_TASKS]
GROUPED = {"videochatgpt": ["videochatgpt_gen", "videochatgpt_temporal", "videochatgpt_consistency"],
           "llava_interleave_bench": ["llava_interleave_bench_in_domain", "llava_interleave_bench_out_domain",
                                      "llava_interleave_bench_multi_view"]}


@pytest.fixture(scope="module")
def fixture_paths(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("video_multi_e2e")
    return {task: write_fixture(task, folder) for task in FIXTURES}


def _run(checkpoint: Path, tasks: list[str], members: list[str], paths: dict[str, Path], output: Path,
         *extra: str) -> int:
    overrides = [arg for task in members for arg in ("--dataset_override", f"{task}={paths[task]}")]
    # 2 frames instead of 32 keep the tiny model fast on CPU (frame sampling has its own tests and bench).
    return main(["--model", "llava_onevision", "--model_args",
                 f"pretrained={checkpoint},conv_template=qwen_1_5,max_frames_num=2",
                 "--tasks", ",".join(tasks), "--limit", "2", "--log_samples", "--output_path", str(output),
                 "--workers", "0", "--verbosity", "WARNING", "--gen_kwargs", "max_new_tokens=8", *overrides, *extra])


@pytest.fixture(scope="module")
def scored_run(tiny_checkpoint, fixture_paths, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("scored_run")
    tasks = [t for t in SCORED_TASKS if t not in GROUPED["llava_interleave_bench"]] + ["llava_interleave_bench"]
    assert _run(tiny_checkpoint, tasks, SCORED_TASKS, fixture_paths, output) == 0
    return output


def test_scored_tasks_write_results_and_samples(scored_run):
    results = read_results(scored_run)
    assert set(results["results"]) == set(SCORED_TASKS)
    for task in SCORED_TASKS:
        entry = results["results"][task]
        assert entry["n_samples"] == 2 and entry["n_errors"] == 0, (task, entry)
        headline = results["configs"][task]["headline_metric"]
        assert headline in entry
        value = entry[headline]
        if task in ("egoschema", "mmmu_test"):
            assert value is None  # labels hidden: submission only
        else:
            assert isinstance(value, float) and 0.0 <= value <= 100.0
        samples = read_samples(scored_run, task)
        assert [s["doc_id"] for s in samples] == [0, 1]
        for sample in samples:
            assert sample["error"] is None and isinstance(sample["resps"][0][0], str)
            if results["configs"][task]["visual"]["kind"] == "image":  # media are not logged
                assert set(sample["doc"]).isdisjoint(results["configs"][task]["visual"]["fields"])
    group = results["groups"]["llava_interleave_bench"]
    members = [results["results"][m] for m in GROUPED["llava_interleave_bench"]]
    expected = sum(m["overall_score,none"] * 2 for m in members) / 6
    assert group["overall_score,none"] == pytest.approx(expected) and group["n_samples"] == 6
    video_tokens = read_samples(scored_run, "videomme")[0]["image_tokens"]
    assert video_tokens > 0


def test_judge_tasks_generate_with_predict_only(tiny_checkpoint, fixture_paths, tmp_path):
    tasks = ["activitynetqa", "videochatgpt", "video_dc499"]
    assert _run(tiny_checkpoint, tasks, JUDGE_TASKS, fixture_paths, tmp_path, "--predict_only") == 0
    results = read_results(tmp_path)
    assert set(results["results"]) == set(JUDGE_TASKS)
    for task in JUDGE_TASKS:
        entry = results["results"][task]
        assert entry["n_samples"] == 2 and entry["n_errors"] == 0
        assert all(v is None for k, v in entry.items() if "," in k and "_stderr," not in k)
        assert len(read_samples(tmp_path, task)) == 2
    assert read_samples(tmp_path, "videochatgpt_consistency")[1]["arguments"]["text"] == (
        "What does the man hold in his hand?")


def test_submission_files_from_the_logged_samples(scored_run, tmp_path):
    profile = read_results(scored_run)["scoring_profile"]
    mmmu = read_samples(scored_run, "mmmu_test")
    [path] = write_submissions(tmp_path, "mmmu_test", mmmu, profile)
    data = json.loads(path.read_text())
    assert data == {s["doc"]["id"]: s["resps"][0][0].strip() for s in mmmu}  # published: raw stripped responses
    ego = read_samples(scored_run, "egoschema")
    [path] = write_submissions(tmp_path, "egoschema", ego, profile)
    data = json.loads(path.read_text())
    assert sorted(data) == sorted(s["doc"]["video_idx"] for s in ego)
    assert all(isinstance(v, int) and -1 <= v <= 4 for v in data.values())

    written_by_run = {p.name: p.read_bytes() for p in (scored_run / "submissions").iterdir()}
    assert sorted(written_by_run) == ["inference_results_egoschema_MC.json",
                                      "inference_results_egoschema_subset_MC.json", "mmmu_test_for_submission.json"]
    assert written_by_run["mmmu_test_for_submission.json"] == (
        tmp_path / "submissions" / "mmmu_test_for_submission.json").read_bytes()

    [run_dir] = [p.parent for p in scored_run.glob("*/*_results.json")]
    assert main(["submit", str(run_dir), "--output_path", str(tmp_path / "again")]) == 0
    regenerated = {p.name: p.read_bytes() for p in (tmp_path / "again" / "submissions").iterdir()}
    assert regenerated == written_by_run  # byte-identical to the files the run wrote
    assert main(["submit", str(run_dir), "--task", "mmmu_test", "--output_path", str(tmp_path / "one")]) == 0
    assert [p.name for p in (tmp_path / "one" / "submissions").iterdir()] == ["mmmu_test_for_submission.json"]
