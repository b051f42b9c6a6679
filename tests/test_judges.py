"""The judge stage against a real chat-completions server on 127.0.0.1 (tests/fake_openai_server.py)."""
from __future__ import annotations

import logging
import random
import re
import subprocess
import sys
import textwrap

import pytest

from ov_eval.judges import (JUDGE_KINDS, JudgeFailure, JudgeInputError, QAVerdict, Verdict, VerdictCache, VerdictParseError, cache_key, judge_all,
                            load_prompt)
from fake_openai_server import FakeJudgeServer, FakeResponse, RecordedRequest, completion
from ov_eval.openai_client import ChatClient, ChatError, EndpointConfigError
from ov_eval.retry import RetryPolicy, retry_after_s
from ov_eval.judges.verdicts import (parse_binary_judgement, parse_extraction, parse_mmvet_grade,
                                     parse_option_letter, parse_qa_verdict, parse_qa_verdict_corrected, parse_review_scores,
                                     parse_score_dict)

KEY = "sk-test-SECRET123"
FAST = RetryPolicy(max_tries=3, base_delay_s=0.01, max_delay_s=0.05)


def make_client(server: FakeJudgeServer, timeout_s: float = 2.0) -> ChatClient:
    return ChatClient(api_key=KEY, base_url=server.url, timeout_s=timeout_s, retry=FAST, env={}, seed=0)


# ---- verdict parsers: literal cases --------------------------------------------------------------------------

@pytest.mark.parametrize("reply, expected", [
    ("  5 \n", "5"), ("[12, 9, 7]", "[12, 9, 7]"), ("B", "B"), ("", ""),
])
def test_parse_extraction(reply, expected):
    assert parse_extraction(reply) == expected


@pytest.mark.parametrize("reply, expected", [
    ("Judgement: 1", 1), ("Judgement: 0", 0), ("0", 0), (" Judgement:1\n", 1),
])
def test_parse_binary_judgement(reply, expected):
    assert parse_binary_judgement(reply) == expected


@pytest.mark.parametrize("reply", ["Judgement: yes", "Judgement: 1. They match.", "", "Judgement: 2"])
def test_parse_binary_judgement_rejects(reply):
    with pytest.raises(VerdictParseError):
        parse_binary_judgement(reply)


@pytest.mark.parametrize("reply, expected", [
    ("{'pred': 'yes', 'score': 4.8}", QAVerdict("yes", 4.8)),  # the float score is kept (release rules)
    ("{'pred': 'no', 'score': 0}", QAVerdict("no", 0)),
    ("  {'pred': 'Yes', 'score': 5}", QAVerdict("Yes", 5)),  # case kept: accuracy counts only 'yes'
    ("{'pred': 'yes', 'score': '3'}", QAVerdict("yes", 3.0)),  # float('3'), as the reference
    ("{'pred': 'no', 'score': True}", QAVerdict("no", 1.0)),
    ("{'pred': 'yes', 'score': 6}", QAVerdict("yes", 6.0)),  # no range is imposed
])
def test_parse_qa_verdict(reply, expected):
    assert parse_qa_verdict(reply) == expected
    assert parse_qa_verdict_corrected(reply) == expected


@pytest.mark.parametrize("reply", [
    "Sure! {'pred': 'yes', 'score': 4}", "{'pred': 'yes'}", "['yes', 4]", "{'pred': 'yes', 'score': 'four'}",
    "{'pred': 'yes', 'score': 'nan'}", "{'pred': 'yes', 'score': 1e999}", "{'pred': 'yes', 'score': None}",
    "{'pred': 1, 'score': 4}", "yes, 4",
])
def test_parse_qa_verdict_published_rejects(reply):
    with pytest.raises(VerdictParseError):
        parse_qa_verdict(reply)


def test_parse_qa_verdict_corrected_cuts_out_the_dict():
    assert parse_qa_verdict_corrected("Sure! {'pred': 'yes', 'score': 4}\nHope this helps.") == QAVerdict("yes", 4)
    with pytest.raises(VerdictParseError):
        parse_qa_verdict_corrected("yes, 4")


