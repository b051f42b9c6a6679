"""The judge step of the scoring stage and `ov_eval rescore`, against the loopback judge server.

Every single-image judge task scores fixture docs with hand-written responses to literal values; failures
are counted, never averaged in; a second scoring or a rescore from the same verdict cache makes no HTTP call;
the API key appears in no file, log or message.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import re
from pathlib import Path

import pytest

from conftest import read_results
from fixtures.single_image import FIXTURES, write_fixture
from ov_eval.errors import OvEvalError
from ov_eval.openai_client import ChatClient
from ov_eval.retry import RetryPolicy
from fake_openai_server import FakeJudgeServer, FakeResponse, RecordedRequest, completion
from ov_eval.registry import task_index
from ov_eval.reporting.results import group_entries, task_entry
from ov_eval.reporting.run_files import load_run
from ov_eval.rescore import rescore_main
from ov_eval.scoring.judge_step import JudgeSettings, judge_endpoint_configured
from ov_eval.scoring.score import score_task
from ov_eval.task import Task
from ov_eval.types import Response

KEY = "sk-test-JUDGE-SECRET-4242"
FAST = RetryPolicy(max_tries=2, base_delay_s=0.0, max_delay_s=0.0)
GENERATION = {"max_new_tokens": 16}


# ---- a scripted judge: replies decided by what the prompt asks --------------------------------------------

def _last(pattern: str, text: str) -> str:
    return re.findall(pattern, text)[-1]


MATHVISTA_EXTRACTIONS = {"There are 3 dots.": "3", "The slope is 0.25 here": "0.25",
                         "The values are 1 and 2": "[1, 2]"}
MMBENCH_MATCHES = {"I think it is the string instrument": "B", "Something else entirely": "E"}
LLAVA_REVIEWS = {"picture 0": "8 6", "picture 1": "9 9", "picture 2": "6 3"}


def judge_reply(request: RecordedRequest) -> FakeResponse:
    user = request.user
    if "Extracted answer: " in user:  # MathVista
        response = user.rsplit("\n\n", 2)[-2]
        return completion(MATHVISTA_EXTRACTIONS[response])
    if "Extracted Answer: " in user:  # MathVerse extraction: the last word, minus punctuation
        response = _last(r"Model response: '(.*)'", user)
        return completion(response.split()[-1].strip("."))
    if user.rstrip().endswith("Judgement:"):  # MathVerse judgement
        answer, extraction = _last(r"\[Standard Answer\]: (.*)", user), _last(r"\[Model_answer\] : (.*)", user)
        return completion(f"Judgement: {int(answer.strip() == extraction.strip())}")
    if "Your output: " in user:  # MMBench matcher
        prediction = _last(r"Answer: (.*)", user)
        if prediction == "Maybe":
            return FakeResponse(400, {"error": {"message": "content filtered"}})
        return completion(MMBENCH_MATCHES[prediction])
    if "[Assistant 1]" in user:  # LLaVA-W review
        picture = _last(r"(picture \d)", user)
        return completion(f"{LLAVA_REVIEWS[picture]}\nAssistant 1 is more precise.")
    if "| Correctness" in user:  # MMVet grade
        prediction = user.rstrip().split("\n")[-1].split(" | ")[2]
        return completion("1.0" if "red" in prediction else "0.0")
    if "only as yes/no and a score" in user:  # ActivityNetQA
        return completion(ACTIVITYNET_VERDICTS[_last(r"Predicted Answer: (.*)", user)])
    for dimension, reply in VIDEO_SCORES.items():  # VideoChatGPT / VideoDC
        if f"only as a {dimension} score" in user:
            return completion(reply)
    return FakeResponse(404, {"error": {"message": "unexpected prompt"}})


ACTIVITYNET_VERDICTS = {"skiing": "{'pred': 'yes', 'score': 5}", "running": "{'pred': 'no', 'score': 1}",
                        "Skiing fast": "{'pred': 'yes', 'score': 4.8}"}
VIDEO_SCORES = {"correctness of information": "{'score': 4}", "detail orientation": "{'score': 3.9}",
                "contextual understanding": "{'score': 5}", "temporal understanding": "{'score': 2}",
                "consistency": "{'score': 4}"}


@pytest.fixture(autouse=True)
def no_real_judge(monkeypatch, tmp_path):
    """No test here may reach a judge the developer configured, or their verdict cache."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY",
                 "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OV_EVAL_JUDGE_CACHE", str(tmp_path / "default_cache.sqlite"))


