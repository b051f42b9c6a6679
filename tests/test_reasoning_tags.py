"""Thinking models: `--reasoning_tags` strips the reasoning before filters and metrics, the samples keep the raw
text (and a server's `reasoning_content`), and reasoning that never closed is unresolved, never scored."""
from __future__ import annotations

import pytest

from conftest import read_results, read_samples, run_ov_eval
from fake_openai_server import FakeJudgeServer
from ov_eval.errors import OvEvalError
from ov_eval.rescore import rescore_main
from ov_eval.scoring.reasoning import ReasoningSplit, parse_reasoning_tags, split_reasoning
from scripted_server import by_document, reply, served_args

THINK = [["<think>", "</think>"]]


@pytest.mark.parametrize("text, split", [
    ("<think>a</think> B", ReasoningSplit("B", "a", False)),
    ("a</think>B", ReasoningSplit("B", "a", False)),  # the opening tag was in the prompt
    ("<think>a", ReasoningSplit("", "a", True)),
    ("x<think>a</think>y<think>b</think> z", ReasoningSplit("xy z", "a\nb", False)),
    ("plain answer", ReasoningSplit("plain answer", None, False)),
])
def test_split_reasoning(text, split):
    assert split_reasoning(text, THINK) == split


def test_several_tag_pairs():
    assert parse_reasoning_tags("<think>,</think>; <r>,</r>") == [["<think>", "</think>"], ["<r>", "</r>"]]
    assert split_reasoning("<r>one</r><think>two</think>C", parse_reasoning_tags("<think>,</think>;<r>,</r>")) == \
        ReasoningSplit("C", "two\none", False)
    with pytest.raises(OvEvalError, match=r"^--reasoning_tags: '<think>' is not OPEN,CLOSE"):
        parse_reasoning_tags("<think>")


REPLIES = {  # demo_colours' answers: red, red, green, green
    0: ("<think>the shape looks red</think> red", None),
    1: ("<think>red", None),  # ran out of tokens while thinking: the reasoning says "red", never scored
    2: ("green", None),
    3: ("<think>x</think>blue", "the server's own thoughts"),
}


def test_a_served_thinking_model(tmp_path):
    out = tmp_path / "out"
    responder = by_document(lambda d: reply(REPLIES[d][0], 10, 5, reasoning=REPLIES[d][1]))
    with FakeJudgeServer(responder) as server:
        result = run_ov_eval(served_args(server.url, out) + ["--reasoning_tags", "<think>,</think>",
                                                             "--gen_kwargs", "max_new_tokens=4096"])
    assert result.returncode == 0, result.stderr[-3000:]
    results = read_results(out)
    entry = results["results"]["demo_colours"]
    assert (entry["exact_match,none"], entry["n_truncated_reasoning"], entry["n_unresolved"]) == (0.5, 1, 1)
    assert results["config"]["reasoning_tags"] == THINK
    assert results["provenance"]["demo_colours"]["generation"]["max_new_tokens"] == 4096
    samples = read_samples(out, "demo_colours")
    assert [s["resps"] for s in samples] == [[[REPLIES[d][0]]] for d in range(4)]
    assert [s["filtered_resps"] for s in samples] == [["red"], [""], ["green"], ["blue"]]
    assert [s.get("reasoning") for s in samples] == ["the shape looks red", "red", None, "x"]
    assert [s.get("reasoning_truncated") for s in samples] == [False, True, None, False]
    assert [s.get("reasoning_content") for s in samples] == [None, None, None, "the server's own thoughts"]
    assert [s["unresolved"] for s in samples] == [False, True, False, False]
    # rescoring uses the run's tags and gives the same figures
    [run_dir] = [p for p in out.iterdir() if p.is_dir()]
    assert rescore_main([str(run_dir), "--verbosity", "WARNING"]) == 0
    [_, rescored] = sorted(run_dir.glob("*_results.json"))
    import json

    again = json.loads(rescored.read_text())["results"]["demo_colours"]
    assert (again["exact_match,none"], again["n_truncated_reasoning"]) == (0.5, 1)


def test_without_tags_nothing_is_stripped_and_nothing_counted(tmp_path):
    out = tmp_path / "out"
    with FakeJudgeServer(by_document(lambda d: reply(REPLIES[d][0], 10, 5))) as server:
        assert run_ov_eval(served_args(server.url, out)).returncode == 0
    entry = read_results(out)["results"]["demo_colours"]
    assert entry["exact_match,none"] == 0.25 and "n_truncated_reasoning" not in entry  # only "green" matches


def test_bad_tags_are_one_line():
    result = run_ov_eval(["--tasks", "demo_colours", "--reasoning_tags", "<think>,<think>"])
    assert (result.returncode, result.stderr) == (
        2, "ov_eval: error: --reasoning_tags: '<think>,<think>': the opening and closing tags must differ\n")
