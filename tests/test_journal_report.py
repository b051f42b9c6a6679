"""Journal transparency: a run says why journaled answers were not reused, `ov_eval journal` lists what the
journal holds per task and configuration and prunes what no current configuration can reuse, and the tools that
read a folder's newest results file warn when it covers less than an older one."""
import json
import logging
import re
from pathlib import Path

import pytest

from conftest import REPO, run_ov_eval
from ov_eval.cli import main
from ov_eval.task import Task

YAML = """task: my_colours
dataset: {{path: {data}, split: train}}
prompt: {{post_prompt: "{post}"}}
visual: {{kind: image, fields: [image]}}
target: {{field: answer}}
generation: {{max_new_tokens: 4}}
metrics: [{{metric: exact_match}}]
"""


def write_task(folder: Path, post: str) -> Path:
    path = folder / "my_colours" / "my_colours.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(YAML.format(data=REPO / "tasks/demo/data/colours.parquet", post=post))
    return path


def run(checkpoint: Path, tasks: Path, output: Path, *flags: str) -> None:
    assert main(["--model_args", f"pretrained={checkpoint}", "--tasks", "my_colours", "--include_path", str(tasks),
                 "--output_path", str(output), "--workers", "0", "--verbosity", "WARNING", "--bootstrap_iters", "0",
                 *flags]) == 0


@pytest.fixture(scope="module")
def history(tiny_checkpoint, tmp_path_factory):
    """Four runs of one task: a first prompt, a changed prompt, changed generation settings, then --limit 2."""
    root = tmp_path_factory.mktemp("journal")
    tasks, output = root / "tasks", root / "out"
    messages = {}
    handler = logging.Handler()
    handler.emit = lambda record: messages.setdefault(len(messages), record.getMessage())
    logging.getLogger("ov_eval.runner").addHandler(handler)
    try:
        write_task(tasks, "\\nOne word.")
        run(tiny_checkpoint, tasks, output, "--limit", "3")
        first_hash = Task.load(tasks / "my_colours" / "my_colours.yaml").hash
        messages.clear()
        write_task(tasks, "\\nAnswer with one word.")
        run(tiny_checkpoint, tasks, output, "--limit", "3")
        prompt_changed = [m for m in messages.values() if "answers reused" in m]
        messages.clear()
        run(tiny_checkpoint, tasks, output, "--limit", "3", "--gen_kwargs", "max_new_tokens=2", "--log_samples")
        settings_changed = [m for m in messages.values() if "answers reused" in m]
        messages.clear()
        run(tiny_checkpoint, tasks, output, "--limit", "2", "--gen_kwargs", "max_new_tokens=2", "--log_samples")
        reused = [m for m in messages.values() if "answers reused" in m]
    finally:
        logging.getLogger("ov_eval.runner").removeHandler(handler)
    [folder] = [p for p in output.iterdir() if p.is_dir()]
    current_hash = Task.load(tasks / "my_colours" / "my_colours.yaml").hash
    return dict(folder=folder, prompt_changed=prompt_changed, settings_changed=settings_changed, reused=reused,
                first_hash=first_hash, current_hash=current_hash)


def test_a_run_says_why_journaled_answers_were_not_reused(history):
    assert history["prompt_changed"] == [
        "task my_colours: 0 of 3 answers reused: the task's prompt changed since they were made"]
    assert history["settings_changed"] == [
        "task my_colours: 0 of 3 answers reused: the generation settings changed since they were made"]
    assert history["reused"] == []  # every answer of the last run came from the journal


def _rows(stdout: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line) for line in stdout.splitlines() if line.startswith("my_colours ")]