@pytest.mark.parametrize("reply, expected", [
    ("{'score': 4.8}", 4),  # int() truncates, as the reference (release rules)
    ("{'score': 5}", 5), ("{'score': '3'}", 3), ("{'score': 0.9}", 0), ("{'pred': 'yes', 'score': 2}", 2),
    ("{'score': 6}", 6), ("{'score': 7}", 7), ("{'score': -1}", -1),  # outside 0-5: kept, as the reference
    ("{'score': True}", 1), ("{'score': False}", 0),  # int(True)
])
def test_parse_score_dict(reply, expected):
    assert parse_score_dict(reply) == expected


@pytest.mark.parametrize("reply", ["{'score': 'high'}", "Score: 4", "{'pred': 'yes'}", "{'score': '4.8'}",
                                   "{'score': 1e999}", "{'score': None}", ""])
def test_parse_score_dict_rejects(reply):
    with pytest.raises(VerdictParseError):
        parse_score_dict(reply)


@pytest.mark.parametrize("reply, expected", [
    ("0.5", 0.5), ("1.0 The prediction names both colours.", 1.0), ("0.7\n", 0.7), ("0", 0.0), (" 0.3", 0.3),
])
def test_parse_mmvet_grade(reply, expected):
    assert parse_mmvet_grade(reply) == expected


@pytest.mark.parametrize("reply", ["1.5", "-0.1", "Correct", "0.5\nbecause it is half right", "nan", ""])
def test_parse_mmvet_grade_rejects(reply):
    with pytest.raises(VerdictParseError):
        parse_mmvet_grade(reply)


@pytest.mark.parametrize("reply, expected", [
    ("8 9\nAssistant 1 is accurate; Assistant 2 adds detail.", (8.0, 9.0)), ("7,8", (7.0, 8.0)),
    ("7.5 9", (7.5, 9.0)), ("10 3\n", (10.0, 3.0)),
])
def test_parse_review_scores(reply, expected):
    assert parse_review_scores(reply) == expected


@pytest.mark.parametrize("reply", [
    "8, 9",  # comma and space make three fields, as in the reference
    "Assistant 1: 8", "8", "", "8 9 10", "a b", "\n8 9",
])
def test_parse_review_scores_rejects(reply):
    with pytest.raises(VerdictParseError):
        parse_review_scores(reply)


@pytest.mark.parametrize("reply, expected", [("A", "A"), ("E", "E"), (" C\n", "C"), ("B.", "B"), ("(D)", "D"),
                                             ("Your output: C", "C")])
def test_parse_option_letter(reply, expected):
    assert parse_option_letter(reply) == expected


@pytest.mark.parametrize("reply", ["", "A or B", "F", "teddy bear"])
def test_parse_option_letter_rejects(reply):
    with pytest.raises(VerdictParseError):
        parse_option_letter(reply)


# ---- prompts, keys, retry policy -----------------------------------------------------------------------------

def test_every_kind_has_a_versioned_paraphrased_prompt():
    assert len(JUDGE_KINDS) == 13
    for kind in JUDGE_KINDS.values():
        prompt = kind.prompt
        assert prompt.version == f"{prompt.name}/paraphrased-1"
        assert prompt.provenance == "paraphrased; replace with the reference text for exact published parity"
        assert prompt.fields and prompt.max_tokens > 0
    assert JUDGE_KINDS["activitynetqa_corrected"].prompt is JUDGE_KINDS["activitynetqa"].prompt
    assert {k: (p.temperature, p.max_tokens) for k, p in
            ((k, load_prompt(k)) for k in ("llava_wild_review", "mmvet_grade", "mathverse_judgement"))} == {
        "llava_wild_review": (0.2, 1024), "mmvet_grade": (0.0, 128), "mathverse_judgement": (0.0, 8)}


def test_render_fills_placeholders_verbatim():
    messages = load_prompt("mathverse_judgement").render(
        {"question": "What is {x}?", "answer": "9 cm^2", "extraction": "9"})
    assert len(messages) == 1 and messages[0]["role"] == "user"
    assert messages[0]["content"].endswith("[Question]: What is {x}?\n[Standard Answer]: 9 cm^2\n"
                                           "[Model_answer] : 9\nJudgement:")
    review = load_prompt("llava_wild_review").render(
        {"context": "A cat.", "question": "What is it?", "reference_answer": "A cat.", "model_answer": "A dog."})
    assert review[0] == {"role": "system",
                         "content": "You are a helpful and precise assistant for checking the quality of the answer."}
    assert review[1]["content"].startswith("[Context]\nA cat.\n\n[Question]\nWhat is it?\n\n[Assistant 1]\nA cat.\n\n"
                                           "[End of Assistant 1]\n\n[Assistant 2]\nA dog.\n\n[End of Assistant 2]")
    assert load_prompt("mathvista_extract").render({"query": "Q", "response": "R"})[0]["content"].endswith(
        "\n\nQ\n\nR\n\nExtracted answer: ")


