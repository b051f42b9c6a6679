"""`--wandb_args`: an offline W&B run (WANDB_MODE=offline writes the local run folder), read back record by record:
the run's name and project, its config, every metric with its interval, the throughput, a samples table."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from conftest import REPO, read_results, run_ov_eval
from fake_openai_server import FakeJudgeServer
from scripted_server import by_document, reply, served_args

wandb_pb = pytest.importorskip("wandb.proto.wandb_internal_pb2")
COLOURS = ["red", "red", "green", "blue"]  # the last one is wrong (the answer is green)


def run_records(path: Path) -> list:
    """The protobuf records of a `.wandb` file (a LevelDB-style log: 32 KiB blocks of checksummed chunks)."""
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    records, pending, position, block = [], b"", 7, 32768
    while position + 7 <= len(data):
        left = block - position % block
        _, length, kind = struct.unpack("<IHB", data[position:position + 7]) if left >= 7 else (0, 0, 0)
        if left < 7 or (length == 0 and kind == 0):  # block padding
            position += left
            continue
        pending += data[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # a full record, or the last chunk of one
            record = wandb_pb.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def test_an_offline_run_holds_config_metrics_throughput_and_samples(tmp_path):
    out, tracker = tmp_path / "out", tmp_path / "wandb_dir"
    tracker.mkdir()
    with FakeJudgeServer(by_document(lambda d: reply(COLOURS[d], 10, 1))) as server:
        result = run_ov_eval(served_args(server.url, out) + ["--wandb_args", "project=ov_eval_test,name=demo,tags=a;b"],
                             WANDB_MODE="offline", WANDB_DIR=str(tracker), WANDB_SILENT="true")
    assert result.returncode == 0, result.stderr[-3000:]
    results = read_results(out)
    [run_folder] = (tracker / "wandb").glob("offline-run-*")
    [log] = run_folder.glob("run-*.wandb")
    records = run_records(log)
    [run] = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert (run.project, run.display_name, list(run.tags)) == ("ov_eval_test", "demo", ["a", "b"])
    config = {item.key: json.loads(item.value_json) for item in run.config.update}
    assert config["config"]["model"] == "openai_compatible" and config["config"]["tasks"] == ["demo_colours"]
    assert config["uncertainty"]["clusters"] == {"demo_colours": None}
    summary = {}
    for record in records:
        if record.WhichOneof("record_type") == "summary":
            for item in record.summary.update:
                summary["/".join(item.nested_key) or item.key] = json.loads(item.value_json)
    entry = results["results"]["demo_colours"]
    assert summary["demo_colours/exact_match,none"] == entry["exact_match,none"] == 0.75
    assert summary["demo_colours/exact_match_stderr,none"] == entry["exact_match_stderr,none"]
    assert [summary["demo_colours/exact_match_ci95,none_low"], summary["demo_colours/exact_match_ci95,none_high"]] \
        == entry["exact_match_ci95,none"]
    assert summary["demo_colours/throughput/samples_per_s"] == entry["throughput"]["samples_per_s"]
    assert summary["demo_colours/throughput/request_latency_s_n_requests"] == 4
    assert summary["throughput/total_s"] == results["throughput"]["total_s"]
    [table] = (run_folder / "files" / "media" / "table" / "samples").glob("demo_colours_*.table.json")
    rows = json.loads(table.read_text())
    assert rows["columns"] == ["doc_id", "prompt", "response", "filtered", "target", "error", "exact_match,none"]
    assert [(r[0], r[2], r[4], r[6]) for r in rows["data"]] == [
        (0, "red", "red", 1.0), (1, "red", "red", 1.0), (2, "green", "green", 1.0), (3, "blue", "green", 0.0)]


def test_bad_wandb_args_are_one_line():
    result = run_ov_eval(["--tasks", "demo_colours", "--wandb_args", "projct=x"])
    assert (result.returncode, result.stderr) == (2, "ov_eval: error: --wandb_args: unknown key 'projct' (did you "
                                                     "mean 'project'?); accepted: project, name, entity, group, "
                                                     "job_type, tags, notes, mode, dir, id, resume\n")


def test_without_wandb_installed_asking_for_it_is_one_line(tmp_path):
    blocker = tmp_path / "blocker" / "wandb"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('no wandb here')\n")
    import os

    result = run_ov_eval(["--tasks", "demo_colours", "--wandb_args", "project=x"],
                         PYTHONPATH=os.pathsep.join([str(blocker.parent), str(REPO), os.environ.get("PYTHONPATH", "")]))
    assert (result.returncode, result.stderr) == (
        2, "ov_eval: error: --wandb_args: the wandb package is not installed (pip install 'ov_eval[wandb]')\n")
