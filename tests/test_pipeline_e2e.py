"""The pipeline end to end on the tiny checkpoint: outputs, errors, several processes, crash-safe resume."""
import json
import signal
import subprocess
import sys
import time

import datasets

from conftest import (REPO, accelerate_launcher, metric_values, read_results, read_samples, run_ov_eval,
                      subprocess_env)
from ov_eval.cli import main

def eval_args(ckpt, out, tasks, *extra, model="llava_onevision"):
    return ["--model", model, "--model_args", f"pretrained={ckpt},conv_template=qwen_1_5,model_name=llava_qwen",
            "--tasks", tasks, "--batch_size", "1", "--log_samples", "--log_samples_suffix", "llava_onevision",
            "--output_path", str(out), "--verbosity", "WARNING", *extra]


def responses(out, tasks):
    return {t: [(s["doc_id"], s["resps"], s["input_tokens"], s["output_tokens"]) for s in read_samples(out, t)]
            for t in tasks}


def test_demo_group_writes_reference_layout(tiny_checkpoint, tmp_path, capsys):
    assert main(eval_args(tiny_checkpoint, tmp_path, "demo", "--run_name", "tiny demo")) == 0
    table = capsys.readouterr().out
    assert "| demo_shapes | exact_match,flexible-extract |" in table
    assert "[published]" in table.split("Compared with the published")[1].splitlines()[1]
    results = read_results(tmp_path)
    assert set(results) >= {"results", "groups", "configs", "versions", "n-samples", "higher_is_better", "config",
                            "git_hash", "date", "provenance", "model", "scoring_profile", "ov_eval_version"}
    assert results["n-samples"]["demo_shapes"] == {"original": 8, "effective": 8}
    assert results["scoring_profile"] == "published"
    assert results["config"]["num_processes"] == 1
    assert results["config"]["model_args"]["pretrained"] == str(tiny_checkpoint)
    assert results["results"]["demo_colours"]["n_errors"] == 0
    assert set(results["groups"]) == {"demo"}
    assert results["config"]["run_name"] == "tiny demo"
    assert results["uncertainty"]["bootstrap_iters"] == 1000 and results["uncertainty"]["bootstrap_seed"] == 1234
    for name, entry in [*results["results"].items(), *results["groups"].items()]:
        for key in [k for k in entry if "," in k and "_stderr," not in k and "_ci95," not in k]:
            metric, _, filter_name = key.partition(",")
            stderr, (low, high) = entry[f"{metric}_stderr,{filter_name}"], entry[f"{metric}_ci95,{filter_name}"]
            assert isinstance(stderr, float) and stderr >= 0, (name, key)
            assert low <= entry[key] <= high, (name, key)
    prov = results["provenance"]["demo_chart"]
    assert prov["split"] == "train" and len(prov["task_config_hash"]) == 16 and prov["fingerprint"]
    assert prov["generation"]["max_new_tokens"] == 16
    sample = read_samples(tmp_path, "demo_shapes")[1]
    assert sample["doc_id"] == 1 and sample["target"] == "B"
    assert set(sample) >= {"doc", "arguments", "resps", "filtered_resps", "exact_match,flexible-extract",
                           "input_tokens", "output_tokens", "image_tokens"}
    assert "image" not in sample["doc"]
    assert sample["image_tokens"] == 2929 and sample["output_tokens"] == 16  # a 640x480 image
    video = read_samples(tmp_path, "demo_video")[0]
    assert video["image_tokens"] == 196 * 32 + 1


def test_run_eval_py_matches_module_entry(tiny_checkpoint, tmp_path):
    a = run_ov_eval(eval_args(tiny_checkpoint, tmp_path / "a", "demo_chart"))
    b = subprocess.run([sys.executable, "run_eval.py", *eval_args(tiny_checkpoint, tmp_path / "b", "demo_chart")],
                       cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=240)
    assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
    assert responses(tmp_path / "a", ["demo_chart"]) == responses(tmp_path / "b", ["demo_chart"])


def corrupt_copy(tmp_path, bad_row: int):
    rows = datasets.load_dataset("parquet", data_files=str(REPO / "tasks/demo/data/colours.parquet"),
                                 split="train").cast_column("image", datasets.Image(decode=False)).to_list()
    rows[bad_row]["image"] = {"bytes": b"\x89PNG not really", "path": None}
    path = tmp_path / "corrupt.parquet"
    datasets.Dataset.from_list(rows).cast_column("image", datasets.Image()).to_parquet(str(path))
    return path


def test_corrupt_image_is_a_sample_error_and_the_run_finishes(tiny_checkpoint, tmp_path):
    data = corrupt_copy(tmp_path, bad_row=2)
    out = tmp_path / "out"
    assert main(eval_args(tiny_checkpoint, out, "demo_colours", "--dataset_override", f"demo_colours={data}")) == 0
    entry = read_results(out)["results"]["demo_colours"]
    assert (entry["n_samples"], entry["n_errors"]) == (8, 1)
    samples = read_samples(out, "demo_colours")
    assert samples[2]["error"].startswith("task 'demo_colours', doc 2, column 'image': cannot decode image")
    assert samples[2]["resps"] == [[]] and "exact_match,none" not in samples[2]
    assert all(s["error"] is None for i, s in enumerate(samples) if i != 2)
    journal = [json.loads(l) for l in (next(out.glob("*/.journal")) / "rank0.jsonl").read_text().splitlines()]
    assert sorted(r["doc_id"] for r in journal) == [0, 1, 3, 4, 5, 6, 7]