@pytest.fixture
def server():
    with FakeJudgeServer(judge_reply) as fake:
        yield fake


def settings(server: FakeJudgeServer, cache: Path, **extra) -> JudgeSettings:
    client = ChatClient(api_key=KEY, base_url=server.url, timeout_s=5.0, retry=FAST, env={}, seed=0)
    return JudgeSettings(client=client, cache_path=cache, progress=False, concurrency=4, **extra)


def load_task(name: str, profile: str = "published") -> Task:
    return Task.load(task_index().tasks[name], profile=profile)


def logged_inputs(name: str, texts: list[str]) -> tuple[list[Response], dict[int, dict]]:
    """Responses and logged-sample-like records (doc, prompt) for the first len(texts) fixture docs."""
    dataset = FIXTURES[name]()
    responses = [Response(f"k{i}", name, i, text, 5, 3, 1) for i, text in enumerate(texts)]
    logged = {i: {"doc": dataset[i], "arguments": {"text": f"prompt {i}"}} for i in range(len(texts))}
    return responses, logged


def score(name: str, texts: list[str], judge: JudgeSettings | None, profile: str = "published"):
    task = load_task(name, profile)
    responses, logged = logged_inputs(name, texts)
    scores = score_task(task, responses, GENERATION, profile, predict_only=False, judge=judge, logged=logged)
    return task, scores


# ---- every single-image judge task, to literal values -----------------------------------------------------

def test_mmvet_grades_with_padded_ground_truth(server, tmp_path):
    task, scores = score("mmvet", ["It is red.", "green"], settings(server, tmp_path / "v.sqlite"))
    assert scores.metrics == {"gpt_eval_score,none": 50.0}
    assert (scores.n_judged, scores.n_judge_errors) == (2, 0)
    assert "| red <OR> blue | It is red. | " in server.requests[0].user + server.requests[1].user
    assert [s["judge"]["mmvet_grade"]["verdict"] for s in scores.samples] == [1.0, 0.0]
    assert [s["gpt_eval_score,none"] for s in scores.samples] == [1.0, 0.0]
    entry = task_entry(task, scores)
    assert (entry["n_judged"], entry["n_judge_errors"]) == (2, 0)
    assert scores.judge["judge_models"] == {"mmvet_grade": "gpt-4-0613"}
    assert scores.judge["judge_prompt_versions"] == {"mmvet_grade": "mmvet_grade/paraphrased-1"}
    assert {r.body["model"] for r in server.requests} == {"gpt-4-0613"}


def test_mathvista_asks_the_judge_only_when_quick_extraction_fails(server, tmp_path):
    texts = ["square", "There are 3 dots.", "1.5", "The slope is 0.25 here", "The values are 1 and 2"]
    _, scores = score("mathvista_testmini_format", texts, settings(server, tmp_path / "v.sqlite"))
    # Rows 2 and 3 are float questions: their precision is a float, so they score 0 unresolved (release rules).
    assert scores.metrics == {"gpt_eval_score,none": 60.0}
    assert len(server.requests) == 3
    assert (scores.n_judged, scores.n_judge_errors, scores.n_unresolved) == (3, 0, 2)
    assert scores.judge["n_without_judge"] == 2
    assert [s["gpt_eval_score,none"] for s in scores.samples] == [1.0, 1.0, 0.0, 0.0, 1.0]
    assert "judge" not in scores.samples[0] and scores.samples[1]["judge"]["mathvista_extract"]["verdict"] == "3"


