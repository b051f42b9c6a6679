"""Several processes and several machines: a stalled rank is named, two loopback "machines" equal one process,
a lost machine stops the run and a rerun resumes, and the GPUs each local process gets."""
import json
import signal
import subprocess
import sys
import time

import psutil
import pytest

from conftest import (REPO, accelerate_launcher, free_port, metric_values, read_results, run_ov_eval,
                      subprocess_env)
from ov_eval.distributed import process_gpus
from ov_eval.errors import OvEvalError
from test_pipeline_e2e import eval_args, responses

TASKS = "demo_colours,demo_counts"  # 8 + 6 documents


def start_two_machines(args: list[str], logs, **env: str) -> list[subprocess.Popen]:
    """Two launchers on 127.0.0.1, as two machines of one process each would run them."""
    port = free_port()
    launchers = []
    for machine in (0, 1):
        command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_machines=2",
                   f"--machine_rank={machine}", "--main_process_ip=127.0.0.1", f"--main_process_port={port}",
                   "--num_processes=2", "--mixed_precision=no", "--dynamo_backend=no", "--monitor_interval=0.5",
                   "-m", "ov_eval", *args]
        with open(logs / f"machine{machine}.log", "w") as log:
            launchers.append(subprocess.Popen(command, cwd=REPO, env=subprocess_env(**env), stdout=log,
                                              stderr=subprocess.STDOUT))
    return launchers


def wait_all(launchers, logs, timeout=240) -> list[str]:
    for launcher in launchers:
        launcher.wait(timeout=timeout)
    return [(logs / f"machine{m}.log").read_text() for m in (0, 1)]


@pytest.fixture(scope="module")
def one_process(tiny_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("one_process")
    done = run_ov_eval(eval_args(tiny_checkpoint, out, TASKS))
    assert done.returncode == 0, done.stderr
    return out


def journal_records(out) -> dict[str, int]:
    """Complete records per rank journal (a line cut short by SIGKILL does not count)."""
    counts = {}
    for path in sorted(next(out.glob("*/.journal")).glob("rank*.jsonl")):
        complete = 0
        for line in path.read_text(errors="replace").splitlines():
            try:
                json.loads(line)
                complete += 1
            except ValueError:
                pass
        counts[path.name] = complete
    return counts


def test_two_machines_on_loopback_give_the_results_and_responses_of_one_process(tiny_checkpoint, tmp_path,
                                                                                 one_process):
    out = tmp_path / "out"
    launchers = start_two_machines(eval_args(tiny_checkpoint, out, TASKS), tmp_path)
    logs = wait_all(launchers, tmp_path)
    assert [l.returncode for l in launchers] == [0, 0], logs
    assert journal_records(out) == {"rank0.jsonl": 7, "rank1.jsonl": 7}  # global ranks 0 and 1, one per machine
    results = read_results(out)
    assert results["config"]["num_processes"] == 2
    assert metric_values(results) == metric_values(read_results(one_process))
    assert responses(out, TASKS.split(",")) == responses(one_process, TASKS.split(","))


def test_a_lost_machine_stops_both_naming_its_rank_and_a_rerun_resumes(tiny_checkpoint, tmp_path, one_process):
    out, calls = tmp_path / "out", tmp_path / "calls.log"
    args = eval_args(tiny_checkpoint, out, TASKS, "--dist_timeout", "5", model="ovtest_adapters:CountingAdapter")
    launchers = start_two_machines(args, tmp_path, OV_TEST_CALL_LOG=str(calls), OV_TEST_DELAY="0.4")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and launchers[1].poll() is None:
        journals = list(out.glob("*/.journal/rank1.jsonl"))
        if journals and journals[0].read_text().count("\n") >= 2:
            break
        time.sleep(0.05)
    lost_machine = psutil.Process(launchers[1].pid)  # the launcher and its rank-1 worker (a session of its own)
    for process in [lost_machine, *lost_machine.children(recursive=True)]:
        process.send_signal(signal.SIGKILL)
    logs = wait_all(launchers, tmp_path, timeout=120)
    assert launchers[1].returncode == -signal.SIGKILL
    assert launchers[0].returncode != 0
    assert ("ov_eval: error: rank 1 did not reach the gather within 5 s (--dist_timeout): stalled, or its process "
            "or machine was lost; finished samples are journaled, run the same command again to resume") in logs[0]
    assert not list(out.glob("*/*_results.json"))
    journaled = journal_records(out)
    assert journaled["rank0.jsonl"] == 7 and 2 <= journaled["rank1.jsonl"] < 7
    first_calls = len(calls.read_text().splitlines())

    launchers = start_two_machines(args, tmp_path, OV_TEST_CALL_LOG=str(calls), OV_TEST_DELAY="0")
    logs = wait_all(launchers, tmp_path)
    assert [l.returncode for l in launchers] == [0, 0], logs
    assert len(calls.read_text().splitlines()) - first_calls == 7 - journaled["rank1.jsonl"]
    assert metric_values(read_results(out)) == metric_values(read_results(one_process))
    assert responses(out, TASKS.split(",")) == responses(one_process, TASKS.split(","))


def test_a_stalled_rank_is_named_after_the_timeout_and_every_rank_logs_its_progress(tiny_checkpoint, tmp_path):
    done = run_ov_eval(eval_args(tiny_checkpoint, tmp_path, "demo_colours", "--dist_timeout", "4",
                                 "--progress_interval", "1", "--verbosity", "INFO",
                                 model="ovtest_adapters:StallingOnRankOne"), launcher=accelerate_launcher(), timeout=180)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("ov_eval: error:")]
    assert errors == ["ov_eval: error: rank 1 did not reach the gather within 4 s (--dist_timeout): stalled, or "
                      "its process or machine was lost; finished samples are journaled, run the same command "
                      "again to resume"]
    assert "ov_eval.distributed: rank 1 of 2: demo_colours 0/4 samples, last one " in done.stderr
    assert "ov_eval.distributed: rank 0 of 2: waiting at the gather for rank 1 (" in done.stderr
    assert not list(tmp_path.glob("*/*_results.json"))