def test_journal_lists_per_configuration_then_prunes_what_no_current_configuration_uses(history):
    folder = history["folder"]
    rank0 = folder / ".journal" / "rank0.jsonl"
    model = json.loads(rank0.read_text().splitlines()[0])["facets"]["model"]
    with rank0.open("a") as handle:
        handle.write(json.dumps({"key": "old", "task": "my_colours", "doc_id": 7, "text": "red"}) + "\n")
        handle.write('{"key": "cut", "task"')
    listed = run_ov_eval(["journal", str(folder)])
    assert listed.returncode == 0, listed.stderr
    first, current = history["first_hash"], history["current_hash"]
    assert listed.stdout.splitlines()[0] == f"journal of {folder}: 10 answers in 1 file(s), 1 unreadable line(s)"
    assert sorted(_rows(listed.stdout)) == sorted([
        ["my_colours", "1", "(not recorded)", "(not recorded)", "(not recorded)",
         "kept: made before configurations were recorded"],
        ["my_colours", "3", first, model, "max_new_tokens=4", "unused: the task's configuration changed since"],
        ["my_colours", "3", current, model, "max_new_tokens=4", "current"],
        ["my_colours", "3", current, model, "max_new_tokens=2", "current"]])
    assert listed.stdout.splitlines()[-1] == (
        f"3 answer(s) no current task configuration can reuse, and 1 unreadable line(s): dry run, nothing removed "
        f"(`ov_eval journal {folder} --prune` removes them)")
    assert len(rank0.read_text().splitlines()) == 11  # a dry run changes nothing

    pruned = run_ov_eval(["journal", str(folder), "--prune"])
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.splitlines()[-1] == "removed 3 answer(s) and 1 unreadable line(s); kept 7 answer(s)"
    assert len(rank0.read_text().splitlines()) == 7
    again = run_ov_eval(["journal", str(folder)])
    assert [row[2] for row in _rows(again.stdout)].count(first) == 0 and len(_rows(again.stdout)) == 3


def test_journal_of_a_folder_without_one_is_one_line(tmp_path):
    result = run_ov_eval(["journal", str(tmp_path)])
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"ov_eval: error: {tmp_path}: no journal here (no .journal/rank*.jsonl); name a run "
                             "folder ({output_path}/{model})\n")


def test_rescore_warns_when_the_newest_results_file_covers_fewer_documents(history):
    folder = history["folder"]
    files = sorted(folder.glob("*_results.json"))
    result = run_ov_eval(["rescore", str(folder), "--verbosity", "WARNING", "--bootstrap_iters", "0"])
    assert result.returncode == 0, result.stderr
    [warning] = [line for line in result.stderr.splitlines() if "covers less" in line]
    assert warning.endswith(f"{folder}: the newest results file {files[-1].name} (the one used) covers less than "
                            f"the older {files[-2].name}: it has fewer documents of my_colours (2 against 3); name "
                            "a results file to use another")


def test_reasons_name_the_specific_parts_that_changed():
    from collections import Counter

    from ov_eval.journal import mismatch_reason, reuse_summary

    wanted = {"model": "m", "task_config": "t2", "prompt": "p2", "media": "x", "generation": {"a": 1},
              "pad_images": False}
    assert mismatch_reason(wanted, [wanted | {"task_config": "t1"}]) == (
        "the task's configuration (YAML or hooks) changed since they were made")
    assert mismatch_reason(wanted, [wanted | {"task_config": "t1", "model": "n", "generation": {"a": 2}},
                                    wanted | {"task_config": "t1", "prompt": "p1"}]) == (
        "the task's prompt changed since they were made")  # the closest journaled answer decides
    assert mismatch_reason(wanted, [wanted | {"model": "n", "generation": {}, "media": "y"}]) == (
        "the model (checkpoint, or model arguments that change answers), the generation settings and the task's "
        "images or videos changed since they were made")
    assert mismatch_reason(wanted, [None]) == ("they were made by an earlier ov_eval, which did not record what "
                                               "they were made with")
    requests = [object()] * 20
    assert reuse_summary(requests, 15, Counter({"a changed": 3, "b changed": 1})) == (
        "15 of 20 answers reused: a changed (3 answers); b changed (1 answer)")