def test_mmbench_judges_only_unresolved_rows_and_a_failure_stays_unresolved(server, tmp_path, caplog):
    texts = ["C", "I think it is the string instrument", "Something else entirely", "D", "Maybe"]
    with caplog.at_level(logging.WARNING):
        task, scores = score("mmbench_en_dev", texts, settings(server, tmp_path / "v.sqlite"))
    # group 0: C (rules) and B (judge), both right; group 1: E from the judge, wrong; group 2: the judge failed,
    # so the row stays unresolved (wrong), as without a judge
    assert scores.metrics["gpt_eval_score,none"] == pytest.approx(100 / 3)
    assert len(server.requests) == 3
    assert (scores.n_judged, scores.n_judge_errors, scores.n_unresolved) == (2, 1, 1)
    assert scores.samples[4]["judge_error"].startswith("mmbench_match: http_error: HTTP 400")
    assert scores.samples[4]["gpt_eval_score,none"] == 0.0 and scores.samples[4]["unresolved"]
    assert [s["gpt_eval_score,none"] for s in scores.samples] == [1.0, 1.0, 0.0, 1.0, 0.0]
    assert scores.judge["judge_failures_by_reason"] == {"http_error": 1}
    assert "mmbench_en_dev: 1 sample(s) got no judge verdict" in caplog.text


def test_mmbench_without_an_endpoint_keeps_to_its_rules(tmp_path):
    texts = ["C", "I think it is the string instrument"]
    _, scores = score("mmbench_en_dev", texts, JudgeSettings(env={}, cache_path=tmp_path / "v.sqlite"))
    assert scores.metrics["gpt_eval_score,none"] == 0.0 and scores.n_unresolved == 1 and scores.judge is None


def test_llava_in_the_wild_aggregates_review_pairs(server, tmp_path):
    _, scores = score("llava_in_the_wild", ["a", "b", "c"], settings(server, tmp_path / "v.sqlite"))
    # all: round(6.0 / 7.667 * 100, 1); per category: 6/8, 9/9, 3/6
    assert scores.metrics == {"gpt_eval_llava_all,none": 78.3, "gpt_eval_llava_conv,none": 75.0,
                              "gpt_eval_llava_detail,none": 100.0, "gpt_eval_llava_complex,none": 50.0}
    assert scores.samples[0]["gpt_eval_llava_all,none"] == [8.0, 6.0]
    # A judge-score ratio: its interval is a bootstrap over the three documents, seeded (default seed 1234).
    uncertainty = scores.uncertainty["gpt_eval_llava_all,none"]
    assert uncertainty.stderr > 0 and uncertainty.ci95[0] <= 78.3 <= uncertainty.ci95[1]
    assert scores.samples[0]["judge"]["llava_wild_review"]["verdict"] == [8.0, 6.0]
    assert {r.body["temperature"] for r in server.requests} == {0.2}


@pytest.mark.parametrize("name", ["mathverse_testmini_vision_intensive", "mathverse_testmini_vision_only"])
def test_mathverse_extracts_then_judges(server, tmp_path, name):
    texts = ["After some reasoning, the answer is B.", "The angle is 50."]
    _, scores = score(name, texts, settings(server, tmp_path / "v.sqlite"))
    assert scores.metrics == {"gpt_eval_score,none": 50.0}
    assert len(server.requests) == 4 and (scores.n_judged, scores.n_judge_errors) == (2, 0)
    assert [s["judge"]["mathverse_extract"]["verdict"] for s in scores.samples] == ["B", "50"]
    assert [s["judge"]["mathverse_judgement"]["verdict"] for s in scores.samples] == [1, 0]


def test_mathverse_corrected_profile_judges_the_truncated_response_once(server, tmp_path):
    texts = ["B", "The angle is 50."]
    _, scores = score("mathverse_testmini_vision_only", texts, settings(server, tmp_path / "v.sqlite"), "corrected")
    assert len(server.requests) == 2 and scores.metrics == {"gpt_eval_score,none": 50.0}
    assert "[Question]: Find the angle 0.\n" in server.requests[0].user + server.requests[1].user
    assert scores.judge["judge_models"] == {"mathverse_judgement": "gpt-4o-2024-11-20"}


# ---- the video judge tasks plug into the same step (docs as logged, no videos needed) ---------------------

def score_docs(name: str, docs: list[dict], texts: list[str], judge: JudgeSettings):
    responses = [Response(f"k{i}", name, i, text, 5, 3, 0) for i, text in enumerate(texts)]
    logged = {i: {"doc": doc, "arguments": {"text": f"prompt {i}"}} for i, doc in enumerate(docs)}
    return score_task(load_task(name), responses, GENERATION, "published", False, judge, logged)


