"""The CLI tells what it can do: --help lists the subcommands, `submit` says when a run has nothing to submit,
`rescore` names the scoring profile it used. All through the real CLI in a subprocess."""
from pathlib import Path

import pytest

from conftest import run_ov_eval
from ov_eval.cli import SUBCOMMANDS


@pytest.fixture(scope="module")
def demo_run(tiny_checkpoint, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("subcommands")
    result = run_ov_eval(["--model", "llava_onevision", "--model_args", f"pretrained={tiny_checkpoint}",
                          "--tasks", "demo_colours", "--limit", "2", "--log_samples", "--output_path", str(output),
                          "--workers", "0", "--verbosity", "WARNING"])
    assert result.returncode == 0, result.stderr
    [run_dir] = [p for p in output.iterdir() if p.is_dir()]
    return run_dir


def test_help_lists_every_subcommand_with_one_line():
    result = run_ov_eval(["--help"])
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert "subcommands (python -m ov_eval NAME --help):" in lines
    for line in (
        "  rescore          score a run's logged samples again, without the model (other profile or judge)",
        "  leaderboard      compare runs' headline metrics with the published scores (md, csv or html)",
        "  submit           regenerate the submission files (mmmu_test, egoschema) from a run's logged samples",
        "  tiny-checkpoint  write a tiny random-weight OneVision checkpoint for experiments and tests",
    ):
        assert line in lines


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_listed_subcommand_dispatches(name):
    result = run_ov_eval([name, "--help"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: ov_eval {name} ")
    assert "--model_args" not in result.stdout  # its own parser, not the evaluation's


def test_submit_on_a_run_without_a_submission_task_says_so(demo_run):
    result = run_ov_eval(["submit", str(demo_run)])
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"ov_eval: error: {demo_run}: nothing to submit: only egoschema, egoschema_subset, mmmu_test have "
        "submission files, and this run logged samples of none of them under its 'published' profile (run them "
        "with --log_samples)"]


@pytest.mark.parametrize("flags, profile", [([], "published"), (["--scoring_profile", "corrected"], "corrected")])
def test_rescore_prints_the_profile_it_used(demo_run, flags, profile):
    result = run_ov_eval(["rescore", str(demo_run), "--verbosity", "WARNING", *flags])
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("Rescored ")]
    assert f" with the '{profile}' scoring profile; results written to {demo_run}" in line
