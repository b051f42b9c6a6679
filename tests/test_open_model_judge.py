"""A judge served locally: the tiny checkpoint behind a REAL `transformers serve` on 127.0.0.1 stands in for an
open model. Its verdicts are noise, so this checks requests, counting and caching, and that the judge's identity
(base URL, the server's model id) keys the cache and is recorded: a local model's verdicts never mix with
another endpoint's verdicts for a model of the same name."""
from __future__ import annotations

import pytest

from fake_openai_server import FakeJudgeServer, completion
from ov_eval.judges import VerdictCache
from ov_eval.openai_client import ChatClient
from ov_eval.registry import task_index
from ov_eval.retry import RetryPolicy
from ov_eval.scoring.judge_step import JudgeSettings
from ov_eval.scoring.score import score_task
from ov_eval.task import Task
from ov_eval.types import Response
from served_model import serve

# MathVista's quick extraction fails on these, so each asks the judge to extract the answer (any reply parses)
TEXTS = ["There are 3 dots.", "The slope is 0.25 here"]


@pytest.fixture(scope="module")
def judge_server(tiny_checkpoint, tmp_path_factory):
    with serve(tiny_checkpoint, tmp_path_factory.mktemp("judge") / "server.log") as served:
        yield served


def judged(base_url: str, model: str, cache):
    from fixtures.single_image import FIXTURES

    task = Task.load(task_index().tasks["mathvista_testmini_format"])
    dataset = FIXTURES["mathvista_testmini_format"]()
    responses = [Response(f"k{i}", task.name, i, text, 5, 3, 1) for i, text in enumerate(TEXTS)]
    logged = {i: {"doc": dataset[i], "arguments": {"text": f"prompt {i}"}} for i in range(len(TEXTS))}
    client = ChatClient(api_key="EMPTY", base_url=base_url, timeout_s=120.0, env={},
                        retry=RetryPolicy(max_tries=1, base_delay_s=0.0, max_delay_s=0.0))
    settings = JudgeSettings(client=client, model=model, cache_path=cache, progress=False, concurrency=2)
    return score_task(task, responses, {"max_new_tokens": 16}, "published", False, settings, logged)


def test_a_locally_served_judge_is_asked_counted_cached_and_kept_apart(judge_server, tmp_path):
    cache = tmp_path / "verdicts.sqlite"
    first = judged(judge_server.url, judge_server.model, cache)
    judge = first.judge
    assert judge_server.chat_requests() == judge["n_http_calls"] == judge["n_items"] == 2
    assert (judge["n_cache_hits"], judge["n_judged"], judge["n_judge_errors"]) == (0, 2, 0)
    assert judge["completion_tokens"] > 0 and judge["prompt_tokens"] > 0  # the server's usage
    assert (judge["judge_endpoint"], judge["judge_served_model"]) == (judge_server.url, judge_server.model)
    assert judge["judge_cache_identity"] == f"{judge_server.model}@{judge_server.url}"
    assert judge["judge_models"] == {"mathvista_extract": judge_server.model}
    assert judge["cost"] == {"usd": None, "price": None}  # no list price for a local model
    assert [s["judge"]["mathvista_extract"]["cached"] for s in first.samples] == [False, False]

    again = judged(judge_server.url, judge_server.model, cache)  # the same judge: every verdict from the cache
    assert judge_server.chat_requests() == 2
    assert (again.judge["n_http_calls"], again.judge["n_cache_hits"], again.judge["prompt_tokens"]) == (0, 2, 0)
    assert [s["judge"] for s in again.samples] == [
        {k: v | {"cached": True} for k, v in s["judge"].items()} for s in first.samples]

    # a model of the same name at another endpoint gets its own verdicts, never the local model's
    with FakeJudgeServer(lambda request: completion("7")) as hosted:
        other = judged(hosted.url, judge_server.model, cache)
        assert len(hosted.requests) == 2
    assert (other.judge["n_http_calls"], other.judge["n_cache_hits"]) == (2, 0)
    assert [s["judge"]["mathvista_extract"]["verdict"] for s in other.samples] == ["7", "7"]
    with VerdictCache(cache) as stored:
        assert len(stored) == 4