def test_activitynetqa_feeds_pred_and_score_to_their_metrics(server, tmp_path):
    docs = [{"video_name": f"v{i}", "question_id": f"v_v{i}_0", "question": "what is the man doing",
             "answer": "skiing", "type": "0"} for i in range(3)]
    scores = score_docs("activitynetqa", docs, ["skiing", "running", "Skiing fast"], settings(server, tmp_path / "c"))
    assert scores.metrics["gpt_eval_accuracy,none"] == pytest.approx(200 / 3)
    assert scores.metrics["gpt_eval_score,none"] == pytest.approx(10.8 / 3)  # 4.8 is kept as a float
    assert "Question: what is the man doing\n" in server.requests[0].user  # the raw question
    assert scores.samples[2]["judge"]["activitynetqa"]["verdict"] == {"pred": "yes", "score": 4.8}


def test_videochatgpt_generic_three_kinds_and_dc499(server, tmp_path):
    docs = [{"video_name": f"v{i}", "question": f"What happens in video {i}?", "answer": "a dog runs"}
            for i in range(2)]
    scores = score_docs("videochatgpt_gen", docs, ["a dog", "a cat"], settings(server, tmp_path / "c"))
    assert scores.metrics == {"gpt_eval_score_correctness,none": 4.0, "gpt_eval_score_detailed_orientation,none": 3.0,
                              "gpt_eval_score_context,none": 5.0}  # int() truncates 3.9, as the reference
    assert len(server.requests) == 6 and (scores.n_judged, scores.n_judge_errors) == (2, 0)
    dc = score_docs("video_dc499", docs[:1], ["a dog"], settings(server, tmp_path / "c"))
    assert dc.metrics == {"gpt_eval_score,none": 3.0} and dc.judge["n_cache_hits"] == 1  # same prompt, same cache
    temporal = score_docs("videochatgpt_temporal", docs[:1], ["a dog"], settings(server, tmp_path / "c"))
    assert temporal.metrics == {"gpt_eval_score_temporal,none": 2.0}


def test_videochatgpt_consistency_pairs_rows_and_leaves_the_rest_out(server, tmp_path):
    rows = [("v1", "What runs?", "None"), ("v1", "None", "Which animal runs?"),  # a pair
            ("v2", "None", "Who jumps?"), ("v2", "What jumps?", "None"),  # question_2 first: lost
            ("v3", "What swims?", "None")]  # no partner
    docs = [{"video_name": v, "question_1": q1, "question_2": q2, "answer": "a dog"} for v, q1, q2 in rows]
    texts = ["a dog", "the dog", "x", "y", "z"]
    scores = score_docs("videochatgpt_consistency", docs, texts, settings(server, tmp_path / "c"))
    assert len(server.requests) == 1 and scores.metrics == {"gpt_eval_score_consistency,none": 4.0}
    user = server.requests[0].user
    assert "Question 2: Which animal runs?" in user and "Predicted Answer to Question 2: the dog" in user
    assert (scores.n_judged, scores.n_judge_errors, scores.judge["n_excluded"]) == (1, 0, 4)
    assert [s.get("excluded") is None for s in scores.samples] == [True, False, False, False, False]


# ---- verdicts read as the reference reads them ---------------------------------------------------------------

OUT_OF_RANGE = {"six": "{'score': 6}", "seven": "{'score': 7}", "minus": "{'score': -1}", "true": "{'score': True}"}


def out_of_range_judge(request: RecordedRequest) -> FakeResponse:
    return completion(OUT_OF_RANGE[_last(r"Predicted Answer(?: to Question 1)?: (.*)", request.user)])


