"""Leaderboard tables (markdown, CSV, HTML) of runs against the published LLaVA-OneVision scores."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ov_eval.errors import OvEvalError
from ov_eval.reporting.html_report import render_html
from ov_eval.reporting.leaderboard import (build_leaderboard, find_results_files, leaderboard_main, load_run,
                                           run_labels, to_markdown)
from ov_eval.reporting.reference import load_reference

PRETRAINED = "lmms-lab/llava-onevision-qwen2-0.5b-ov"
L1 = f"{PRETRAINED} (20250101_120000) [published]"
L2 = f"{PRETRAINED} (20250102_090000) [corrected]"
REF = "llava-onevision-qwen2-0.5b-ov (published)"


def task(metrics: dict[str, float], n: tuple[int, int], headline: str | None, group: str | None = None,
         **extra: Any) -> dict[str, Any]:
    return {"metrics": metrics, "n": n, "headline": headline, "group": group, "extra": extra}


def write_run(folder: Path, date: str, pretrained: str, tasks: dict[str, dict[str, Any]],
              groups: dict[str, dict[str, float]] | None = None, profile: str = "published") -> Path:
    """A results file in this project's layout."""
    results, configs, n_samples = {}, {}, {}
    for name, spec in tasks.items():
        entry: dict[str, Any] = {"alias": name}
        for key, value in spec["metrics"].items():
            metric, _, filter_name = key.partition(",")
            entry[key] = value
            entry[f"{metric}_stderr,{filter_name}"] = "N/A"
        entry.update(n_samples=spec["n"][0], n_errors=0, n_unresolved=0, **spec["extra"])
        results[name] = entry
        configs[name] = {"task": name, "group": [spec["group"]] if spec["group"] else [],
                         "headline_metric": spec["headline"], "version": 1}
        n_samples[name] = {"original": spec["n"][1], "effective": spec["n"][0]}
    data = {
        "results": results,
        "groups": {g: {"alias": g, **metrics, "n_samples": 0} for g, metrics in (groups or {}).items()},
        "configs": configs,
        "versions": {name: 1 for name in tasks},
        "n-samples": n_samples,
        "higher_is_better": {},
        "config": {"model": "llava_onevision", "model_args": {"pretrained": pretrained, "conv_template": "qwen_1_5"},
                   "scoring_profile": profile},
        "model": {"model": "llava_onevision"},
        "provenance": {},
        "scoring_profile": profile,
        "date": date,
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{date}_results.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def write_run_a(root: Path) -> Path:
    return write_run(root / "run_a" / "lmms-lab__llava-onevision-qwen2-0.5b-ov", "20250101_120000", PRETRAINED, {
        "ai2d": task({"exact_match,flexible-extract": 0.5712}, (3088, 3088), "exact_match,flexible-extract"),
        "mme": task({"mme_percetion_score,none": 1250.5, "mme_cognition_score,none": 230.25}, (2374, 2374),
                    "mme_percetion_score,none"),
        "mathverse_testmini_vision_intensive": task({"gpt_eval_score,none": 20.0}, (788, 788),
                                                    "gpt_eval_score,none", "mathverse_testmini_vision"),
        "mathverse_testmini_vision_only": task({"gpt_eval_score,none": 16.0}, (788, 788),
                                               "gpt_eval_score,none", "mathverse_testmini_vision"),
        "muirbench": task({"muirbench_score_overall,flexible-extract": 0.25}, (100, 2600),
                          "muirbench_score_overall,flexible-extract"),
        "activitynetqa": task({"gpt_eval_accuracy,none": 48.0, "gpt_eval_score,none": 3.1}, (800, 800),
                              "gpt_eval_accuracy,none", n_judged=797, n_judge_errors=3),
        "demo_colours": task({"exact_match,none": 0.5}, (8, 8), None),
    }, groups={"mathverse_testmini_vision": {"gpt_eval_score,none": 18.0}})


def write_run_b(root: Path) -> Path:
    """A rerun under the corrected profile, whose keys fix the reference's 'percetion' typo."""
    return write_run(root / "run_b" / "lmms-lab__llava-onevision-qwen2-0.5b-ov", "20250102_090000", PRETRAINED, {
        "ai2d": task({"exact_match,flexible-extract": 0.55}, (3088, 3088), "exact_match,flexible-extract"),
        "mme": task({"mme_perception_score,none": 1240.0, "mme_cognition_score,none": 241.0}, (2374, 2374),
                    "mme_perception_score,none"),
        "videomme": task({"videomme_perception_score,none": 45.0}, (2700, 2700), "videomme_perception_score,none"),
        "demo_colours": task({"exact_match,none": 0.75}, (8, 8), "exact_match,none"),
    }, profile="corrected")


MUIR = "muirbench | muirbench_score_overall,flexible-extract"
EXPECTED_MARKDOWN = f"""\
| group | task | metric | {REF} | {L1} | {L2} | Δ {L1} vs ref | Δ {L2} vs ref | note |
|---|---|---|---:|---:|---:|---:|---:|---|
| image | ai2d | exact_match,flexible-extract | 57.10 | 57.12 | 55.00 | +0.02 | -2.10 |  |
| image | mathverse_testmini_vision | gpt_eval_score,none | 17.90 | 18.00 | - | +0.10 | - |  |
| image | mme | mme_percetion_score,none | 1238.00 | 1250.50 | 1240.00 | +12.50 | +2.00 |  |
| image | mme | mme_cognition_score,none | 240.00 | 230.25 | 241.00 | -9.75 | +1.00 |  |
| image | mathverse_testmini_vision_intensive | gpt_eval_score,none | - | 20.00 | - | - | - |  |
| image | mathverse_testmini_vision_only | gpt_eval_score,none | - | 16.00 | - | - | - |  |
| multi-image | {MUIR} | 25.50 | 25.00 | - | -0.50 | - | {L1}: n=100/2600 |
| video | activitynetqa | gpt_eval_accuracy,none | 50.50 | 48.00 | - | -2.50 | - | {L1}: judge errors: 3 |
| video | videomme | videomme_percetion_score,none | 44.00 | - | 45.00 | - | +1.00 |  |
| other | demo_colours | exact_match,none | - | 0.50 | 0.75 | - | - |  |
"""

EXPECTED_CSV = f"""\
group,task,metric,{REF},{L1},{L2},Δ {L1} vs ref,Δ {L2} vs ref,{L1} stderr,{L2} stderr,\
{L1} CI95 excludes published,{L2} CI95 excludes published,note
image,ai2d,"exact_match,flexible-extract",57.10,57.12,55.00,0.02,-2.10,,,,,
image,mathverse_testmini_vision,"gpt_eval_score,none",17.90,18.00,,0.10,,,,,,
image,mme,"mme_percetion_score,none",1238.00,1250.50,1240.00,12.50,2.00,,,,,
image,mme,"mme_cognition_score,none",240.00,230.25,241.00,-9.75,1.00,,,,,
image,mathverse_testmini_vision_intensive,"gpt_eval_score,none",,20.00,,,,,,,,
image,mathverse_testmini_vision_only,"gpt_eval_score,none",,16.00,,,,,,,,
multi-image,muirbench,"muirbench_score_overall,flexible-extract",25.50,25.00,,-0.50,,,,,,{L1}: n=100/2600
video,activitynetqa,"gpt_eval_accuracy,none",50.50,48.00,,-2.50,,,,,,{L1}: judge errors: 3
video,videomme,"videomme_percetion_score,none",44.00,,45.00,,1.00,,,,,
other,demo_colours,"exact_match,none",,0.50,0.75,,,,,,,
"""


@pytest.fixture()
def two_runs(tmp_path: Path) -> list[Path]:
    return [write_run_a(tmp_path), write_run_b(tmp_path)]


def test_markdown_table_of_two_runs_against_the_reference(two_runs, capsys):
    assert leaderboard_main([str(p.parent) for p in two_runs]) == 0
    assert capsys.readouterr().out == EXPECTED_MARKDOWN


def test_csv_table_of_two_runs_from_a_glob(two_runs, tmp_path, capsys):
    assert leaderboard_main([str(tmp_path / "run_*" / "*" / "*_results.json"), "--format", "csv"]) == 0
    assert capsys.readouterr().out == EXPECTED_CSV


def test_output_file_and_format_from_its_suffix(two_runs, tmp_path, capsys):
    out = tmp_path / "board.csv"
    assert leaderboard_main([str(tmp_path / "run_a"), str(tmp_path / "run_b"), "--output", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert out.read_text(encoding="utf-8") == EXPECTED_CSV


def test_single_run_note_has_no_run_prefix_and_shows_both_notes(tmp_path):
    path = write_run(tmp_path / "r", "20250301_000000", "/ckpt/my-finetune", {
        "mmvet": task({"gpt_eval_score,none": 30.0}, (200, 218), "gpt_eval_score,none", n_judge_errors=2),
    })
    board = build_leaderboard([load_run(path)], load_reference(), "llava-onevision-qwen2-7b-ov")
    assert to_markdown(board) == (
        "| group | task | metric | llava-onevision-qwen2-7b-ov (published) | /ckpt/my-finetune [published] "
        "| Δ /ckpt/my-finetune [published] vs ref | note |\n"
        "|---|---|---|---:|---:|---:|---|\n"
        "| image | mmvet | gpt_eval_score,none | 57.50 | 30.00 | -27.50 | n=200/218, judge errors: 2 |\n")


REFERENCE_HARNESS_RESULTS = {
    "results": {
        "chartqa": {"alias": "chartqa", "relaxed_human_split,none": 0.7, "relaxed_human_split_stderr,none": 0.01,
                    "relaxed_overall,none": 0.79, "relaxed_overall_stderr,none": 0.008,
                    "relaxed_augmented_split,none": 0.88, "relaxed_augmented_split_stderr,none": 0.009},
        "mmbench_en_dev": {"alias": "mmbench_en_dev", "gpt_eval_score,none": 80.3,
                           "gpt_eval_score_stderr,none": "N/A", "submission,none": None,
                           "submission_stderr,none": "N/A"},
    },
    "group_subtasks": {"chartqa": [], "mmbench_en_dev": []},
    "configs": {"chartqa": {"task": "chartqa", "dataset_path": "lmms-lab/ChartQA", "test_split": "test"},
                "mmbench_en_dev": {"task": "mmbench_en_dev", "dataset_path": "lmms-lab/MMBench"}},
    "versions": {"chartqa": "Yaml", "mmbench_en_dev": "Yaml"},
    "n-shot": {"chartqa": 0, "mmbench_en_dev": 0},
    "higher_is_better": {"chartqa": {"relaxed_overall": True}},
    "n-samples": {"chartqa": {"original": 2500, "effective": 2500},
                  "mmbench_en_dev": {"original": 4377, "effective": 4377}},
    "config": {"model": "llava_onevision",
               "model_args": "pretrained=lmms-lab/llava-onevision-qwen2-7b-ov,conv_template=qwen_1_5,"
                             "model_name=llava_qwen",
               "batch_size": "1", "device": None},
    "git_hash": "3f89773",
    "date": "20240815_101010",
}


def test_reference_harness_results_json(tmp_path, capsys):
    folder = tmp_path / "lmms_eval_logs" / "llava_onevision"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(REFERENCE_HARNESS_RESULTS), encoding="utf-8")
    # Without --reference the run's own model is published, so it is the one compared with.
    assert leaderboard_main([str(tmp_path / "lmms_eval_logs"), "--format", "csv"]) == 0
    assert capsys.readouterr().out == (
        "group,task,metric,llava-onevision-qwen2-7b-ov (published),lmms-lab/llava-onevision-qwen2-7b-ov,"
        "Δ lmms-lab/llava-onevision-qwen2-7b-ov vs ref,lmms-lab/llava-onevision-qwen2-7b-ov stderr,"
        "lmms-lab/llava-onevision-qwen2-7b-ov CI95 excludes published,note\n"
        'image,chartqa,"relaxed_overall,none",80.00,79.00,-1.00,0.80,,\n'
        'image,mmbench_en_dev,"gpt_eval_score,none",80.80,80.30,-0.50,,,\n')


def test_reference_flag_overrides_the_guess(tmp_path, capsys):
    (tmp_path / "results.json").write_text(json.dumps(REFERENCE_HARNESS_RESULTS), encoding="utf-8")
    assert leaderboard_main([str(tmp_path / "results.json"), "--reference", "llava-onevision-qwen2-72b-si"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "| image | chartqa | relaxed_overall,none | 84.90 | 79.00 ± 0.80 | -5.90 |  |"


def test_run_labels_disambiguate_by_date_then_by_number(two_runs):
    run_a, run_b = (load_run(p) for p in two_runs)
    assert run_labels([run_a, run_b]) == [L1, L2]
    assert run_labels([run_a, run_a]) == [f"{L1} #1", f"{L1} #2"]
    assert run_labels([run_a]) == [f"{PRETRAINED} [published]"]


def test_find_results_files_in_run_dirs_files_and_globs(two_runs, tmp_path):
    (tmp_path / "run_a" / "notes.json").write_text("{}", encoding="utf-8")
    assert find_results_files([str(tmp_path)]) == two_runs
    assert find_results_files([str(two_runs[1]), str(tmp_path / "run_*")]) == [two_runs[1], two_runs[0]]


@pytest.mark.parametrize("argv, message", [
    (["{tmp}/nothing_*"], "{tmp}/nothing_*: no results file found (looked for *_results.json and results.json)"),
    (["{tmp}", "--reference", "llava-onevision-qwen2-7b-0v"],
     "--reference: unknown model 'llava-onevision-qwen2-7b-0v' (did you mean 'llava-onevision-qwen2-7b-ov'?); "
     "known: llava-onevision-qwen2-0.5b-si, llava-onevision-qwen2-0.5b-ov, llava-onevision-qwen2-7b-si, "
     "llava-onevision-qwen2-7b-ov, llava-onevision-qwen2-72b-si, llava-onevision-qwen2-72b-ov"),
    (["{tmp}", "--format", "xlsx"],
     "ov_eval leaderboard: argument --format: invalid choice: 'xlsx' (choose from md, csv, html)"),
    (["{tmp}", "--refrence", "x"], "ov_eval leaderboard: unknown flag '--refrence' (did you mean '--reference'?)"),
])
def test_cli_errors_name_the_culprit(two_runs, tmp_path, argv, message):
    with pytest.raises(OvEvalError) as caught:
        leaderboard_main([a.format(tmp=tmp_path) for a in argv])
    assert str(caught.value).replace("'md', 'csv', 'html'", "md, csv, html") == message.format(tmp=tmp_path)


def test_bad_results_files_name_the_file(tmp_path):
    broken = tmp_path / "a_results.json"
    broken.write_text('{"results": {', encoding="utf-8")
    with pytest.raises(OvEvalError, match=re.escape(f"{broken}:1: not valid JSON: ")):
        load_run(broken)
    other = tmp_path / "results.json"
    other.write_text('{"accuracy": 1}', encoding="utf-8")
    with pytest.raises(OvEvalError, match=re.escape(f"{other}: not a results file (no 'results' mapping)")):
        load_run(other)


def test_published_scores_csv():
    reference = load_reference()
    assert len(reference.scores) == 153
    assert reference.models() == [f"llava-onevision-qwen2-{s}-{k}" for s in ("0.5b", "7b", "72b") for k in ("si", "ov")]
    mme = reference.find("mme", "mme_percetion_score,none", "llava-onevision-qwen2-0.5b-ov")
    assert (mme.benchmark, mme.scale, mme.score) == ("MME perception", 1.0, 1238.0)
    assert reference.find("mme", "mme_perception_score,none", "llava-onevision-qwen2-72b-ov").score == 1682.0
    assert reference.find("videochatgpt", "gpt_eval_score,none", "llava-onevision-qwen2-7b-si").score == 3.54
    assert reference.find("llava_interleave_bench", "overall_score,none", "llava-onevision-qwen2-7b-si") is None
    assert reference.metric_keys("mme") == ["mme_percetion_score,none", "mme_cognition_score,none"]


@pytest.mark.parametrize("row, message", [
    ("AI2D,ai2d,\"exact_match,none\",100,m,fifty,src", "{path}:3: column 'score' is not a number: 'fifty'"),
    ("AI2D,ai2d,exact_match,100,m,50,src", "{path}:3: metric_key 'exact_match' is not of the form metric,filter"),
    ("AI2D,ai2d,\"exact_match,none\",100,m,50", "{path}:3: expected 7 fields"),
    ("AI2D,ai2d,\"exact_match,none\",1,m2,50,src",
     "{path}: task 'ai2d', metric 'exact_match,none' has scales 100 and 1; one metric has one scale"),
    ("AI2D,ai2d,\"exact_match,none\",100,m,51,src",
     "{path}:3: duplicate row for task 'ai2d', metric 'exact_match,none', model 'm'"),
])
def test_bad_reference_csv_names_file_and_line(tmp_path, row, message):
    path = tmp_path / "ref.csv"
    path.write_text("benchmark,task,metric_key,scale,model,score,source\n"
                    "AI2D,ai2d,\"exact_match,none\",100,m,50,src\n" + row + "\n", encoding="utf-8")
    with pytest.raises(OvEvalError) as caught:
        load_reference(path)
    assert str(caught.value) == message.format(path=path)


def test_reference_csv_with_wrong_columns(tmp_path):
    path = tmp_path / "ref.csv"
    path.write_text("benchmark,task,metric,scale,model,score,source\n", encoding="utf-8")
    with pytest.raises(OvEvalError, match=re.escape(f"{path}:1: expected columns benchmark,task,metric_key,")):
        load_reference(path)


def _html_with_hostile_names(tmp_path: Path) -> str:
    hostile = write_run(tmp_path / "run_c", "20250103_000000", "evil<script>alert(1)</script>", {
        '<script>alert("task")</script>': task({"exact_match,none": 0.5}, (4, 8), "exact_match,none"),
    })
    runs = [load_run(write_run_a(tmp_path)), load_run(write_run_b(tmp_path)), load_run(hostile)]
    return render_html(build_leaderboard(runs, load_reference(), "llava-onevision-qwen2-0.5b-ov"))


def test_html_report_is_self_contained_with_one_chart_per_metric_kind(tmp_path):
    html = _html_with_hostile_names(tmp_path)
    assert html.count("<svg") == 4
    assert re.findall(r'<svg class="chart" data-kind="([^"]*)"', html) == ["percent", "MME points", "fraction 0-1",
                                                                          "other"]
    assert re.findall(r'<tr class="section"><th colspan="\d+">([^<]*)</th>', html) == [
        "image", "multi-image", "video", "other"]
    assert html.count("<tr>") == (1 + 3) + (1 + 11)  # the legend of three runs, then the table
    assert "<script" not in html and "http" not in html and "<link" not in html and "src=" not in html
    assert "&lt;script&gt;alert(&quot;task&quot;)&lt;/script&gt;" in html
    assert "evil&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "n=4/8" in html


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no headless browser: install the Debian package `chromium` "
                                             "to render the HTML report in this test")
def test_html_report_renders_in_headless_chromium(tmp_path):
    page = tmp_path / "board.html"
    page.write_text(_html_with_hostile_names(tmp_path), encoding="utf-8")
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
               f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*browser, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    body = dom.split("<tbody>", 2)[2].split("</tbody>", 1)[0]
    assert body.count("<tr>") == 11
    assert dom.count("<svg") == 4
    assert "<script" not in dom
    shot = tmp_path / "board.png"
    subprocess.run([*browser, f"--screenshot={shot}", "--window-size=1400,2400", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_mmmu_group_holds_val_and_test_and_its_row_stays_mmmu_vals(tmp_path, capsys):
    """`--tasks mmmu` runs mmmu_val and mmmu_test (its submission file); the published MMMU row is mmmu_val's."""
    from ov_eval.registry import task_index

    assert task_index().scored_groups(["mmmu"]) == {"mmmu": ["mmmu_test", "mmmu_val"]}
    path = write_run(tmp_path / "run", "20250103_100000", PRETRAINED, {
        "mmmu_val": task({"mmmu_acc,none": 0.3}, (900, 900), "mmmu_acc,none", "mmmu"),
        "mmmu_test": task({"submission,none": None}, (10500, 10500), "submission,none", "mmmu"),
    }, groups={"mmmu": {}})
    assert leaderboard_main([str(path), "--format", "csv"]) == 0
    run = f"{PRETRAINED} [published]"
    assert capsys.readouterr().out == (f"group,task,metric,{REF},{run},Δ {run} vs ref,{run} stderr,"
                                       f"{run} CI95 excludes published,note\n"
                                       'image,mmmu_val,"mmmu_acc,none",31.40,30.00,-1.40,,,\n'
                                       'image,mmmu_test,"submission,none",,,,,,\n')
def _named_run(root: Path, name: str, date: str, profile: str, value: float, interval: list[float],
               rescored_from: str | None = None) -> Path:
    path = write_run(root / name, date, PRETRAINED, {
        "ai2d": task({"exact_match,flexible-extract": value}, (3088, 3088), "exact_match,flexible-extract"),
        "my_bench": task({"exact_match,none": 0.5}, (10, 10), "exact_match,none", "my_suite"),
    }, profile=profile)
    data = json.loads(path.read_text())
    entry = data["results"]["ai2d"]
    entry["exact_match_stderr,flexible-extract"], entry["exact_match_ci95,flexible-extract"] = 0.0089, interval
    data["config"]["run_name"] = name
    if rescored_from:
        data["rescored_from"] = {"results": f"{rescored_from}_results.json", "date": rescored_from}
    path.write_text(json.dumps(data))
    return path


def test_runs_are_named_by_run_name_profile_and_rescoring_with_stderr_and_interval_marks(tmp_path, capsys):
    a = _named_run(tmp_path, "bs1", "20250101_120000", "published", 0.5712, [0.5537, 0.5887])
    b = _named_run(tmp_path, "bs8", "20250102_120000", "corrected", 0.5400, [0.5225, 0.5575], "20250102_000000")
    assert leaderboard_main([str(a), str(b)]) == 0
    A, B = "bs1 [published]", "bs8 [corrected, rescored from 20250102_000000]"
    assert capsys.readouterr().out == (
        f"| group | task | metric | {REF} | {A} | {B} | Δ {A} vs ref | Δ {B} vs ref | note |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---|\n"
        "| image | ai2d | exact_match,flexible-extract | 57.10 | 57.12 ± 0.89 | 54.00 ± 0.89 † | +0.02 | -3.10 |  |\n"
        "| my_suite | my_bench | exact_match,none | - | 0.50 | 0.50 | - | - |  |\n"
        "\n†: the run's 95% interval excludes the published figure.\n")
    assert leaderboard_main([str(a), str(b), "--labels", "baseline,batched"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert f"| {REF} | baseline [published] | batched [corrected, rescored from 20250102_000000] |" in header


def test_labels_must_match_the_runs(tmp_path):
    a = _named_run(tmp_path, "bs1", "20250101_120000", "published", 0.5712, [0.5537, 0.5887])
    with pytest.raises(OvEvalError) as caught:
        leaderboard_main([str(a), "--labels", "x,y"])
    assert str(caught.value) == f"--labels: 2 label(s) for 1 run(s) ({a}); give one non-empty label per run"


@pytest.mark.skipif(CHROMIUM is None, reason="no headless browser: install the Debian package `chromium` "
                                             "to render the HTML report in this test")
def test_html_report_fits_1280_pixels_with_long_notes_wrapped(tmp_path):
    long_name = "/scratch/checkpoints/" + "a-very-long-fine-tune-name-" * 4 + "step-120000"
    runs = [load_run(write_run(tmp_path / f"r{i}", f"2025010{i}_000000", long_name + str(i), {
        "mmvet": task({"gpt_eval_score,none": 30.0 + i}, (200, 218), "gpt_eval_score,none", n_judge_errors=2),
        "ai2d": task({"exact_match,flexible-extract": 0.5}, (30, 3088), "exact_match,flexible-extract"),
    })) for i in range(1, 4)]
    html = render_html(build_leaderboard(runs, load_reference(), "llava-onevision-qwen2-7b-ov"))
    probe = "<script>document.body.dataset.scrollWidth = document.scrollingElement.scrollWidth</script>"
    page = tmp_path / "board.html"
    page.write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
               "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900"]
    dom = subprocess.run([*browser, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    assert int(re.search(r'data-scroll-width="(\d+)"', dom).group(1)) <= 1280
    subprocess.run([*browser, f"--screenshot={tmp_path / 'board.png'}", page.as_uri()], capture_output=True,
                   timeout=120, check=True)
    assert (tmp_path / "board.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
