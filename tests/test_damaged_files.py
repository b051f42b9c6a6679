"""Damaged inputs of the other subcommands, empty datasets, malformed endpoint URLs and the messages of issue 19:
one line naming the file and the field, exit 2, no traceback (real CLI runs)."""
import json

import datasets
import pytest

from conftest import REPO, run_ov_eval
from fake_openai_server import FakeJudgeServer, FakeResponse
from fixtures.logged_runs import write_run
from ov_eval.openai_client import ChatClient, ChatError, RetryPolicy

DATE = "20260101_000000"
VALUES = [1.0, 0.0, 1.0, 1.0]


def one_line_error(args, expected, **env):
    done = run_ov_eval(args, timeout=120, **env)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == [f"ov_eval: error: {expected}"]
    assert done.returncode == 2


def edit_results(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def samples_path(results):
    return results.with_name(results.name.replace("_results.json", "_samples_demo_colours.jsonl"))


def not_utf8(results):
    results.write_bytes(b'{"results": {"caf\xe9": {}}}')
    return f"{results}: not UTF-8 text (byte 0xe9 at position 17)"


def configs_a_list(results):
    edit_results(results, lambda d: d.update(configs=["demo_colours"]))
    return f"{results}: field 'configs' must be a mapping, not a list"


def n_samples_a_number(results):
    edit_results(results, lambda d: d.update({"n-samples": 4}))
    return f"{results}: field 'n-samples' must be a mapping, not a number (4)"


def n_samples_counts_words(results):
    edit_results(results, lambda d: d.update({"n-samples": {"demo_colours": {"effective": "four", "original": 4}}}))
    return f"{results}: field 'n-samples.demo_colours.effective' must be a whole number, not a string (\"four\")"


def bootstrap_iters_a_word(results):
    edit_results(results, lambda d: d.update(uncertainty={"bootstrap_iters": "many", "bootstrap_seed": 1}))
    return f"{results}: field 'uncertainty.bootstrap_iters' must be a whole number, not a string (\"many\")"


def model_args_a_list(results):
    edit_results(results, lambda d: d["config"].update(model_args=["pretrained=x"]))
    return f"{results}: field 'config.model_args' must be a mapping or a k=v,... string, not a list"


def arguments_a_string(results):
    path = samples_path(results)
    lines = path.read_text().splitlines()
    record = json.loads(lines[1])
    record["arguments"] = "What colour?"
    lines[1] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    return f"{path}:2: field 'arguments' must be a mapping, not a string (\"What colour?\")"


def doc_id_a_string(results):
    path = samples_path(results)
    lines = path.read_text().splitlines()
    lines[0] = json.dumps({**json.loads(lines[0]), "doc_id": "0"})
    path.write_text("\n".join(lines) + "\n")
    return f"{path}:1: field 'doc_id' must be a whole number, not a string (\"0\")"


def samples_not_utf8(results):
    path = samples_path(results)
    path.write_bytes(path.read_bytes() + b'{"doc_id": 9, "doc": {"q": "\xff"}}\n')
    return f"{path}: not UTF-8 text (byte 0xff at position {len(path.read_bytes()) - 5})"


# each damage through at least one reader, each reader through several damages (every reader shares one validator)
RESULTS_DAMAGE = [("leaderboard", not_utf8), ("rescore", not_utf8), ("compare", configs_a_list),
                  ("leaderboard", configs_a_list), ("browse", n_samples_a_number),
                  ("leaderboard", n_samples_counts_words), ("rescore", bootstrap_iters_a_word),
                  ("compare", model_args_a_list), ("browse", bootstrap_iters_a_word)]
SAMPLES_DAMAGE = [("browse", arguments_a_string), ("rescore", arguments_a_string), ("compare", doc_id_a_string),
                  ("rescore", samples_not_utf8), ("browse", samples_not_utf8)]


def command_line(command, results, other, tmp_path):
    return {"leaderboard": ["leaderboard", str(results)],
            "compare": ["compare", str(results), str(other)],
            "browse": ["browse", str(results), "--output", str(tmp_path / "page.html")],
            "rescore": ["rescore", str(results), "--bootstrap_iters", "0"]}[command]


@pytest.mark.parametrize("command, damage", RESULTS_DAMAGE)
def test_a_damaged_results_file_is_one_line_naming_file_and_field(tmp_path, command, damage):
    results = write_run(tmp_path / "a", DATE, VALUES)
    other = write_run(tmp_path / "b", DATE, VALUES)
    one_line_error(command_line(command, results, other, tmp_path), damage(results))


@pytest.mark.parametrize("command, damage", SAMPLES_DAMAGE)
def test_a_damaged_samples_file_is_one_line_naming_file_line_and_field(tmp_path, command, damage):
    results = write_run(tmp_path / "a", DATE, VALUES)
    other = write_run(tmp_path / "b", DATE, VALUES)
    one_line_error(command_line(command, results, other, tmp_path), damage(results))


def test_browse_without_logged_samples_names_browse(tmp_path):
    results = write_run(tmp_path / "a", DATE, VALUES)
    samples_path(results).unlink()
    one_line_error(["browse", str(results), "--output", str(tmp_path / "page.html")],
                   f"task 'demo_colours': no logged samples {samples_path(results)} (browse needs runs made with "
                   "--log_samples)")


def empty_saved_dataset(tmp_path):
    path = tmp_path / "saved"
    datasets.Dataset.from_dict({"image": [], "question": [], "answer": []}).save_to_disk(str(path))
    return path, f"task 'demo_colours': saved dataset '{path}' has no rows"


def broken_saved_dataset(tmp_path):
    path = tmp_path / "saved"
    datasets.load_dataset("parquet", data_files=str(REPO / "tasks/demo/data/colours.parquet"),
                          split="train").save_to_disk(str(path))
    for arrow in path.glob("*.arrow"):
        arrow.write_bytes(b"not arrow")
    return path, None


def empty_parquet(tmp_path):
    path = tmp_path / "empty.parquet"
    datasets.Dataset.from_dict({"image": [], "question": [], "answer": []}).to_parquet(str(path))
    return path, f"task 'demo_colours': dataset '{path}' has no rows"


@pytest.mark.parametrize("make", [empty_saved_dataset, broken_saved_dataset, empty_parquet])
def test_an_empty_or_broken_dataset_is_one_line(tiny_checkpoint, tmp_path, make):
    path, expected = make(tmp_path)
    done = run_ov_eval(["--model_args", f"pretrained={tiny_checkpoint}", "--tasks", "demo_colours",
                        "--dataset_override", f"demo_colours={path}", "--output_path", str(tmp_path / "out")],
                       timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    [line] = done.stderr.strip().splitlines()
    if expected is None:
        assert line.startswith(f"ov_eval: error: task 'demo_colours': cannot read saved dataset '{path}': ")
    else:
        assert line == f"ov_eval: error: {expected}"
    assert done.returncode == 2
    assert not (tmp_path / "out").exists()  # refused before anything was made


@pytest.mark.parametrize("model_args, env, expected", [
    ("model=m,base_url=notaurl", {}, "--model_args: base_url: 'notaurl' is not an http(s) URL with a host "
                                    "(e.g. http://localhost:8000/v1)"),
    ("model=m", {"OPENAI_BASE_URL": "notaurl"}, "OPENAI_BASE_URL: 'notaurl' is not an http(s) URL with a host "
                                                "(e.g. http://localhost:8000/v1)"),
    ("model=m,base_url=http://:80/v1", {}, "--model_args: base_url: 'http://:80/v1' is not an http(s) URL with a "
                                           "host (e.g. http://localhost:8000/v1)"),
    ("model=m,base_url=http://localhost:port/v1", {}, "--model_args: base_url: 'http://localhost:port/v1' is not "
                                                      "an http(s) URL with a host (e.g. http://localhost:8000/v1)"),
])
def test_a_malformed_endpoint_url_is_refused_before_anything_runs(tmp_path, model_args, env, expected):
    one_line_error(["--model", "openai_compatible", "--model_args", model_args, "--tasks", "demo_colours",
                    "--output_path", str(tmp_path / "out")], expected, **env)


def test_a_malformed_judge_url_is_refused_before_the_model_loads(tiny_checkpoint, tmp_path):
    one_line_error(["--model_args", f"pretrained={tiny_checkpoint}", "--tasks", "mmvet", "--output_path",
                    str(tmp_path / "out")], "OPENAI_BASE_URL: 'notaurl' is not an http(s) URL with a host "
                                            "(e.g. http://localhost:8000/v1)",
                   OPENAI_API_KEY="k", OPENAI_BASE_URL="notaurl")


HTML = b"<!DOCTYPE html>\n<html><head><title>Sign in - Corporate Proxy</title></head><body>...</body></html>"


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/json"])
def test_a_judge_reply_that_is_html_is_reported_as_such(content_type):
    with FakeJudgeServer(lambda request: FakeResponse(200, HTML, {"Content-Type": content_type})) as server:
        client = ChatClient(api_key="k", base_url=server.url, api_type="openai", retry=RetryPolicy(max_tries=1),
                            env={})
        with pytest.raises(ChatError) as raised:
            client.complete("judge", [{"role": "user", "content": "grade"}], temperature=0, max_tokens=5)
    assert str(raised.value) == ("request failed after 1 try (malformed_response): the reply is an HTML page titled "
                                 "'Sign in - Corporate Proxy', not a chat completion (is the base URL the API's, "
                                 "ending in /v1?)")
