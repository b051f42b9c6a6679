"""`--config run.yaml` (flags, several runs), strict validation, command-line overrides, and `ov_eval rerun`
repeating a run from its results file alone: answers from the journal, or regenerated when it is gone."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import subprocess
import sys

from conftest import REPO, run_ov_eval, subprocess_env
from fake_openai_server import FakeJudgeServer
from scripted_server import by_document, reply

COLOURS = ["red", "red", "green", "green"]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, message", [
    ("modle: x\n", "unknown key 'modle' (did you mean 'model'?)"),
    ("tasks: demo_colours\nruns:\n  - {run_name: a}\n  - {limmit: 2}\n",
     "runs[1]: unknown key 'limmit' (did you mean 'limit'?)"),
    ("log_samples: yes please\n", "'log_samples' must be true or false, got 'yes please'"),
    ("runs: []\n", "'runs' must be a non-empty list of mappings"),
    ("- a\n", "a run file is a mapping of flag names to values"),
])
def test_a_bad_run_file_is_one_line_naming_the_file_and_key(tmp_path, text, message):
    path = write(tmp_path / "run.yaml", text)
    result = run_ov_eval(["--config", str(path)])
    assert (result.returncode, result.stderr) == (2, f"ov_eval: error: {path}: {message}\n")


def test_rerun_needs_a_results_file_with_recorded_arguments(tmp_path):
    old = write(tmp_path / "old_results.json", json.dumps({"results": {}, "config": {"model": "x"}}))
    result = run_ov_eval(["rerun", str(old)])
    assert (result.returncode, result.stderr) == (2, f"ov_eval: error: {old}: not a results file with recorded "
                                                     "arguments (config.arguments); only runs made by this version "
                                                     "of ov_eval can be repeated\n")
    result = run_ov_eval(["rerun"])
    assert result.returncode == 2 and "rerun: give the results file" in result.stderr


def test_a_sweep_in_a_run_file_with_command_line_overrides(tmp_path):
    out = tmp_path / "out"
    with FakeJudgeServer(by_document(lambda d: reply(COLOURS[d], 10, 1))) as server:
        path = write(tmp_path / "sweep.yaml", f"""
model: openai_compatible
model_args: {{model: scripted, base_url: "{server.url}", max_concurrency: 2}}
tasks: [demo_colours]
limit: 4
output_path: {out}
verbosity: WARNING
runs:
  - {{run_name: first}}
  - {{run_name: second, limit: 3}}
""")
        result = run_ov_eval(["--config", str(path), "--limit", "2"])  # the command line wins over both runs
        assert result.returncode == 0, result.stderr[-3000:]
    files = sorted(out.glob("*/*_results.json"))
    runs = [json.loads(p.read_text()) for p in files]
    assert [r["config"]["run_name"] for r in runs] == ["first", "second"]
    assert [r["results"]["demo_colours"]["n_samples"] for r in runs] == [2, 2]
    arguments = runs[1]["config"]["arguments"]
    assert {k: arguments[k] for k in ("model", "model_args", "tasks", "limit", "run_name", "log_samples")} == {
        "model": "openai_compatible", "model_args": f"model=scripted,base_url={server.url},max_concurrency=2",
        "tasks": "demo_colours", "limit": "2", "run_name": "second", "log_samples": False}
    assert runs[1]["config"]["working_directory"] == str(REPO)


@pytest.fixture(scope="module")
def recorded_run(tiny_checkpoint, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rerun") / "out"
    result = run_ov_eval(["--model", "llava_onevision", "--model_args", f"pretrained={tiny_checkpoint}",
                          "--tasks", "demo_colours,demo_video", "--limit", "2", "--log_samples",
                          "--output_path", str(out), "--gen_kwargs", "max_new_tokens=6", "--verbosity", "WARNING"])
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def answers(path: Path, task: str) -> list:
    return [(s["doc_id"], s["resps"]) for s in read_samples_of(path, task)]


def read_samples_of(results: Path, task: str) -> list[dict]:
    date = results.name.removesuffix("_results.json")
    return [json.loads(line) for line in (results.parent / f"{date}_samples_{task}.jsonl").read_text().splitlines()]


def test_rerun_repeats_the_run_from_the_journal_and_without_it(recorded_run, tmp_path):
    [first] = sorted(recorded_run.glob("*/*_results.json"))
    # from another directory: the recorded working directory is used
    result = subprocess.run([sys.executable, "-m", "ov_eval", "rerun", str(first)], cwd=tmp_path,
                            env=subprocess_env(), capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    shutil.rmtree(first.parent / ".journal")
    result = run_ov_eval(["rerun", str(first)])
    assert result.returncode == 0, result.stderr[-3000:]
    [_, from_journal, regenerated] = sorted(recorded_run.glob("*/*_results.json"))
    for task in ("demo_colours", "demo_video"):
        assert answers(from_journal, task) == answers(first, task) == answers(regenerated, task)
        assert len(answers(first, task)) == 2
    runs = [json.loads(p.read_text()) for p in (first, from_journal, regenerated)]
    assert [r["throughput"]["n_from_journal"] for r in runs] == [0, 4, 0]
    assert [r["throughput"]["n_generated"] for r in runs] == [4, 0, 4]
    assert runs[1]["config"]["arguments"] == runs[0]["config"]["arguments"] == runs[2]["config"]["arguments"]
    assert runs[0]["config"]["arguments"]["gen_kwargs"] == "max_new_tokens=6"
    # the in-process backend's throughput adds up too
    for run in runs:
        tasks = run["results"].values()
        assert sum(t["throughput"]["generation_s"] for t in tasks) <= run["throughput"]["total_s"]
        assert all(t["throughput"]["n_generated"] + t["throughput"]["n_from_journal"] == 2 for t in tasks)
    assert all(t["throughput"]["input_tokens_per_s"] > 0 and "request_latency_s" not in t["throughput"]
               for t in runs[0]["results"].values())
