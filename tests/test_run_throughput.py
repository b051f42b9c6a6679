"""Every results file says how fast the run went: per task (rates from the answers generated in this run,
request latencies of a served model) and per stage; resumed answers never inflate the rates."""
from __future__ import annotations

import pytest

from conftest import read_results, run_ov_eval
from fake_openai_server import FakeJudgeServer
from scripted_server import by_document, reply, served_args

COLOURS = ["red", "red", "green", "green"]


@pytest.fixture(scope="module")
def server():
    # doc d: 100 + d prompt tokens, 2 completion tokens, 50 ms per request
    with FakeJudgeServer(by_document(lambda d: reply(COLOURS[d], 100 + d, 2)), latency_s=0.05) as served:
        yield served


def test_throughput_fields_exist_and_add_up(server, tmp_path):
    out = tmp_path / "out"
    result = run_ov_eval(served_args(server.url, out))
    assert result.returncode == 0, result.stderr[-3000:]
    results = read_results(out)
    entry = results["results"]["demo_colours"]
    assert entry["exact_match,none"] == 1.0
    throughput = entry["throughput"]
    assert sorted(throughput) == ["generation_s", "input_tokens_per_s", "n_from_journal", "n_generated",
                                  "output_tokens_per_s", "request_latency_s", "samples_per_s"]
    seconds = throughput["generation_s"]
    assert (throughput["n_generated"], throughput["n_from_journal"]) == (4, 0)
    assert throughput["samples_per_s"] == pytest.approx(4 / seconds, rel=1e-3)
    assert throughput["input_tokens_per_s"] == pytest.approx((100 + 101 + 102 + 103) / seconds, rel=1e-3)
    assert throughput["output_tokens_per_s"] == pytest.approx(8 / seconds, rel=1e-3)
    latency = throughput["request_latency_s"]
    assert latency["n_requests"] == 4 and 0.05 <= latency["median"] <= latency["p90"] <= seconds
    run = results["throughput"]
    assert sorted(run) == ["generation_s", "judging_s", "media_preparation_s", "n_from_journal", "n_generated",
                           "samples_per_s", "scoring_s", "total_s"]
    assert run["generation_s"] == pytest.approx(seconds, abs=1e-4)  # the only task
    assert run["generation_s"] + run["judging_s"] + run["scoring_s"] <= run["total_s"]
    assert run["judging_s"] == 0.0 and run["media_preparation_s"] > 0
    assert (run["n_generated"], run["n_from_journal"]) == (4, 0)
    # the end-of-run table has samples/s per task
    assert results["uncertainty"]["clusters"] == {"demo_colours": None}
    assert "| Samples/s |" in result.stdout
    assert f"| demo_colours | exact_match,none | 1.0000 ± 0.0000 | 4 | 0 | 0 | {throughput['samples_per_s']:.2f} |" in result.stdout


def test_answers_taken_from_the_journal_are_not_counted_as_generated(server, tmp_path):
    out = tmp_path / "out"
    assert run_ov_eval(served_args(server.url, out, limit=2)).returncode == 0
    asked = len(server.requests)
    result = run_ov_eval(served_args(server.url, out, limit=4))
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(server.requests) == asked + 2
    [first, second] = sorted(out.glob("*/*_results.json"))
    import json

    throughput = json.loads(second.read_text())["results"]["demo_colours"]["throughput"]
    assert (throughput["n_generated"], throughput["n_from_journal"]) == (2, 2)
    assert throughput["samples_per_s"] == pytest.approx(2 / throughput["generation_s"], rel=1e-3)
    assert throughput["request_latency_s"]["n_requests"] == 2