@pytest.mark.parametrize("name, keys", [
    ("videochatgpt_gen", ["gpt_eval_score_correctness,none", "gpt_eval_score_detailed_orientation,none",
                          "gpt_eval_score_context,none"]),
    ("videochatgpt_temporal", ["gpt_eval_score_temporal,none"]),
    ("video_dc499", ["gpt_eval_score,none"]),
])
def test_video_scores_outside_0_to_5_are_kept_as_the_reference_keeps_them(tmp_path, name, keys):
    docs = [{"video_name": f"v{i}", "question": f"What happens in video {i}?", "answer": "a dog runs"}
            for i in range(4)]
    with FakeJudgeServer(out_of_range_judge) as fake:
        scores = score_docs(name, docs, list(OUT_OF_RANGE), settings(fake, tmp_path / "c"))
        assert len(fake.requests) == 4 * len(keys)
    assert scores.metrics == dict.fromkeys(keys, 13 / 4)  # (6 + 7 - 1 + 1) / 4
    assert [[s[key] for s in scores.samples] for key in keys] == [[6.0, 7.0, -1.0, 1.0]] * len(keys)
    assert (scores.n_judged, scores.n_judge_errors, scores.n_unresolved) == (4, 0, 0)


def test_videochatgpt_consistency_keeps_scores_outside_0_to_5(tmp_path):
    rows = [("v1", "What runs?", "None"), ("v1", "None", "Which animal runs?"),
            ("v2", "What jumps?", "None"), ("v2", "None", "Who jumps?")]
    docs = [{"video_name": v, "question_1": q1, "question_2": q2, "answer": "a dog"} for v, q1, q2 in rows]
    with FakeJudgeServer(out_of_range_judge) as fake:
        scores = score_docs("videochatgpt_consistency", docs, ["seven", "x", "minus", "y"],
                            settings(fake, tmp_path / "c"))
    assert scores.metrics == {"gpt_eval_score_consistency,none": 3.0}  # (7 - 1) / 2
    assert (scores.n_judged, scores.n_unresolved) == (2, 0)


def test_activitynetqa_reads_a_string_score_as_a_number(tmp_path):
    docs = [{"video_name": "v0", "question_id": "v_v0_0", "question": "what is the man doing", "answer": "skiing",
             "type": "0"}]
    with FakeJudgeServer(lambda request: completion("{'pred': 'yes', 'score': '3'}")) as fake:
        scores = score_docs("activitynetqa", docs, ["skiing"], settings(fake, tmp_path / "c"))
    assert scores.metrics == {"gpt_eval_accuracy,none": 100.0, "gpt_eval_score,none": 3.0}
    assert scores.samples[0]["judge"]["activitynetqa"]["verdict"] == {"pred": "yes", "score": 3.0}


def test_mathverse_empty_response_makes_no_judge_call_and_scores_wrong(server, tmp_path):
    _, scores = score("mathverse_testmini_vision_only", ["", "The angle is 40."], settings(server, tmp_path / "v"))
    assert len(server.requests) == 2  # extraction and judgement of the second response only
    assert scores.metrics == {"gpt_eval_score,none": 50.0}
    assert [s["gpt_eval_score,none"] for s in scores.samples] == [0.0, 1.0]
    assert "judge" not in scores.samples[0] and scores.samples[0]["unresolved"]
    assert (scores.n_judged, scores.n_judge_errors, scores.n_unresolved) == (1, 0, 1)


def test_mathvista_group_row_is_the_sample_weighted_mean_of_its_three_variants(server, tmp_path):
    docs = FIXTURES["mathvista_testmini_format"]()
    texts = {"mathvista_testmini_format": ["square", "There are 3 dots.", "1.5", "The slope is 0.25 here",
                                           "The values are 1 and 2"],
             "mathvista_testmini_cot": ["square", "3"],
             "mathvista_testmini_solution": ["circle", "3", "1.5", "The values are 1 and 2"]}
    entries = {}
    for name, answers in texts.items():
        task = load_task(name)
        responses = [Response(f"k{i}", name, i, text, 5, 3, 1) for i, text in enumerate(answers)]
        logged = {i: {"doc": docs[i], "arguments": {"text": f"prompt {i}"}} for i in range(len(answers))}
        entries[name] = task_entry(task, score_task(task, responses, GENERATION, "published", predict_only=False,
                                                    judge=settings(server, tmp_path / "v.sqlite"), logged=logged))
    assert [entries[name]["gpt_eval_score,none"] for name in texts] == [60.0, 100.0, 25.0]
    rows = group_entries(task_index().scored_groups(["mathvista_testmini"]), entries)
    assert rows["mathvista_testmini"]["gpt_eval_score,none"] == pytest.approx((60 * 5 + 100 * 2 + 25 * 4) / 11)
    assert rows["mathvista_testmini"]["n_samples"] == 11


