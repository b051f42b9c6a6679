"""The disk and the run folder: a full disk (a real one: a tiny tmpfs), a damaged journal folder, journal records
of the wrong types. Each through the real CLI (SIGTERM: test_run_faults, beside Ctrl-C)."""
import json

import pytest

from conftest import read_results, run_ov_eval
from ov_eval.reporting.results import model_folder_name
from small_disk import run_twice_on_small_disk, small_disk_available
from test_pipeline_e2e import eval_args, journal_lines

DEMO_IMAGE_TASKS = "demo_colours,demo_counts,demo_shapes,demo_chart"  # 26 documents


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory):
    why_not = small_disk_available(tmp_path_factory.mktemp("probe"))
    if why_not:
        pytest.skip(why_not)


def full_disk_run(ckpt, tmp_path, tasks, free_pages, rerun=True):
    disk, saved, calls = tmp_path / "disk", tmp_path / "saved", tmp_path / "calls.log"
    args = eval_args(ckpt, disk / "out", tasks, model="ovtest_adapters:CountingAdapter")
    run_twice_on_small_disk(disk, saved, args, free_pages, rerun=rerun, OV_TEST_CALL_LOG=str(calls))
    folder = disk / "out" / model_folder_name("ovtest_adapters:CountingAdapter", {"pretrained": str(ckpt)})
    return saved, folder, calls


def the_error(saved):
    stderr = (saved / "first.err").read_text()
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("ov_eval: error:")]
    assert len(errors) == 1 and stderr.strip().splitlines()[-1] == errors[0], stderr
    assert (saved / "first.rc").read_text().strip() == "2"
    return errors[0]


def files(saved, which):
    return [line for line in (saved / f"{which}.files").read_text().splitlines() if line != "./filler"]


def calls_made(calls):
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def test_a_full_disk_at_start_names_the_lock_file(small_disk, tiny_checkpoint, tmp_path):
    saved, folder, calls = full_disk_run(tiny_checkpoint, tmp_path, "demo_colours", free_pages=0, rerun=False)
    assert the_error(saved) == (f"ov_eval: error: no space left on device writing {folder / '.lock'} (0 samples "
                                "journaled; free space and run again)")
    assert calls_made(calls) == 0  # stopped before the model loaded
    assert files(saved, "first") == [".", "./out", f"./out/{folder.name}", f"./out/{folder.name}/.lock"]


def test_a_full_disk_while_journaling_keeps_the_journal_and_the_rerun_resumes(small_disk, tiny_checkpoint, tmp_path):
    # two free pages: the lock's and one of journal (about 22 records); the record that spills over fails
    saved, folder, calls = full_disk_run(tiny_checkpoint, tmp_path, DEMO_IMAGE_TASKS, free_pages=2)
    journaled = len([line for line in (saved / "first.disk" / "out" / folder.name / ".journal" / "rank0.jsonl")
                     .read_bytes().split(b"\n") if line.endswith(b"}")])
    assert 5 <= journaled < 26
    assert the_error(saved) == (f"ov_eval: error: no space left on device writing {folder / '.journal/rank0.jsonl'} "
                                f"({journaled} samples journaled; free space and run again)")
    assert files(saved, "first") == [".", "./out", f"./out/{folder.name}", f"./out/{folder.name}/.journal",
                                     f"./out/{folder.name}/.journal/rank0.jsonl", f"./out/{folder.name}/.lock"]
    first_calls = journaled + 1  # the one whose record did not fit
    assert (saved / "second.rc").read_text().strip() == "0", (saved / "second.err").read_text()
    assert calls_made(calls) - first_calls == 26 - journaled
    results = read_results(saved / "disk" / "out")
    assert sum(entry["n_samples"] for entry in results["results"].values()) == 26


