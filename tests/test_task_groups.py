"""Task names as the model card prints them, groups of groups (the card's sweeps), aliases, document counts,
and the release-era groups `mmmu` (val + test) and `mathvista_testmini` (three prompt variants)."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from conftest import run_ov_eval
from ov_eval.cli import main
from ov_eval.config import config_hash, load_task_config
from ov_eval.errors import OvEvalError
from ov_eval.registry import TaskIndex, task_index
from ov_eval.task import Task

# The --tasks lists of the model card's three command lines, as printed (model_card_commands.md).
CARD_IMAGE = ("ai2d,chartqa,docvqa_val,infovqa_val,mme,realworldqa,mathvista_testmini,llava_in_the_wild,mmvet,"
              "mmbench_en_dev,ocrbench,mmmu,mathverse_testmini_vision_intensive,mathverse_testmini_vision_only,"
              "seedbench,scienceqa_img,mmstar")
CARD_VIDEO = ("activitynetqa,videochatgpt,nextqa_mc_test,egoschema,video_dc499,videmme,videomme_w_subtitle,"
              "perceptiontest_val_mc")
CARD_INTERLEAVE = "llava-interleave-bench,muirbench,mmmu_test"

# What the release-era harness runs for them: mathvista_testmini is its _cot/_format/_solution group, mmmu is
# mmmu_val + mmmu_test, videochatgpt and llava_interleave_bench are groups of three.
RELEASE_IMAGE = ["ai2d", "chartqa", "docvqa_val", "infovqa_val", "mme", "realworldqa", "mathvista_testmini_cot",
                 "mathvista_testmini_format", "mathvista_testmini_solution", "llava_in_the_wild", "mmvet",
                 "mmbench_en_dev", "ocrbench", "mmmu_test", "mmmu_val", "mathverse_testmini_vision_intensive",
                 "mathverse_testmini_vision_only", "seedbench", "scienceqa_img", "mmstar"]
RELEASE_VIDEO = ["activitynetqa", "videochatgpt_consistency", "videochatgpt_gen", "videochatgpt_temporal",
                 "nextqa_mc_test", "egoschema", "video_dc499", "videomme", "videomme_w_subtitle",
                 "perceptiontest_val_mc"]
RELEASE_INTERLEAVE = ["llava_interleave_bench_in_domain", "llava_interleave_bench_multi_view",
                      "llava_interleave_bench_out_domain", "muirbench", "mmmu_test"]


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


TASK = """task: {name}
dataset: {{path: data.parquet, split: train}}
target: {{field: answer}}
metrics: [{{metric: exact_match}}]
"""


# ---- the model card's command lines -------------------------------------------------------------------------

@pytest.mark.parametrize("card, expected", [(CARD_IMAGE, RELEASE_IMAGE), (CARD_VIDEO, RELEASE_VIDEO),
                                            (CARD_INTERLEAVE, RELEASE_INTERLEAVE)])
def test_the_model_cards_task_lists_expand_to_what_the_release_era_harness_ran(card, expected):
    assert task_index().expand(card.split(",")) == expected


@pytest.mark.parametrize("sweep, card", [("onevision_image", CARD_IMAGE), ("onevision_video", CARD_VIDEO),
                                         ("onevision_interleave", CARD_INTERLEAVE)])
def test_sweep_groups_hold_exactly_the_tasks_of_the_cards_command_lines(sweep, card):
    index = task_index()
    assert index.groups[sweep] == [index.resolve(name) for name in card.split(",")]
    assert index.expand([sweep]) == index.expand(card.split(","))


def test_results_rows_come_from_groups_of_tasks_not_from_groups_of_groups():
    index = task_index()
    assert index.scored_groups(["onevision_image"]) == {
        "mathvista_testmini": ["mathvista_testmini_cot", "mathvista_testmini_format", "mathvista_testmini_solution"],
        "mmmu": ["mmmu_test", "mmmu_val"]}
    assert index.scored_groups(CARD_VIDEO.split(",")) == {
        "videochatgpt": ["videochatgpt_consistency", "videochatgpt_gen", "videochatgpt_temporal"]}
    assert index.scored_groups(["onevision_interleave"]) == index.scored_groups(["llava-interleave-bench"]) == {
        "llava_interleave_bench": RELEASE_INTERLEAVE[:3]}
    assert index.scored_groups(["ai2d", "no_such_task"]) == {}  # a name an old run knew: no row, no error


def test_hyphens_and_underscores_are_one_character_in_task_and_group_names():
    index = task_index()
    assert index.resolve("llava-interleave-bench") == "llava_interleave_bench"
    assert index.resolve("mathvista-testmini-cot") == "mathvista_testmini_cot"
    assert index.expand(["video-dc499", "video_dc499"]) == ["video_dc499"]


@pytest.mark.parametrize("name, message", [
    ("videomee", "--tasks: unknown task or group 'videomee' (did you mean 'videomme'?)"),
    ("llava-interleave-benc", "unknown task or group 'llava-interleave-benc' (did you mean 'llava_interleave_bench'?)"),
    ("videme", "unknown task or group 'videme' (did you mean 'videomme'?)"),
])
def test_other_unknown_names_stay_errors_with_a_suggestion(name, message):
    with pytest.raises(OvEvalError) as err:
        task_index().expand([name])
    assert message in str(err.value)


def test_the_cards_videmme_is_read_as_videomme_with_one_notice(caplog):
    with caplog.at_level(logging.WARNING, logger="ov_eval.registry"):
        assert task_index().expand(["videmme", "videomme_w_subtitle"]) == ["videomme", "videomme_w_subtitle"]
    assert [r.getMessage() for r in caplog.records] == ["--tasks: 'videmme' is read as 'videomme' (a documented alias)"]


def test_the_cli_accepts_the_cards_spellings_and_expands_them(tmp_path):
    """The real CLI path: --tasks is expanded (one alias notice), then a --dataset_override naming a task outside
    the run stops it before any model loads; the suggestion comes from the expanded interleave group."""
    result = run_ov_eval(["--model", "llava_onevision", "--model_args", f"pretrained={tmp_path / 'no_model'}",
                          "--tasks", CARD_INTERLEAVE + ",videmme", "--output_path", str(tmp_path),
                          "--dataset_override", f"llava_interleave_bench_in_domainx={tmp_path / 'x.parquet'}"])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line for line in lines if "videmme" in line] == [lines[0]]
    assert lines[0].endswith("WARNING ov_eval.registry: --tasks: 'videmme' is read as 'videomme' (a documented alias)")
    assert lines[-1] == ("ov_eval: error: --dataset_override: task 'llava_interleave_bench_in_domainx' is not among the "
                         "tasks of this run (did you mean 'llava_interleave_bench_in_domain'?)")


# ---- groups files: groups of groups, aliases, validation -----------------------------------------------------

def test_a_groups_file_may_hold_groups_and_aliases(tmp_path):
    for name in ("t1", "t2", "t3"):
        write(tmp_path, f"ext/{name}.yaml", TASK.format(name=name) + ("group: pair\n" if name != "t3" else ""))
    write(tmp_path, "ext/groups.yaml", "groups:\n  outer: [inner, demo_colours]\n  inner: [pair, t3]\n"
                                       "aliases:\n  the-pair: pair\n")
    with pytest.raises(OvEvalError, match="group 'outer' names an unknown task or group 'demo_colours'"):
        TaskIndex.scan([tmp_path / "ext"])  # demo_colours is a builtin task: known once the builtins are scanned
    index = task_index([str(tmp_path / "ext")])
    assert (index.groups["pair"], index.groups["inner"]) == (["t1", "t2"], ["pair", "t3"])
    assert index.expand(["outer"]) == ["t1", "t2", "t3", "demo_colours"]
    assert index.expand(["the_pair"]) == ["t1", "t2"]
    assert index.scored_groups(["outer"]) == {"pair": ["t1", "t2"]}  # inner and outer hold groups: no rows


@pytest.mark.parametrize("groups_yaml, message", [
    ("groups:\n  g: [t1, t11]\n", "group 'g' names an unknown task or group 't11' (did you mean 't1'?)"),
    ("groups:\n  a: [b]\n  b: [c]\n  c: [a]\n", "group cycle a -> b -> c -> a"),
    ("groups:\n  g: [g]\n", "group cycle g -> g"),
    ("aliases:\n  x: t9\n", "alias 'x' names an unknown task or group 't9'"),
    ("aliases:\n  T1: t1\n  t1: mine\n", "alias 't1' and task 't1' have one name"),
    ("groups:\n  mine: [t1]\n", "t1.yaml: group 'mine' is also defined in "),
    ("groups: [t1]\n", "'groups': Input should be a valid dictionary"),
    ("group:\n  g: [t1]\n", "'group': Extra inputs are not permitted"),
])
def test_a_bad_groups_file_is_named_with_its_culprit(tmp_path, groups_yaml, message):
    write(tmp_path, "ext/t1.yaml", TASK.format(name="t1") + "group: mine\n")
    groups = write(tmp_path, "ext/groups.yaml", groups_yaml)
    with pytest.raises(OvEvalError) as err:
        TaskIndex.scan([tmp_path / "ext"])
    assert str(groups) in str(err.value) and message in str(err.value)


def test_two_tasks_differing_only_in_hyphens_are_an_error(tmp_path):
    write(tmp_path, "ext/a.yaml", TASK.format(name="my-task"))
    write(tmp_path, "ext/b.yaml", TASK.format(name="my_task"))
    with pytest.raises(OvEvalError, match="task 'my_task' and task 'my-task' have one name"):
        TaskIndex.scan([tmp_path / "ext"])


# ---- document counts --------------------------------------------------------------------------------------------

def test_task_list_shows_document_counts_groups_and_aliases(capsys):
    assert main(["--tasks", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    row = {line.split()[0]: line.split()[1] for line in listing if line.startswith("  ") and "(/" in line}
    assert (row["ai2d"], row["mmmu_test"], row["perceptiontest_val_mc"], row["seedbench"]) == ("3088", "10500",
                                                                                               "19140", "17990")
    assert ("  mathvista_testmini: mathvista_testmini_cot, mathvista_testmini_format, mathvista_testmini_solution"
            "  [3 tasks, 3000 docs]") in listing
    assert "  mmmu: mmmu_test, mmmu_val  [2 tasks, 11400 docs]" in listing
    assert listing[[line.split(":")[0] for line in listing].index("  onevision_image")].endswith("[20 tasks, 59967 docs]")
    assert ("  onevision_video: activitynetqa, videochatgpt, nextqa_mc_test, egoschema, video_dc499, videomme, "
            "videomme_w_subtitle, perceptiontest_val_mc  [10 tasks, 50127 docs]") in listing
    assert listing[listing.index("Aliases:") + 1] == "  videmme -> videomme"


def test_every_benchmark_with_a_known_row_count_declares_it():
    counts = task_index().doc_counts
    assert set(task_index().tasks) - set(counts) == set()
    # datasets.md gives these as approximations (about 17,990; ~3.36k; ~22.4k), as bench/sweep_estimate.py counts them
    assert (counts["seedbench"], counts["llava_interleave_bench_out_domain"],
            counts["llava_interleave_bench_multi_view"]) == (17990, 3360, 22400)
    assert counts["mathverse_testmini_vision_only"] == 788 and counts["videochatgpt_consistency"] == 998


def test_demo_task_counts_equal_their_data():
    index = task_index()
    for name in index.expand(["demo"]):
        assert index.doc_counts[name] == len(Task.load(index.tasks[name]).dataset), name


@pytest.mark.parametrize("value", ["0", "-3", "many", "true", "2.5"])
def test_a_bad_doc_count_is_named(tmp_path, value):
    path = write(tmp_path, "ext/t.yaml", TASK.format(name="t") + f"doc_count: {value}\n")
    with pytest.raises(OvEvalError) as err:
        TaskIndex.scan([tmp_path / "ext"])
    assert str(err.value).startswith(f"{path}: 'doc_count' must be a positive integer")
    with pytest.raises(OvEvalError, match="doc_count"):
        load_task_config(path)


def test_doc_count_is_not_part_of_the_task_identity(tmp_path):
    plain = write(tmp_path, "a/t.yaml", TASK.format(name="t"))
    counted = write(tmp_path, "b/t.yaml", TASK.format(name="t") + "doc_count: 7\n")
    assert load_task_config(counted).doc_count == 7
    assert config_hash(load_task_config(plain), None) == config_hash(load_task_config(counted), None)
