"""`--judge_prompts PATH_OR_PACKAGE`: the judge prompts built from the reference harness's own task files (parsed,
never run), hashed into the prompt version, the verdict-cache key and the results; a missing text is a one-line
error naming the task and the file. The files are fixtures of the reference's shapes with texts of their own."""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from conftest import run_ov_eval
from fake_openai_server import FakeJudgeServer, RecordedRequest, completion
from fixtures.reference_tasks import FILES, MMVET_TEXT, write_reference_checkout
from fixtures.single_image import write_fixture
from ov_eval.errors import OvEvalError
from ov_eval.judges import VerdictCache, judge_all, load_prompt
from ov_eval.judges.reference_prompts import REFERENCE_PROMPTS, ReferencePrompts, package_folder
from ov_eval.openai_client import ChatClient
from ov_eval.retry import RetryPolicy
from ov_eval.scoring.judge_step import JudgeSettings

KEY = "sk-test-reference-prompts"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    return write_reference_checkout(tmp_path_factory.mktemp("lmms-eval"))


@pytest.fixture(scope="module")
def reference(checkout) -> ReferencePrompts:
    return ReferencePrompts(str(checkout))


def test_every_judge_prompt_of_the_table_is_read_and_fits_the_fields_ov_eval_fills(reference):
    for task, name in REFERENCE_PROMPTS:
        resolved = reference.prompt("any_task" if task == "*" else task, name)
        default = load_prompt(name)
        assert resolved.prompt.fields == default.fields
        assert (resolved.prompt.temperature, resolved.prompt.max_tokens, resolved.prompt.reference_model) == (
            default.temperature, default.max_tokens, default.reference_model)
        assert resolved.prompt.version.startswith(f"{name}/reference-") and "FIXTURE" in resolved.prompt.template
        assert all(len(t.sha256) == 64 for t in resolved.texts)


def test_module_constants_are_laid_out_as_the_reference_does(reference):
    mmvet = reference.prompt("mmvet", "mmvet_grade")
    assert mmvet.prompt.system == ""
    assert mmvet.prompt.template == MMVET_TEXT + "\n{{question}} | {{answer}} | {{prediction}} |"
    assert mmvet.provenance() == [{"text": "lmms_eval/tasks/mmvet/utils.py: MM_VET_PROMPT",
                                   "sha256": sha256(MMVET_TEXT)}]
    assert mmvet.prompt.version == "mmvet_grade/reference-" + sha256("\0".join(["", mmvet.prompt.template]))[:12]
    # stripped first, as the reference strips its demo prompts
    assert reference.prompt("mathvista_testmini_format", "mathvista_extract").prompt.template == (
        "FIXTURE pull the final answer out of the response.\nExample: 2 + 2 = 4\nExtracted answer: 4"
        "\n\n{{query}}\n\n{{response}}\n\nExtracted answer: ")


def test_format_strings_and_f_strings_become_ov_eval_placeholders(reference):
    assert reference.prompt("mathverse_testmini_vision_only", "mathverse_judgement").prompt.template == (
        "FIXTURE are these equal? Reply as {'judgement': 0 or 1}.\n[Question]: {{question}}\n"
        "[Standard Answer]: {{answer}}\n[Model_answer] : {{extraction}}\nJudgement:")
    assert reference.prompt("mmbench_en_dev", "mmbench_match").prompt.template == (
        "FIXTURE match.\nQuestion: {{question}}\nOptions: {{options}}\nAnswer: {{prediction}}\nYour output: ")
    consistency = reference.prompt("videochatgpt_consistency", "videochatgpt_consistency").prompt
    assert (consistency.system, consistency.template) == (
        "FIXTURE consistency system.", "FIXTURE consistency:\nQ1: {{question_1}}\nQ2: {{question_2}}\nA: {{answer}}\n"
                                       "P1: {{prediction_1}}\nP2: {{prediction_2}}\nReply as a dict.")


def test_branches_the_rule_file_and_a_task_row_of_its_own(reference):
    detail = reference.prompt("videochatgpt_gen", "videochatgpt_detail")
    assert detail.prompt.system == "FIXTURE detailed_orientation system."
    assert [t.text for t in detail.texts] == [
        "lmms_eval/tasks/videochatgpt/utils.py: get_eval_generic(): system message where task == "
        "'detailed_orientation'",
        "lmms_eval/tasks/videochatgpt/utils.py: get_eval_generic(): user message where task == "
        "'detailed_orientation'"]
    dc = reference.prompt("video_dc499", "videochatgpt_detail").prompt  # VideoDC keeps its own copy
    assert dc.system == "FIXTURE detail system (VideoDC)." and dc.version != detail.prompt.version
    llava = reference.prompt("llava_in_the_wild", "llava_wild_review")
    assert llava.prompt.system == "FIXTURE you review answers."
    assert llava.prompt.template == (
        "[Context]\n{{context}}\n\n[Question]\n{{question}}\n\n[Helper 1]\n{{reference_answer}}\n\n[End of Helper 1]"
        "\n\n[Helper 2]\n{{model_answer}}\n\n[End of Helper 2]\n\n[System]\nFIXTURE rate Helper 1 and Helper 2 from "
        "1 to 10, first line two numbers.\n\n")
    assert [t.text for t in llava.texts] == [
        "lmms_eval/tasks/llava-in-the-wild/utils.py: get_eval(): system message",
        "lmms_eval/tasks/llava-in-the-wild/rule.json: llava_bench_conv.role",
        "lmms_eval/tasks/llava-in-the-wild/rule.json: llava_bench_conv.prompt"]


