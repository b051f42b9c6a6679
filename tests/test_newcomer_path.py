"""The README's path for a newcomer, as typed, in real subprocesses: a run from the project folder with a
relative `pretrained=../...`, found by `leaderboard 'logs/*/'`; a folder named `ov_eval` in the working
directory does not replace the package; run folders are named from the resolved checkpoint path."""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import subprocess_env
from ov_eval.reporting.results import model_folder_name
from ov_eval.run_folder import run_folder_name


def ov_eval(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ov_eval", *args], cwd=cwd, env=subprocess_env(),
                          capture_output=True, text=True, timeout=timeout)


def test_a_relative_checkpoint_run_is_found_by_the_readmes_leaderboard_glob(tiny_checkpoint, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    pretrained = os.path.relpath(tiny_checkpoint, project)
    assert pretrained.startswith("..")
    result = ov_eval(["--model", "llava_onevision", "--model_args", f"pretrained={pretrained}",
                      "--tasks", "demo_colours", "--limit", "2", "--workers", "0", "--verbosity", "WARNING"],
                     cwd=project)
    assert result.returncode == 0, result.stderr
    digest = hashlib.sha256(str(tiny_checkpoint.resolve()).encode()).hexdigest()[:8]
    folder = f"{tiny_checkpoint.parent.name}__ckpt-{digest}"
    assert [p.name for p in (project / "logs").iterdir()] == [folder]
    board = ov_eval(["leaderboard", "logs/*/"], cwd=project)
    assert board.returncode == 0, board.stderr
    [row] = [line for line in board.stdout.splitlines() if "| demo_colours |" in line]
    assert "n=2/8" in row and folder in board.stdout  # the run's column, named after its folder


@pytest.mark.parametrize("init", [None, "", "raise SystemExit('the wrong ov_eval was imported')\n"])
def test_a_folder_named_ov_eval_in_the_working_directory_does_not_replace_the_package(tmp_path, init):
    (tmp_path / "ov_eval").mkdir()
    if init is not None:
        (tmp_path / "ov_eval" / "__init__.py").write_text(init)
    result = ov_eval(["--tasks", "list"], cwd=tmp_path)
    if init and "SystemExit" in init:  # a package of its own that runs code on import: it ran, and said so
        assert (result.returncode, result.stderr) == (1, "the wrong ov_eval was imported\n")
        return
    assert result.returncode == 0, result.stderr
    assert "  demo_colours" in result.stdout or " demo_colours " in result.stdout


def test_run_folder_names(tmp_path, monkeypatch):
    assert run_folder_name("lmms-lab/llava-onevision-qwen2-7b-ov") == "lmms-lab__llava-onevision-qwen2-7b-ov"
    assert run_folder_name("../not/here") == "not__here"  # not a local folder: the reference's rule, no dot
    for run in ("a", "b"):
        (tmp_path / run / "final").mkdir(parents=True)
    (tmp_path / ".hidden" / "ckpt").mkdir(parents=True)
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")

    def digest(path: Path) -> str:
        return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]

    a = run_folder_name("../a/final")
    assert a == f"a__final-{digest(tmp_path / 'a' / 'final')}"
    assert run_folder_name(str(tmp_path / "a" / "final")) == run_folder_name("./../a/final/") == a
    assert run_folder_name("../b/final") == f"b__final-{digest(tmp_path / 'b' / 'final')}" != a
    assert run_folder_name("../.hidden/ckpt") == f"hidden__ckpt-{digest(tmp_path / '.hidden' / 'ckpt')}"
    assert model_folder_name("llava_onevision", {"pretrained": "../a/final"}) == a
    assert model_folder_name("llava_onevision", {}) == "llava_onevision"