def test_two_processes_give_the_same_results_as_one(tiny_checkpoint, tmp_path):
    tasks = "demo_colours,demo_video"
    one = run_ov_eval(eval_args(tiny_checkpoint, tmp_path / "one", tasks))
    two = run_ov_eval(eval_args(tiny_checkpoint, tmp_path / "two", tasks), launcher=accelerate_launcher())
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    assert sorted(p.name for p in (next((tmp_path / "two").glob("*/.journal"))).iterdir()) == ["rank0.jsonl",
                                                                                                "rank1.jsonl"]
    r1, r2 = read_results(tmp_path / "one"), read_results(tmp_path / "two")
    assert r2["config"]["num_processes"] == 2
    assert metric_values(r1) == metric_values(r2)
    assert responses(tmp_path / "one", tasks.split(",")) == responses(tmp_path / "two", tasks.split(","))


def test_an_exception_on_one_rank_stops_every_rank(tiny_checkpoint, tmp_path):
    started = time.monotonic()
    done = run_ov_eval(eval_args(tiny_checkpoint, tmp_path, "demo_colours", model="ovtest_adapters:FailingOnRankOne"),
                       launcher=accelerate_launcher(), timeout=180)
    assert done.returncode != 0
    assert "injected failure on rank 1" in done.stderr
    assert time.monotonic() - started < 120  # a hang would run into the subprocess timeout instead
    assert not list(tmp_path.glob("*/*_results.json"))


def journal_lines(out) -> int:
    folder = list(out.glob("*/.journal"))
    return sum(p.read_text().count("\n") for p in folder[0].glob("*.jsonl")) if folder else 0


def test_sigkill_mid_run_then_resume_regenerates_nothing_finished(tiny_checkpoint, tmp_path):
    tasks = "demo_colours,demo_counts"
    reference = run_ov_eval(eval_args(tiny_checkpoint, tmp_path / "ref", tasks))
    assert reference.returncode == 0, reference.stderr

    out, calls = tmp_path / "out", tmp_path / "calls.log"
    args = eval_args(tiny_checkpoint, out, tasks, model="ovtest_adapters:CountingAdapter")
    env = subprocess_env(OV_TEST_CALL_LOG=str(calls), OV_TEST_DELAY="0.4")
    victim = subprocess.Popen([sys.executable, "-m", "ov_eval", *args], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while journal_lines(out) < 5 and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    finished = journal_lines(out)
    assert 5 <= finished < 14
    first_calls = len(calls.read_text().splitlines())

    resumed = run_ov_eval(args, OV_TEST_CALL_LOG=str(calls), OV_TEST_DELAY="0")
    assert resumed.returncode == 0, resumed.stderr
    second_calls = len(calls.read_text().splitlines()) - first_calls
    assert second_calls == 14 - finished
    assert metric_values(read_results(out)) == metric_values(read_results(tmp_path / "ref"))
    assert responses(out, tasks.split(",")) == responses(tmp_path / "ref", tasks.split(","))


def test_journal_is_not_reused_for_other_settings_or_weights(tiny_checkpoint, tmp_path, monkeypatch):
    from ov_eval.models.tiny import write_tiny_checkpoint

    calls = tmp_path / "calls.log"
    monkeypatch.setenv("OV_TEST_CALL_LOG", str(calls))
    monkeypatch.syspath_prepend(str(REPO / "tests"))
    ckpt = write_tiny_checkpoint(tmp_path / "ckpt", seed=0)

    def run(*extra):
        before = len(calls.read_text().splitlines()) if calls.exists() else 0
        assert main(eval_args(ckpt, tmp_path / "out", "demo_chart", *extra,
                              model="ovtest_adapters:CountingAdapter")) == 0
        return len(calls.read_text().splitlines()) - before

    assert run() == 4
    assert run() == 0  # same everything: all from the journal
    assert run("--gen_kwargs", "max_new_tokens=4") == 4
    write_tiny_checkpoint(ckpt, seed=1)  # other weights, same folder name
    assert run() == 4


def test_batch_size_does_not_change_any_response(tiny_checkpoint, tmp_path):
    tasks = ["demo_shapes", "demo_video", "demo_counts"]
    for batch_size in ("1", "3"):
        args = eval_args(tiny_checkpoint, tmp_path / batch_size, ",".join(tasks))
        args[args.index("--batch_size") + 1] = batch_size
        assert main(args) == 0
    assert responses(tmp_path / "1", tasks) == responses(tmp_path / "3", tasks)
    assert metric_values(read_results(tmp_path / "1")) == metric_values(read_results(tmp_path / "3"))