def test_the_package_folder_a_checkout_or_an_installed_package(checkout, tmp_path, monkeypatch):
    assert package_folder(str(checkout)) == package_folder(str(checkout / "lmms_eval")) == (checkout / "lmms_eval")
    monkeypatch.syspath_prepend(str(checkout))  # as if installed; find_spec locates it without running it
    assert package_folder("lmms-eval") == (checkout / "lmms_eval").resolve()
    assert "lmms_eval" not in sys.modules
    with pytest.raises(OvEvalError, match=r"^--judge_prompts: 'no_such_harness' is neither a folder nor an "
                                          r"installed package$"):
        package_folder("no_such_harness")
    with pytest.raises(OvEvalError, match="holds neither lmms_eval/tasks/"):
        package_folder(str(tmp_path))


@pytest.mark.parametrize("drop, replace, message", [
    ("tasks/mmvet/utils.py", None, "lmms_eval/tasks/mmvet/utils.py: no such file"),
    (None, {"tasks/mmvet/utils.py": "MM_VET = 'renamed'\n"},
     "lmms_eval/tasks/mmvet/utils.py: no module-level string constant MM_VET_PROMPT"),
    (None, {"tasks/mmvet/utils.py": "MM_VET_PROMPT = (\n"}, "lmms_eval/tasks/mmvet/utils.py: not parsable Python"),
])
def test_a_missing_text_names_the_task_and_the_file(tmp_path, drop, replace, message):
    prompts = ReferencePrompts(str(write_reference_checkout(tmp_path, drop=drop, replace=replace)))
    with pytest.raises(OvEvalError) as error:
        prompts.check([("mmvet", ["mmvet_grade"])])
    text = str(error.value)
    assert text.startswith(f"--judge_prompts: task 'mmvet': {tmp_path.resolve()}/") and message in text
    assert "\n" not in text


def test_other_missing_texts_name_what_is_missing(tmp_path):
    generic = FILES["tasks/videochatgpt/utils.py"].replace("'temporal'", "'time'")
    rules = json.loads(FILES["tasks/llava-in-the-wild/rule.json"])
    rules["llava_bench_detail"] = {"role": "Helper", "prompt": "another rule"}
    folder = write_reference_checkout(tmp_path, replace={
        "tasks/videochatgpt/utils.py": generic, "tasks/llava-in-the-wild/rule.json": json.dumps(rules),
        "tasks/activitynetqa/utils.py": FILES["tasks/activitynetqa/utils.py"].replace("{pred}", "{pred!r}")})
    prompts = ReferencePrompts(str(folder))
    cases = [("videochatgpt_temporal", "videochatgpt_temporal",
              "no branch `if task == 'temporal'` in get_eval_generic"),
             ("llava_in_the_wild", "llava_wild_review",
              "llava_bench_detail.prompt differ from llava_bench_conv.prompt (ov_eval has one prompt for them)"),
             ("activitynetqa", "activitynetqa", "it has an f-string part ov_eval cannot map: {pred!r}")]
    for task, kind, message in cases:
        with pytest.raises(OvEvalError, match=f"^--judge_prompts: task '{task}': .*: ") as error:
            prompts.check([(task, [kind])])
        assert str(error.value).endswith(message)


def test_the_reference_text_changes_the_verdict_cache_key(reference, tmp_path):
    requests: list[RecordedRequest] = []

    def grade(request: RecordedRequest):
        requests.append(request)
        return completion("0.5")

    items = [("doc0", "mmvet_grade", {"question": "What colour?", "answer": "red", "prediction": "Red."})]
    with FakeJudgeServer(grade) as server:
        client = ChatClient(api_key=KEY, base_url=server.url, timeout_s=5.0, retry=RetryPolicy(max_tries=1), env={})
        with VerdictCache(tmp_path / "cache.sqlite") as cache:
            prompt, paraphrase = reference.prompt("mmvet", "mmvet_grade").prompt, load_prompt("mmvet_grade")
            for prompts in ({}, {"mmvet_grade": prompt}, {"mmvet_grade": prompt}, {}):
                run = judge_all(items, client=client, cache=cache, progress=False, prompts=prompts)
                assert run.prompt_versions == {"mmvet_grade": (prompt if prompts else paraphrase).version}
    assert len(requests) == 2  # the paraphrase and the reference text each asked once, then both from the cache
    assert requests[1].user == MMVET_TEXT + "\nWhat colour? | red | Red. |"
    assert requests[0].user != requests[1].user