def test_cache_key_is_stable_and_covers_every_input():
    messages = [{"role": "user", "content": "Is 2+2=4?"}]
    key = cache_key("gpt-4-0613", "mmvet_grade", "mmvet_grade/paraphrased-1", messages, 0.0, 128)
    # pinned: a change of the key's recipe silently empties every cache, so it must be deliberate
    assert key == "6d2116a52f92cecd8f135d7110d703ce5bf6de636616ed8d68b25f38af5e63bf"
    variants = {cache_key("gpt-4o", "mmvet_grade", "mmvet_grade/paraphrased-1", messages, 0.0, 128),
                cache_key("gpt-4-0613", "mmvet_grade", "mmvet_grade/paraphrased-2", messages, 0.0, 128),
                cache_key("gpt-4-0613", "mmvet_grade", "mmvet_grade/paraphrased-1", messages, 0.5, 128),
                cache_key("gpt-4-0613", "mmvet_grade", "mmvet_grade/paraphrased-1", messages, 0.0, 64),
                cache_key("gpt-4-0613", "mmvet_grade", "mmvet_grade/paraphrased-1",
                          [{"role": "user", "content": "Is 2+2=5?"}], 0.0, 128)}
    assert len(variants) == 5 and key not in variants


def test_retry_policy_backoff_and_retry_after():
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=8.0)
    rng = random.Random(0)
    for failed, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (9, 8.0)]:
        assert ceiling / 2 <= policy.backoff_s(failed, rng) <= ceiling
    assert policy.wait_s(3, 1.0, rng) == 1.0
    assert RetryPolicy(max_retry_after_s=30.0).wait_s(1, 3600.0, rng) == 30.0
    assert retry_after_s({"retry-after": "1"}) == 1.0
    assert retry_after_s({"retry-after-ms": "250"}) == 0.25
    assert retry_after_s({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert retry_after_s({}) is None


# ---- the stage against a scripted server ---------------------------------------------------------------------

GRADES = {n: f"{n / 10:.1f}" for n in range(15)}
# attempt -> what the server does for an item; the last entry repeats
SCRIPTS = {
    6: ["500", "ok"], 7: ["429", "ok"], 8: ["slow", "ok"], 9: ["malformed", "ok"], 10: ["unparsable", "ok"],
    11: ["500"], 12: ["unparsable"], 13: ["400"], 14: ["slow"],
}


def scripted(request: RecordedRequest) -> FakeResponse:
    item = int(re.search(r"ITEM-(\d+)", request.user).group(1))
    script = SCRIPTS.get(item, ["ok"])
    action = script[min(request.attempt, len(script) - 1)]
    return {
        "ok": completion(GRADES[item]),
        "500": FakeResponse(500, {"error": {"message": "upstream overloaded"}}),
        "429": FakeResponse(429, {"error": {"message": "rate limited"}}, {"Retry-After": "1"}),
        "400": FakeResponse(400, {"error": {"message": "bad request"}}),
        "slow": FakeResponse(delay_s=1.0, body=completion(GRADES[item]).body),
        "malformed": FakeResponse(200, b'{"id": "chatcmpl-x", "choices": [{"message": {"content": "0.'),
        "unparsable": completion("I would rather not grade this."),
    }[action]


def mmvet_items(numbers):
    return [(f"doc{n}", "mmvet_grade", {"question": f"ITEM-{n:02d}: what is shown?", "answer": "a cat",
                                         "prediction": "a cat"}) for n in numbers]


def test_faults_are_retried_or_counted_and_counts_match_the_server(tmp_path):
    with FakeJudgeServer(scripted) as server, VerdictCache(tmp_path / "verdicts.sqlite") as cache:
        run = judge_all(mmvet_items(range(15)), client=make_client(server, timeout_s=0.5), cache=cache,
                        model="judge-x", concurrency=4, verdict_tries=2, progress=False)
        requests = list(server.requests)

    assert {i: o.value for i, o in run.outcomes.items() if isinstance(o, Verdict)} == {
        "doc0": 0.0, "doc1": 0.1, "doc2": 0.2, "doc3": 0.3, "doc4": 0.4, "doc5": 0.5, "doc6": 0.6, "doc7": 0.7,
        "doc8": 0.8, "doc9": 0.9, "doc10": 1.0}
    failures = {f.item_id: (f.reason, f.tries) for f in run.failures()}
    assert failures == {"doc11": ("http_error", 3), "doc12": ("unparsable_verdict", 2), "doc13": ("http_error", 1),
                        "doc14": ("timeout", 3)}
    assert isinstance(run.outcomes["doc13"], JudgeFailure) and run.outcomes["doc13"].detail.startswith("HTTP 400")
    assert (run.n_judged, run.n_judge_errors, run.n_cache_hits) == (11, 4, 0)
    assert run.n_http_calls == len(requests) == 6 + 5 * 2 + 3 + 2 + 1 + 3
    assert run.failures_by_reason == {"http_error": 2, "unparsable_verdict": 1, "timeout": 1}
    assert run.models == {"mmvet_grade": "judge-x"}
    assert all(r.body["model"] == "judge-x" and r.body["temperature"] == 0.0 and r.body["max_tokens"] == 128
               for r in requests)

    item7 = [r for r in requests if "ITEM-07" in r.user]
    assert [r.status for r in item7] == [429, 200]
    assert item7[1].received_at - item7[0].responded_at >= 1.0  # Retry-After: 1 was waited out
    assert [r.status for r in requests if "ITEM-11" in r.user] == [500, 500, 500]


def test_second_run_against_the_same_cache_makes_no_http_calls(tmp_path):
    path = tmp_path / "verdicts.sqlite"
    items = mmvet_items(range(6)) + [("w1", "llava_wild_review", {
        "context": "ITEM-00", "question": "q", "reference_answer": "a", "model_answer": "b"})]

    def responder(request):
        return completion("8 7\nfine" if request.body["messages"][0]["role"] == "system" else "0.4")

    with FakeJudgeServer(responder) as server:
        with VerdictCache(path) as cache:
            first = judge_all(items, client=make_client(server), cache=cache, progress=False)
        assert (first.n_http_calls, first.n_cache_hits, len(server.requests)) == (7, 0, 7)
        with VerdictCache(path) as cache:
            second = judge_all(items, client=make_client(server), cache=cache, progress=False)
        assert (second.n_http_calls, second.n_cache_hits, second.n_judged, len(server.requests)) == (0, 7, 7, 7)
    assert second.outcomes["w1"].value == (8.0, 7.0) and second.outcomes["doc3"].value == 0.4
    assert second.models == {"mmvet_grade": "gpt-4-0613", "llava_wild_review": "gpt-4-0613"}
    # a full cache needs no credentials at all
    with VerdictCache(path) as cache:
        keyless = judge_all(items, client=ChatClient(env={}), cache=cache, progress=False)
        assert keyless.n_cache_hits == 7
        with pytest.raises(EndpointConfigError, match="OPENAI_API_KEY"):
            judge_all(mmvet_items([99]), client=ChatClient(env={}), cache=cache, progress=False)


def test_unparsable_cached_reply_is_asked_again(tmp_path):
    with FakeJudgeServer(lambda r: completion("0.9")) as server, VerdictCache(tmp_path / "v.sqlite") as cache:
        item = mmvet_items([1])
        prompt = load_prompt("mmvet_grade")
        key = cache_key("gpt-4-0613", prompt.name, prompt.version, prompt.render(item[0][2]), 0.0, 128)
        cache.put(key, "not a grade", model="gpt-4-0613", prompt_version=prompt.version)
        run = judge_all(item, client=make_client(server), cache=cache, progress=False)
        assert (run.outcomes["doc1"].value, run.n_http_calls, cache.get(key)) == (0.9, 1, "0.9")


def test_bad_items_fail_before_any_call():
    with FakeJudgeServer(lambda r: completion("0.5")) as server:
        client = make_client(server)
        with pytest.raises(JudgeInputError, match=r"judge item 'a': unknown judge kind 'mmvet_grad' "
                                                  r"\(did you mean 'mmvet_grade'\?\)"):
            judge_all([("a", "mmvet_grad", {})], client=client, progress=False)
        with pytest.raises(JudgeInputError, match=r"judge item 'b'.*missing fields \['prediction'\]"):
            judge_all([("b", "mmvet_grade", {"question": "q", "answer": "a"})], client=client, progress=False)
        with pytest.raises(JudgeInputError, match="'doc1' appears twice"):
            judge_all(mmvet_items([1, 1]), client=client, progress=False)
        assert server.requests == []


def test_the_api_key_never_leaks(tmp_path, caplog):
    for name in (None, "openai", "httpx2", "httpcore2", "ov_eval"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored after the test

    def responder(request):
        if "ITEM-01" in request.user:  # a server that echoes the key back in its error
            return FakeResponse(401, {"error": {"message": f"Incorrect API key provided: {KEY}"}})
        if "ITEM-02" in request.user:
            return FakeResponse(503, {"error": {"message": f"key {KEY} is throttled"}})
        return completion("0.5")

    texts = []
    with FakeJudgeServer(responder) as server, VerdictCache(tmp_path / "v.sqlite") as cache:
        client = make_client(server)
        run = judge_all(mmvet_items([0, 1, 2]), client=client, cache=cache, progress=False)
        with pytest.raises(ChatError) as raised:
            client.complete("m", [{"role": "user", "content": "ITEM-01"}], temperature=0.0, max_tokens=8)
        texts += [str(raised.value), repr(raised.value), raised.value.detail, repr(client), repr(vars(client))]
        assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"  # the key did go over the wire
    texts += [f.detail for f in run.failures()] + [caplog.text]
    texts += [r.getMessage() for r in caplog.records]
    assert run.failures_by_reason == {"http_error": 2}
    assert "HTTP 401: Incorrect API key provided: ***" in run.outcomes["doc1"].detail
    assert "Sending HTTP Request" in caplog.text and "503" in caplog.text  # the library and our retries logged ...
    assert not [t for t in texts if "SECRET123" in t]  # ... without the key
    cache_bytes = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"0.5" in cache_bytes and b"SECRET123" not in cache_bytes


def test_azure_variant_from_the_environment():
    with FakeJudgeServer(lambda r: completion("Judgement: 1")) as server:
        env = {"AZURE_OPENAI_API_KEY": KEY, "AZURE_OPENAI_ENDPOINT": server.endpoint,
               "OPENAI_API_VERSION": "2024-06-01"}
        client = ChatClient(env=env, retry=FAST)
        assert client.api_type == "azure"
        reply = client.complete("judge-deployment", [{"role": "user", "content": "x"}], temperature=0.0,
                                max_tokens=8)
        assert (reply.text, reply.tries) == ("Judgement: 1", 1)
        assert server.requests[0].path == "/openai/deployments/judge-deployment/chat/completions?api-version=2024-06-01"
        assert server.requests[0].headers["api-key"] == KEY
    with pytest.raises(EndpointConfigError, match="OPENAI_API_VERSION"):
        ChatClient(env={"AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9", "AZURE_OPENAI_API_KEY": KEY}).complete(
            "m", [], temperature=0.0, max_tokens=1)


def test_cache_is_shared_by_several_processes(tmp_path):
    path = tmp_path / "shared.sqlite"
    writer = textwrap.dedent(f"""
        import sys
        from ov_eval.judges.cache import VerdictCache
        with VerdictCache({str(path)!r}) as cache:
            for i in range(100):
                cache.put(f"{{sys.argv[1]}}-{{i}}", "reply", model="m", prompt_version="v")
                cache.get(f"{{sys.argv[1]}}-{{i // 2}}")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", writer, tag]) for tag in ("a", "b", "c")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    with VerdictCache(path) as cache:
        assert len(cache) == 300 and cache.get("b-99") == "reply" and cache.get("d-0") is None
        assert cache._connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_thread_pool_bounds_the_calls_in_flight(tmp_path):
    with FakeJudgeServer(lambda r: completion("0.5"), latency_s=0.05) as server:
        run = judge_all(mmvet_items(range(18)), client=make_client(server), concurrency=3, progress=False)
        events = sorted([(r.received_at, 1) for r in server.requests] + [(r.responded_at, -1) for r in server.requests])
    in_flight = [sum(step for _, step in events[:i + 1]) for i in range(len(events))]
    assert run.n_judged == 18 and 2 <= max(in_flight) <= 3
