"""A hanging judge is bounded by the judge's timeout and tries (flags or environment), recorded in the results,
and a long judge step logs its progress."""
from __future__ import annotations

import logging

import pytest

from conftest import run_ov_eval
from fake_openai_server import FakeJudgeServer, FakeResponse, completion
from fixtures.single_image import FIXTURES
from ov_eval.errors import OvEvalError
from ov_eval.registry import task_index
from ov_eval.scoring.judge_step import JudgeSettings
from ov_eval.scoring.score import score_task
from ov_eval.task import Task
from ov_eval.types import Response

KEY = "sk-test-HANG-5150"


def hang(request) -> FakeResponse:
    return FakeResponse(200, completion("1.0").body, delay_s=5.0)


def test_a_hanging_judge_costs_each_item_tries_times_the_timeout_and_is_recorded(tmp_path, caplog):
    task = Task.load(task_index().tasks["mmvet"])
    dataset = FIXTURES["mmvet"]()
    responses = [Response(f"k{i}", "mmvet", i, f"answer {i}", 5, 3, 1) for i in range(2)]
    logged = {i: {"doc": dataset[i], "arguments": {"text": f"prompt {i}"}} for i in range(2)}
    with FakeJudgeServer(hang) as server, caplog.at_level(logging.INFO, logger="ov_eval.judges.stage"):
        env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": server.url, "OV_EVAL_JUDGE_TIMEOUT": "0.3",
               "OV_EVAL_JUDGE_TRIES": "9"}
        judge = JudgeSettings(cache_path=tmp_path / "v.sqlite", env=env, max_tries=2, concurrency=2, progress=False,
                              progress_every_s=0.05)
        scores = score_task(task, responses, {"max_new_tokens": 16}, "published", predict_only=False, judge=judge,
                            logged=logged)
        attempts = sorted((r.user[-40:], r.attempt) for r in server.requests)
    # The flag (2 tries) beats the environment (9); the timeout comes from the environment (0.3 s).
    assert len(attempts) == 4 and [a for _, a in attempts] == [0, 1, 0, 1]
    assert (scores.n_judged, scores.n_judge_errors) == (0, 2)
    assert [s["judge"]["mmvet_grade"]["tries"] for s in scores.samples] == [2, 2]
    assert {s["judge"]["mmvet_grade"]["error"] for s in scores.samples} == {"timeout"}
    assert (scores.judge["judge_timeout_s"], scores.judge["judge_max_tries"]) == (0.3, 2)
    assert "judging mmvet (mmvet_grade): 2 of 2 items done, 2 errors so far" in caplog.text


def test_judge_settings_come_from_the_flag_then_the_environment_then_the_default():
    assert JudgeSettings(env={}).transport() == (30.0, 4)
    assert JudgeSettings(env={"OV_EVAL_JUDGE_TIMEOUT": "12.5", "OV_EVAL_JUDGE_TRIES": "3"}).transport() == (12.5, 3)
    assert JudgeSettings(timeout_s="7", max_tries="1", env={"OV_EVAL_JUDGE_TIMEOUT": "12.5"}).transport() == (7.0, 1)
    client = JudgeSettings(timeout_s=7, max_tries=2, env={}).new_client()
    assert (client.timeout_s, client.retry.max_tries) == (7.0, 2)
    with pytest.raises(OvEvalError, match=r"^OV_EVAL_JUDGE_TRIES: must be a positive integer, got '0'$"):
        JudgeSettings(env={"OV_EVAL_JUDGE_TRIES": "0"}).transport()
    with pytest.raises(OvEvalError, match=r"^--judge_timeout: must be a positive number, got 'soon'$"):
        JudgeSettings(timeout_s="soon", env={}).transport()


def test_a_bad_judge_flag_is_a_one_line_error_before_any_work(tmp_path):
    result = run_ov_eval(["--model", "openai_compatible", "--model_args", "model=m", "--tasks", "demo_colours",
                          "--judge_tries", "1.5", "--output_path", str(tmp_path)])
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == "ov_eval: error: --judge_tries: must be a positive integer, got '1.5'"
    assert "Traceback" not in result.stderr