# ---- failures, cache, no endpoint ------------------------------------------------------------------------

def mmvet_logged(n: int) -> tuple[list[Response], dict[int, dict]]:
    docs = [{"question_id": f"v1_{i}", "question": f"What is the colour of shape {i}?", "answer": "red",
             "capability": "rec"} for i in range(n)]
    responses = [Response(f"k{i}", "mmvet", i, f"red, shape {i}", 5, 3, 1) for i in range(n)]
    return responses, {i: {"doc": doc, "arguments": {"text": f"prompt {i}"}} for i, doc in enumerate(docs)}


def test_failures_are_counted_as_the_server_failed_them_and_never_averaged_in(tmp_path, caplog):
    def flaky(request: RecordedRequest) -> FakeResponse:
        shape = int(_last(r"shape (\d+)", request.user))
        if shape % 4 == 0:
            return FakeResponse(500, {"error": {"message": "overloaded"}})  # retried once, then a failure
        if shape % 4 == 1:
            return completion("a fine answer")  # unparsable, asked again up to 3 times, then a failure
        return completion("1.0")

    task = load_task("mmvet")
    responses, logged = mmvet_logged(20)
    with FakeJudgeServer(flaky) as server, caplog.at_level(logging.WARNING):
        scores = score_task(task, responses, GENERATION, "published", False, settings(server, tmp_path / "v.sqlite"),
                            logged)
    shapes = [int(_last(r"shape (\d+)", r.user)) for r in server.requests]
    failed_items = {s for r, s in zip(server.requests, shapes) if r.status == 500 or s % 4 == 1}
    n_requests = len(server.requests)
    assert sum(r.status == 500 for r in server.requests) == 5 * 2
    assert {s["doc_id"] for s in scores.samples if "judge_error" in s} == failed_items
    assert (scores.n_judged, scores.n_judge_errors) == (20 - len(failed_items), len(failed_items)) == (10, 10)
    assert scores.n_judged + scores.n_judge_errors == scores.n_samples - scores.n_errors
    assert scores.metrics == {"gpt_eval_score,none": 100.0}  # a failure counted as 0 would give 50
    assert scores.judge["judge_failures_by_reason"] == {"http_error": 5, "unparsable_verdict": 5}
    assert scores.judge["n_http_calls"] == n_requests == 5 * 2 + 5 * 3 + 10
    failed = [s for s in scores.samples if "judge_error" in s]
    assert len(failed) == 10 and all("gpt_eval_score,none" not in s for s in failed)
    entry = task_entry(task, scores)
    assert (entry["n_judged"], entry["n_judge_errors"], entry["n_samples"]) == (10, 10, 20)
    assert "10 sample(s) got no judge verdict and are left out of its metrics" in caplog.text


def test_second_scoring_hits_the_cache_and_an_offline_cache_is_enough(server, tmp_path):
    cache = tmp_path / "v.sqlite"
    texts = ["square", "There are 3 dots.", "1.5", "The slope is 0.25 here", "The values are 1 and 2"]
    _, first = score("mathvista_testmini_format", texts, settings(server, cache))
    calls = len(server.requests)
    _, second = score("mathvista_testmini_format", texts, settings(server, cache))
    assert len(server.requests) == calls == 3
    assert second.metrics == first.metrics and second.judge["n_cache_hits"] == 3
    assert second.judge["n_http_calls"] == 0
    # no key: the cache suffices, for the same judge (its endpoint is part of the verdicts' identity)
    offline = JudgeSettings(env={"OPENAI_BASE_URL": server.url}, cache_path=cache, progress=False)
    _, third = score("mathvista_testmini_format", texts, offline)
    assert third.metrics == first.metrics and third.judge["n_http_calls"] == 0
    assert [s.get("judge") for s in third.samples] == [
        None if s.get("judge") is None else {k: v | {"cached": True} for k, v in s["judge"].items()}
        for s in first.samples]