def test_a_full_disk_while_writing_results_leaves_no_temporary_file(small_disk, tiny_checkpoint, tmp_path):
    # two free pages: the lock's and the journal's (8 short records); the results file finds none
    saved, folder, calls = full_disk_run(tiny_checkpoint, tmp_path, "demo_colours", free_pages=2)
    error = the_error(saved)
    prefix = f"ov_eval: error: no space left on device writing {folder}/"
    assert error.startswith(prefix) and error.endswith("_results.json (8 samples journaled; free space and run again)")
    assert files(saved, "first") == [".", "./out", f"./out/{folder.name}", f"./out/{folder.name}/.journal",
                                     f"./out/{folder.name}/.journal/rank0.jsonl", f"./out/{folder.name}/.lock"]
    assert (saved / "second.rc").read_text().strip() == "0", (saved / "second.err").read_text()
    assert calls_made(calls) == 8  # the rerun generated nothing
    assert read_results(saved / "disk" / "out")["results"]["demo_colours"]["n_samples"] == 8


def journal_folder(out, ckpt):
    return out / model_folder_name("llava_onevision", {"pretrained": str(ckpt)}) / ".journal"


def rank_file_is_a_folder(journal):
    (journal / "rank0.jsonl").mkdir(parents=True)
    return journal / "rank0.jsonl", "a folder in the journal folder, which holds only rank*.jsonl files; move it away and run again"


def journal_is_a_file(journal):
    journal.parent.mkdir(parents=True)
    journal.write_text("{}\n")
    return journal, "the journal folder is a file, not a folder; move it away and run again"


def dangling_rank_symlink(journal):
    journal.mkdir(parents=True)
    (journal / "rank1.jsonl").symlink_to(journal / "gone.jsonl")
    return journal / "rank1.jsonl", f"a dangling symlink (to {journal / 'gone.jsonl'}) in the journal folder; remove it and run again"


def dangling_journal_symlink(journal):
    journal.parent.mkdir(parents=True)
    journal.symlink_to(journal.parent / "elsewhere")
    return journal, f"the journal folder is a dangling symlink (to {journal.parent / 'elsewhere'}); remove it and run again"


def stray_folder(journal):
    (journal / "old_run").mkdir(parents=True)
    (journal / "rank0.jsonl").write_text("")
    return journal / "old_run", "a folder in the journal folder, which holds only rank*.jsonl files; move it away and run again"


@pytest.mark.parametrize("damage", [rank_file_is_a_folder, journal_is_a_file, dangling_rank_symlink,
                                    dangling_journal_symlink, stray_folder])
def test_a_damaged_journal_folder_is_one_line_naming_the_path(tiny_checkpoint, tmp_path, damage):
    out = tmp_path / "out"
    path, why = damage(journal_folder(out, tiny_checkpoint))
    done = run_ov_eval(eval_args(tiny_checkpoint, out, "demo_colours"), timeout=120)
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"ov_eval: error: {path}: {why}"]
    assert done.returncode == 2


def test_journal_records_of_the_wrong_types_are_skipped_counted_and_generated_again(tiny_checkpoint, tmp_path):
    out, calls = tmp_path / "out", tmp_path / "calls.log"
    args = eval_args(tiny_checkpoint, out, "demo_colours", model="ovtest_adapters:CountingAdapter")
    assert run_ov_eval(args, OV_TEST_CALL_LOG=str(calls)).returncode == 0
    [journal] = out.glob("*/.journal/rank0.jsonl")
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    records[2]["text"] = None
    records[5]["doc_id"] = str(records[5]["doc_id"])
    records[6]["output_tokens"] = "7"
    journal.write_text("".join(json.dumps(r) + "\n" for r in records))

    again = run_ov_eval([*args, "--verbosity", "INFO"], OV_TEST_CALL_LOG=str(calls))
    assert again.returncode == 0, again.stderr
    assert f"journal {journal.parent}: 5 responses loaded, 3 unreadable line(s) skipped" in again.stderr
    assert calls_made(calls) == 8 + 3
    latest = json.loads(sorted(out.glob("*/*_results.json"))[-1].read_text())
    assert latest["results"]["demo_colours"]["n_errors"] == 0