# ---- through the real command lines ----------------------------------------------------------------------

def _eval_args(checkpoint: Path, output: Path, data: Path, *extra: str) -> list[str]:
    return ["--model", "llava_onevision", "--model_args", f"pretrained={checkpoint}", "--tasks", "mmvet",
            "--limit", "2", "--log_samples", "--output_path", str(output), "--workers", "0", "--verbosity",
            "WARNING", "--gen_kwargs", "max_new_tokens=4", "--dataset_override", f"mmvet={data}", *extra]


def test_eval_and_rescore_send_the_reference_text_and_record_its_hash(tiny_checkpoint, checkout, tmp_path,
                                                                       monkeypatch):
    from ov_eval.cli import main
    from ov_eval.rescore import rescore_main

    seen: list[RecordedRequest] = []

    def grade(request: RecordedRequest):
        seen.append(request)
        return completion("1.0")

    data = write_fixture("mmvet", tmp_path / "data")
    with FakeJudgeServer(grade) as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OV_EVAL_JUDGE_CACHE", str(tmp_path / "cache.sqlite"))
        assert main(_eval_args(tiny_checkpoint, tmp_path / "out", data, "--judge_prompts", str(checkout))) == 0
        assert len(seen) == 2 and all(r.user.startswith(MMVET_TEXT + "\n") and r.user.endswith(" |") for r in seen)
        assert {r.body["messages"][0]["role"] for r in seen} == {"user"}  # the reference sends no system turn
        [run_dir] = [p for p in (tmp_path / "out").iterdir() if p.is_dir()]
        [results_file] = run_dir.glob("*_results.json")
        results = json.loads(results_file.read_text())
        judge = results["provenance"]["mmvet"]["judge"]
        assert judge["judge_prompt_texts"] == {"mmvet_grade": [
            {"text": "lmms_eval/tasks/mmvet/utils.py: MM_VET_PROMPT", "sha256": sha256(MMVET_TEXT)}]}
        assert judge["judge_prompts_from"] == str(checkout / "lmms_eval")
        assert judge["judge_prompt_versions"]["mmvet_grade"].startswith("mmvet_grade/reference-")
        assert results["config"]["judge_prompts"] == str(checkout)
        assert results["results"]["mmvet"]["gpt_eval_score,none"] == 100.0

        assert rescore_main([str(run_dir), "--judge_prompts", str(checkout), "--verbosity", "WARNING"]) == 0
        assert len(seen) == 2  # same texts, same cache keys
        assert rescore_main([str(run_dir), "--verbosity", "WARNING"]) == 0  # the default: the paraphrases
        assert len(seen) == 4 and not any(MMVET_TEXT in r.user for r in seen[2:])
        newest = json.loads(sorted(run_dir.glob("*_results.json"))[-1].read_text())
        assert "judge_prompt_texts" not in newest["provenance"]["mmvet"]["judge"]
        assert newest["provenance"]["mmvet"]["judge"]["judge_prompt_versions"] == {
            "mmvet_grade": "mmvet_grade/paraphrased-1"}


def test_a_missing_text_stops_the_run_before_the_model_with_exit_2(tiny_checkpoint, tmp_path):
    folder = write_reference_checkout(tmp_path / "harness", replace={"tasks/mmvet/utils.py": "X = 1\n"})
    data = write_fixture("mmvet", tmp_path / "data")
    run = run_ov_eval(_eval_args(tiny_checkpoint, tmp_path / "out", data, "--judge_prompts", str(folder)),
                      OPENAI_API_KEY=KEY, OPENAI_BASE_URL="http://127.0.0.1:9/v1",
                      OV_EVAL_JUDGE_CACHE=str(tmp_path / "cache.sqlite"))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1] == (
        f"ov_eval: error: --judge_prompts: task 'mmvet': {folder.resolve()}/lmms_eval/tasks/mmvet/utils.py: "
        "no module-level string constant MM_VET_PROMPT")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*_results.json"))


def test_judge_settings_without_reference_prompts_keep_the_paraphrases():
    prompt, texts = JudgeSettings().prompt_for("mmvet", "mmvet_grade")
    assert (prompt.version, texts) == ("mmvet_grade/paraphrased-1", None)