def test_no_endpoint_and_a_missing_verdict_is_a_one_line_error_naming_the_task(tmp_path):
    with pytest.raises(OvEvalError, match=r"^task 'mmvet': a judge verdict it needs is not in the verdict cache "
                                          r".*OPENAI_API_KEY"):
        score("mmvet", ["red"], JudgeSettings(env={}, cache_path=tmp_path / "v.sqlite", progress=False))
    with pytest.raises(OvEvalError, match="task 'mmvet' needs an LLM judge .*no judge endpoint.*--predict_only"):
        load_task("mmvet").check_scorable(predict_only=False, judge_available=False)
    load_task("mmvet").check_scorable(predict_only=False, judge_available=True)
    assert not judge_endpoint_configured({}) and judge_endpoint_configured({"OPENAI_API_KEY": "x"})


# ---- end to end: eval, rescore, key leak -----------------------------------------------------------------

def _eval_args(checkpoint: Path, output: Path, data: Path, *extra: str) -> list[str]:
    return ["--model", "llava_onevision", "--model_args", f"pretrained={checkpoint},conv_template=qwen_1_5",
            "--tasks", "mmvet", "--limit", "2", "--log_samples", "--output_path", str(output), "--workers", "0",
            "--verbosity", "WARNING", "--gen_kwargs", "max_new_tokens=8", "--dataset_override", f"mmvet={data}",
            *extra]


def _metrics(results: dict) -> dict:
    return {t: {k: v for k, v in e.items() if "," in k or k.startswith("n_")} for t, e in results["results"].items()}


def _assert_no_key_anywhere(folder: Path, *texts: str) -> None:
    for path in [p for p in folder.rglob("*") if p.is_file()]:
        assert KEY.encode() not in path.read_bytes(), path
    for text in texts:
        assert KEY not in text


def _grade_everything(request: RecordedRequest) -> FakeResponse:
    return completion("0.5")


