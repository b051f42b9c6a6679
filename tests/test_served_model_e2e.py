"""`--model openai_compatible` end to end against a REAL `transformers serve` of the tiny checkpoint on 127.0.0.1."""
from __future__ import annotations

import json

import pytest

from conftest import read_results, read_samples, run_ov_eval
from served_model import ServedModel, serve
from served_runs import DEMO_TASKS, eval_args, responses, run_and_kill

KEY = "sk-LEAK-CANARY-7f3a9c2e51"


@pytest.fixture(scope="module")
def server(tiny_checkpoint, tmp_path_factory) -> ServedModel:
    with serve(tiny_checkpoint, tmp_path_factory.mktemp("serve") / "server.log") as served:
        yield served


def test_demo_tasks_through_the_server_answer_every_sample_and_leak_no_key(server, tmp_path):
    out = tmp_path / "out"
    result = run_ov_eval(eval_args(server, out, limit=3, concurrency=8), OPENAI_API_KEY=KEY)
    assert result.returncode == 0, result.stderr[-3000:]
    results = read_results(out)
    assert sorted(results["results"]) == DEMO_TASKS
    assert {task: (e["n_samples"], e["n_errors"]) for task, e in results["results"].items()} == \
        {task: (3, 0) for task in DEMO_TASKS}
    for task in DEMO_TASKS:
        samples = read_samples(out, task)
        assert [s["doc_id"] for s in samples] == [0, 1, 2]
        assert all(s["error"] is None and s["output_tokens"] > 0 and s["input_tokens"] > 0 for s in samples)
    for task in DEMO_TASKS:  # a served model's throughput has the latency of its requests
        throughput = results["results"][task]["throughput"]
        assert (throughput["n_generated"], throughput["request_latency_s"]["n_requests"]) == (3, 3)
    model = results["model"]
    assert (model["base_url"], model["served_model"]) == (server.url, server.model)
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) >= 7  # results, five samples files, the journal
    assert [p for p in written if KEY.encode() in p.read_bytes()] == []
    assert KEY not in result.stdout + result.stderr

    # The same requests one at a time give the same answers: results do not depend on the concurrency.
    serial = tmp_path / "serial"
    result = run_ov_eval(eval_args(server, serial, limit=3, concurrency=1), OPENAI_API_KEY=KEY)
    assert result.returncode == 0, result.stderr[-3000:]
    assert responses(serial) == responses(out)


def test_a_killed_run_resumes_and_asks_the_server_only_for_the_missing_samples(server, tmp_path):
    out = tmp_path / "out"
    args = eval_args(server, out, limit=4, concurrency=2)
    journaled = run_and_kill(args, out, after=4)
    assert 4 <= journaled < 20
    assert list(out.glob("*/*_results.json")) == []

    before = server.chat_requests()
    result = run_ov_eval(args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert server.chat_requests() - before == 20 - journaled
    results = read_results(out)
    assert {task: (e["n_samples"], e["n_errors"]) for task, e in results["results"].items()} == \
        {task: (4, 0) for task in DEMO_TASKS}
    assert sum(json.loads(line)["error"] is None for task in DEMO_TASKS
               for line in next(out.glob(f"*/*_samples_{task}.jsonl")).read_text().splitlines()) == 20
