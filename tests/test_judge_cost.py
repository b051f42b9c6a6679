"""Judge requests, cache hits, tokens (the server's `usage`) and estimated cost, per task and in total."""
from __future__ import annotations

import pytest

from conftest import run_ov_eval
from fake_openai_server import FakeJudgeServer
from fixtures.single_image import write_fixture
from ov_eval.cli import main
from ov_eval.judges.pricing import JudgePrice
from ov_eval.openai_client import ChatClient
from ov_eval.registry import task_index
from ov_eval.rescore import rescore_main
from ov_eval.retry import RetryPolicy
from ov_eval.scoring.judge_step import JudgeSettings
from ov_eval.scoring.score import score_task
from ov_eval.task import Task
from ov_eval.types import Response
from scripted_server import reply

GRADE = lambda request: reply("1.0", prompt_tokens=1000, completion_tokens=10)  # noqa: E731


def mmvet(n: int) -> tuple[list[Response], dict[int, dict]]:
    docs = [{"question_id": f"v1_{i}", "question": f"What is the colour of shape {i}?", "answer": "red",
             "capability": "rec"} for i in range(n)]
    responses = [Response(f"k{i}", "mmvet", i, f"red, shape {i}", 5, 3, 1) for i in range(n)]
    return responses, {i: {"doc": doc, "arguments": {"text": f"prompt {i}"}} for i, doc in enumerate(docs)}


def judged(server: FakeJudgeServer, cache, **settings):
    client = ChatClient(api_key="k", base_url=server.url, timeout_s=5.0, env={},
                        retry=RetryPolicy(max_tries=1, base_delay_s=0.0, max_delay_s=0.0))
    task = Task.load(task_index().tasks["mmvet"])
    responses, logged = mmvet(4)
    return score_task(task, responses, {"max_new_tokens": 16}, "published", False,
                      JudgeSettings(client=client, cache_path=cache, progress=False, **settings), logged).judge


def test_tokens_and_cost_from_usage_and_cache_hits_cost_nothing(tmp_path):
    price = JudgePrice(2.0, 8.0, "--judge_price")
    with FakeJudgeServer(GRADE) as server:
        first = judged(server, tmp_path / "v.sqlite", price=price)
        second = judged(server, tmp_path / "v.sqlite", price=price)
        assert len(server.requests) == 4
    assert (first["n_http_calls"], first["n_cache_hits"], first["prompt_tokens"], first["completion_tokens"]) == \
        (4, 0, 4000, 40)
    assert first["cost"] == {"usd": 0.00832, "price": {"input_usd_per_million": 2.0, "output_usd_per_million": 8.0,
                                                       "source": "--judge_price"}}
    assert (second["n_http_calls"], second["n_cache_hits"], second["prompt_tokens"], second["cost"]["usd"]) == \
        (0, 4, 0, 0.0)


def test_the_built_in_list_price_of_the_tasks_judge_and_no_price_for_an_unknown_model(tmp_path):
    with FakeJudgeServer(GRADE) as server:
        listed = judged(server, tmp_path / "a.sqlite")  # mmvet's judge: gpt-4-0613 at 30 / 60 USD per million
        unknown = judged(server, tmp_path / "b.sqlite", model="my-local-judge")
    assert listed["cost"] == {"usd": 0.1224, "price": {"input_usd_per_million": 30.0, "output_usd_per_million": 60.0,
                                                       "source": "list price as of 2025-01 (estimate)"}}
    assert unknown["cost"] == {"usd": None, "price": None} and unknown["prompt_tokens"] == 4000


def test_a_run_prints_and_records_the_judge_usage(tmp_path, monkeypatch, capsys):
    data = write_fixture("mmvet", tmp_path / "data")
    out = tmp_path / "out"
    with FakeJudgeServer(lambda r: reply("red", 50, 1)) as model, FakeJudgeServer(GRADE) as judge:
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        monkeypatch.setenv("OPENAI_BASE_URL", judge.url)
        args = ["--model", "openai_compatible", "--model_args", f"model=scripted,base_url={model.url}",
                "--tasks", "mmvet", "--limit", "2", "--dataset_override", f"mmvet={data}", "--output_path", str(out),
                "--verbosity", "WARNING", "--judge_price", "in=2,out=8", "--log_samples"]
        assert main(args) == 0
        assert main(args) == 0  # the same run again: answers from the journal, verdicts from the cache
        assert len(judge.requests) == 2
        [run_dir] = [p for p in out.iterdir() if p.is_dir()]
        assert rescore_main([str(run_dir), "--verbosity", "WARNING"]) == 0  # rescore records its own usage
        assert len(judge.requests) == 2
    printed = capsys.readouterr().out.split("Results written to")
    table = ["| Judge task | Requests | Cache hits (free) | Prompt tokens | Completion tokens | Est. cost (USD) |",
             "|---|---:|---:|---:|---:|---:|"]
    assert "\n".join(table + ["| mmvet | 2 | 0 | 2000 | 20 | 0.0042 |", "| total | 2 | 0 | 2000 | 20 | 0.0042 |",
                              "Prices: --judge_price."]) in printed[0]
    assert "| mmvet | 0 | 2 | 0 | 0 | 0.0000 |" in printed[1]
    [first, _, rescored] = sorted(out.glob("*/*_results.json"))
    import json

    assert json.loads(rescored.read_text())["judge_usage"]["total"] == {
        "n_items": 2, "n_http_calls": 0, "n_cache_hits": 2, "prompt_tokens": 0, "completion_tokens": 0,
        "cost_usd": 0.0, "tasks_without_price": []}

    usage = json.loads(first.read_text())["judge_usage"]
    assert usage == {"tasks": {"mmvet": {"n_items": 2, "n_http_calls": 2, "n_cache_hits": 0, "prompt_tokens": 2000,
                                         "completion_tokens": 20, "cost_usd": 0.00416,
                                         "price_source": "--judge_price"}},
                     "total": {"n_items": 2, "n_http_calls": 2, "n_cache_hits": 0, "prompt_tokens": 2000,
                               "completion_tokens": 20, "cost_usd": 0.00416, "tasks_without_price": []}}


@pytest.mark.parametrize("price, message", [
    ("in=abc,out=1", "--judge_price: in must be a number >= 0, got 'abc'"),
    ("in=1", "--judge_price: 'in=1' lacks out= (e.g. in=2.5,out=10)"),
    ("input=1,out=2", "--judge_price: 'input=1' is not in=X or out=Y (USD per million tokens)"),
])
def test_a_bad_judge_price_is_one_line_naming_the_flag(price, message):
    result = run_ov_eval(["--tasks", "demo_colours", "--judge_price", price])
    assert (result.returncode, result.stderr) == (2, f"ov_eval: error: {message}\n")