def _judge_env(monkeypatch, server: FakeJudgeServer, cache: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OV_EVAL_JUDGE_CACHE", str(cache))
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_predict_only_run_then_rescore_with_the_judge_then_offline(tiny_checkpoint, tmp_path, monkeypatch, capsys,
                                                                   caplog):
    from ov_eval.cli import main

    data = write_fixture("mmvet", tmp_path / "data")
    output = tmp_path / "out"
    assert main(_eval_args(tiny_checkpoint, output, data, "--predict_only")) == 0
    [run_dir] = [p for p in output.iterdir() if p.is_dir()]
    [predicted] = sorted(run_dir.glob("*_results.json"))
    before = predicted.read_bytes()
    with FakeJudgeServer(_grade_everything) as server, caplog.at_level(logging.DEBUG):
        _judge_env(monkeypatch, server, tmp_path / "cache.sqlite")
        assert rescore_main([str(run_dir), "--verbosity", "WARNING"]) == 0
        assert len(server.requests) == 2
        first = read_newest(run_dir)
        assert first["results"]["mmvet"]["gpt_eval_score,none"] == 50.0
        assert (first["results"]["mmvet"]["n_judged"], first["results"]["mmvet"]["n_judge_errors"]) == (2, 0)
        assert first["rescored_from"]["results"] == predicted.name
        assert first["provenance"]["mmvet"]["judge"]["judge_models"] == {"mmvet_grade": "gpt-4-0613"}
        assert load_run(sorted(run_dir.glob("*_results.json"))[-1]).entries["mmvet"]["n_judged"] == 2
        # a rescore of the rescored run, with another judge model: new verdicts
        assert rescore_main([str(run_dir), "--judge_model", "judge-b", "--verbosity", "WARNING"]) == 0
        assert len(server.requests) == 4 and {r.body["model"] for r in server.requests[2:]} == {"judge-b"}
    # offline (no key; the server is gone): the cache holds every verdict of this judge, whose endpoint
    # (OPENAI_BASE_URL, still set) is part of the verdicts' identity
    monkeypatch.delenv("OPENAI_API_KEY")
    assert rescore_main([str(predicted), "--verbosity", "WARNING"]) == 0
    assert _metrics(read_newest(run_dir)) == _metrics(first)
    assert predicted.read_bytes() == before and len(list(run_dir.glob("*_results.json"))) == 4
    samples = [json.loads(line) for line in sorted(run_dir.glob("*_samples_mmvet.jsonl"))[-1].read_text().splitlines()]
    assert [s["judge"]["mmvet_grade"]["cached"] for s in samples] == [True, True]
    out = capsys.readouterr()
    _assert_no_key_anywhere(tmp_path, out.out, out.err, caplog.text)


def read_newest(run_dir: Path) -> dict:
    return json.loads(sorted(run_dir.glob("*_results.json"))[-1].read_text())


def test_rescore_errors_name_the_file_or_task(tmp_path):
    run_dir = tmp_path / "model"
    run_dir.mkdir()
    with pytest.raises(OvEvalError, match="no \\*_results.json found"):
        rescore_main([str(run_dir)])
    (run_dir / "20250101_000000_results.json").write_text(json.dumps(
        {"results": {"mmvet": {}}, "config": {"tasks": ["mmvet"]}, "date": "20250101_000000"}))
    with pytest.raises(OvEvalError, match="task 'mmvet': no logged samples 20250101_000000_samples_mmvet.jsonl "
                                          ".*--log_samples"):
        rescore_main([str(run_dir)])
    with pytest.raises(OvEvalError, match="--tasks: task 'mmvt' is not in .*did you mean 'mmvet'"):
        rescore_main([str(run_dir), "--tasks", "mmvt"])


def _runner_has_judge_flags() -> bool:
    from ov_eval.runner import RunConfig

    return "judge_model" in {f.name for f in dataclasses.fields(RunConfig)}


@pytest.mark.skipif(not _runner_has_judge_flags(), reason="runner/cli judge wiring not applied yet")
def test_eval_with_the_judge_then_rescore_makes_no_call_and_changes_nothing(tiny_checkpoint, tmp_path, monkeypatch,
                                                                            capsys, caplog):
    from ov_eval.cli import main

    data = write_fixture("mmvet", tmp_path / "data")
    output = tmp_path / "out"
    with FakeJudgeServer(_grade_everything) as server, caplog.at_level(logging.DEBUG):
        _judge_env(monkeypatch, server, tmp_path / "cache.sqlite")
        assert main(_eval_args(tiny_checkpoint, output, data, "--judge_concurrency", "2")) == 0
        assert len(server.requests) == 2
        evaluated = read_results(output)
        assert evaluated["results"]["mmvet"]["gpt_eval_score,none"] == 50.0
        assert evaluated["provenance"]["mmvet"]["judge"]["n_http_calls"] == 2
        [run_dir] = [p for p in output.iterdir() if p.is_dir()]
        assert rescore_main([str(run_dir), "--verbosity", "WARNING"]) == 0
        assert len(server.requests) == 2  # everything came from the cache
    rescored = read_newest(run_dir)
    assert _metrics(rescored) == _metrics(evaluated)
    entry = evaluated["results"]["mmvet"]
    assert isinstance(entry["gpt_eval_score_stderr,none"], float) and len(entry["gpt_eval_score_ci95,none"]) == 2
    assert {k: v for k, v in rescored["results"]["mmvet"].items() if "_stderr," in k or "_ci95," in k} == \
        {k: v for k, v in entry.items() if "_stderr," in k or "_ci95," in k}
    assert rescored["uncertainty"] == evaluated["uncertainty"]
    first, last = (sorted(run_dir.glob("*_samples_mmvet.jsonl"))[i] for i in (0, -1))
    values = [[json.loads(line)["gpt_eval_score,none"] for line in f.read_text().splitlines()] for f in (first, last)]
    assert values[0] == values[1] == [0.5, 0.5]
    out = capsys.readouterr()
    _assert_no_key_anywhere(tmp_path, out.out, out.err, caplog.text)


@pytest.mark.skipif(not _runner_has_judge_flags(), reason="runner/cli judge wiring not applied yet")
def test_eval_of_a_judge_task_without_an_endpoint_fails_before_generation(tiny_checkpoint, tmp_path, monkeypatch,
                                                                          capsys):
    from ov_eval.cli import main

    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    data = write_fixture("mmvet", tmp_path / "data")
    assert main(_eval_args(tiny_checkpoint, tmp_path / "out", data)) == 2
    assert "task 'mmvet' needs an LLM judge" in capsys.readouterr().err
    assert not list((tmp_path / "out").rglob("*_results.json"))
