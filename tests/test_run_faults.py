"""Faults during a run: per-sample input faults recorded on their sample, Ctrl-C, two runs on one folder."""
import os
import re
import signal
import subprocess
import sys
import time

import datasets
import pytest

from conftest import REPO, read_results, read_samples, run_ov_eval, subprocess_env
from ov_eval.cli import main
from ov_eval.reporting.results import model_folder_name
from test_pipeline_e2e import eval_args, journal_lines

COLOURS = REPO / "tasks/demo/data/colours.parquet"


def faulty_colours(tmp_path):
    """demo_colours with doc 1's question not UTF-8, doc 2's image corrupt and doc 3's question far too long."""
    rows = datasets.load_dataset("parquet", data_files=str(COLOURS), split="train").cast_column(
        "image", datasets.Image(decode=False)).to_list()
    for row in rows:
        row["question"] = row["question"].encode("utf-8")
    rows[1]["question"] = b"\xff\xfe what colour?"
    rows[2]["image"] = {"bytes": b"\x89PNG not really", "path": None}
    rows[3]["question"] = b"colour " * 40000
    features = datasets.Features({"image": datasets.Image(), "question": datasets.Value("binary"),
                                  "answer": datasets.Value("string")})
    path = tmp_path / "faulty.parquet"
    datasets.Dataset.from_list(rows, features=features).to_parquet(str(path))
    return path


def test_input_faults_are_errors_of_their_sample_and_never_reach_generate(tiny_checkpoint, tmp_path, monkeypatch):
    calls = tmp_path / "calls.log"
    monkeypatch.setenv("OV_TEST_CALL_LOG", str(calls))
    monkeypatch.syspath_prepend(str(REPO / "tests"))
    out = tmp_path / "out"
    data = faulty_colours(tmp_path)
    assert main(eval_args(tiny_checkpoint, out, "demo_colours", "--dataset_override", f"demo_colours={data}",
                          model="ovtest_adapters:CountingAdapter")) == 0
    assert len(calls.read_text().splitlines()) == 5  # the three faulty samples never reach generate
    entry = read_results(out)["results"]["demo_colours"]
    assert (entry["n_samples"], entry["n_errors"]) == (8, 3)
    samples = read_samples(out, "demo_colours")
    assert samples[1]["error"] == "task 'demo_colours', doc 1, field 'question': not UTF-8 text (byte 0xff at position 0)"
    assert samples[2]["error"] == ("task 'demo_colours', doc 2, column 'image': cannot decode image: cannot identify "
                                   "image file <_io.BytesIO object>")
    match = re.fullmatch(r"task 'demo_colours', doc 3: prompt of (\d+) tokens exceeds the model's context of 32768",
                         samples[3]["error"])
    assert match and int(match[1]) > 32768
    assert [i for i, s in enumerate(samples) if s["error"] is None] == [0, 4, 5, 6, 7]
    question = datasets.load_dataset("parquet", data_files=str(COLOURS), split="train")[0]["question"]
    assert question in samples[0]["arguments"]["text"] and "b'" not in samples[0]["arguments"]["text"]


def start_slow_run(ckpt, out, calls, delay="0.5", ready=lambda process: journal_lines(process.out) >= 1):
    args = eval_args(ckpt, out, "demo_colours", model="ovtest_adapters:CountingAdapter")
    env = subprocess_env(OV_TEST_CALL_LOG=str(calls), OV_TEST_DELAY=delay)
    process = subprocess.Popen([sys.executable, "-m", "ov_eval", *args], cwd=REPO, env=env, text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    process.out = out
    deadline = time.monotonic() + 180
    while not ready(process) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, process.stderr.read()
    return process, args


@pytest.mark.parametrize("stop, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl_c", "sigterm"])
def test_a_stopped_run_says_what_is_kept_and_the_rerun_resumes(tiny_checkpoint, tmp_path, stop, status):
    # SIGTERM (what schedulers send) behaves as Ctrl-C does, with its own exit status
    out, calls = tmp_path / "out", tmp_path / "calls.log"
    process, args = start_slow_run(tiny_checkpoint, out, calls)
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=120)
    journaled = journal_lines(out)
    assert 1 <= journaled < 8
    assert process.returncode == status
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if "interrupted" in line] == [
        f"interrupted: {journaled} samples journaled; run the same command again to resume"]
    assert stderr.splitlines()[-1].startswith("interrupted: ")
    first_calls = len(calls.read_text().splitlines())
    assert first_calls >= journaled

    resumed = run_ov_eval(args, OV_TEST_CALL_LOG=str(calls), OV_TEST_DELAY="0")
    assert resumed.returncode == 0, resumed.stderr
    assert len(calls.read_text().splitlines()) - first_calls == 8 - journaled
    assert read_results(out)["results"]["demo_colours"]["n_samples"] == 8
    folder = out / model_folder_name("llava_onevision", {"pretrained": str(tiny_checkpoint)})
    assert not [name for name in os.listdir(folder) if name.endswith(".tmp")]


def test_a_second_run_on_the_same_folder_stops_at_once(tiny_checkpoint, tmp_path):
    out, calls = tmp_path / "out", tmp_path / "calls.log"
    folder = out / model_folder_name("llava_onevision", {"pretrained": str(tiny_checkpoint)})
    lock = folder / ".lock"

    def holds_lock(process):
        return lock.is_file() and lock.read_text().strip() == str(process.pid)

    first, args = start_slow_run(tiny_checkpoint, out, calls, delay="60", ready=holds_lock)  # busy all along
    second = run_ov_eval(args, OV_TEST_CALL_LOG=str(tmp_path / "second.log"))
    assert second.returncode == 2
    assert "Traceback" not in second.stderr
    assert second.stderr.strip().splitlines() == [
        f"ov_eval: error: another ov_eval run (pid {first.pid}) is using {folder}"]
    assert not (tmp_path / "second.log").exists() and journal_lines(out) == 0  # the second generated nothing
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=120)
    assert first.returncode == 130