@pytest.mark.parametrize("flag,value,message", [
    ("--dist_timeout", "soon", "--dist_timeout: 'soon' is not a float"),
    ("--dist_timeout", "0", "--dist_timeout: must be positive, got 0"),
    ("--progress_interval", "-1", "--progress_interval: must be positive, got -1"),
])
def test_bad_timeouts_are_one_line_errors(tiny_checkpoint, tmp_path, flag, value, message):
    done = run_ov_eval(eval_args(tiny_checkpoint, tmp_path, "demo_colours", flag, value))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == f"ov_eval: error: {message}"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("local_processes,visible,per_process,expected", [
    (2, 8, 4, [[0, 1, 2, 3], [4, 5, 6, 7]]),  # 72B in bf16 on 8x80 GB
    (4, 8, 2, [[0, 1], [2, 3], [4, 5], [6, 7]]),
    (8, 8, 1, [[0], [1], [2], [3], [4], [5], [6], [7]]),
    (1, 8, 8, [[0, 1, 2, 3, 4, 5, 6, 7]]),
    (1, 4, 2, [[0, 1]]),  # fewer processes than the GPUs allow: the rest stay idle
])
def test_each_local_process_gets_its_own_consecutive_gpus(local_processes, visible, per_process, expected):
    assert [process_gpus(i, local_processes, visible, per_process) for i in range(local_processes)] == expected


@pytest.mark.parametrize("local_processes,visible,per_process,message", [
    (2, 8, 3, "gpus_per_process=3 does not divide the 8 visible GPUs of this node"),
    (3, 8, 4, "gpus_per_process=4 with 3 processes on this node needs 12 GPUs, 8 are visible"),
    (1, 0, 2, "gpus_per_process=2 with 1 process on this node needs 2 GPUs, 0 are visible"),
])
def test_a_gpu_share_that_does_not_fit_the_node_is_an_error(local_processes, visible, per_process, message):
    with pytest.raises(OvEvalError) as error:
        process_gpus(0, local_processes, visible, per_process)
    assert str(error.value) == f"--model_args: {message}"


@pytest.mark.parametrize("value,message", [
    ("2", "gpus_per_process=2 with 1 process on this node needs 2 GPUs, 0 are visible"),
    ("two", "gpus_per_process must be a positive integer, not 'two'"),
    ("0", "gpus_per_process must be a positive integer, not '0'"),
])
def test_gpus_per_process_on_a_node_without_enough_gpus_is_a_one_line_cli_error(tiny_checkpoint, tmp_path, value,
                                                                                  message):
    args = eval_args(tiny_checkpoint, tmp_path, "demo_colours")
    args[args.index("--model_args") + 1] += f",gpus_per_process={value}"
    done = run_ov_eval(args, CUDA_VISIBLE_DEVICES="")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == f"ov_eval: error: --model_args: {message}"
    assert "Traceback" not in done.stderr
