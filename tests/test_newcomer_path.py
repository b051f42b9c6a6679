"""The README's path for a newcomer, as typed, in real subprocesses: a run from the project folder with a
relative `pretrained=../...`, found by `leaderboard 'logs/*/'`; a folder named `ov_eval` in the working
directory does not replace the package; run folders are named from the resolved checkpoint path."""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, subprocess_env
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


def _installed_package_is_this_checkout() -> bool:
    env = subprocess_env()
    env["PYTHONPATH"] = ""
    found = subprocess.run([sys.executable, "-c", "import ov_eval; print(ov_eval.__file__)"], cwd="/", env=env,
                           capture_output=True, text=True).stdout.strip()
    return found == str(REPO / "ov_eval" / "__init__.py")


@pytest.mark.skipif(not _installed_package_is_this_checkout(),
                    reason="the environment's installed ov_eval is another checkout (a helper worktree)")
@pytest.mark.parametrize("init", [None, "", "raise SystemExit('the wrong ov_eval was imported')\n"])
def test_a_folder_named_ov_eval_in_the_working_directory_does_not_replace_the_package(tmp_path, init):
    """As a user runs it: the installed package only (nothing on PYTHONPATH), from a folder holding `ov_eval/`."""
    (tmp_path / "ov_eval").mkdir()
    if init is not None:
        (tmp_path / "ov_eval" / "__init__.py").write_text(init)
    env = subprocess_env()
    env["PYTHONPATH"] = ""
    result = subprocess.run([sys.executable, "-m", "ov_eval", "--tasks", "list"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    if init and "SystemExit" in init:  # a package of its own that runs code on import: it ran, and said so
        assert (result.returncode, result.stderr) == (1, "the wrong ov_eval was imported\n")
        return
    assert result.returncode == 0, result.stderr
    assert f"  mmmu_val                                900  ({REPO / 'tasks/mmmu/mmmu_val.yaml'})" in \
        result.stdout.splitlines()


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


def test_the_demos_next_commands_name_the_python_as_the_user_types_it(tmp_path, monkeypatch):
    from ov_eval.demo.__main__ import this_python

    venv_python = tmp_path / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.touch()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "executable", str(venv_python))
    assert this_python() == ".venv/bin/python"  # what `make demo` runs, typed from the repository folder
    monkeypatch.setattr(sys, "executable", "/opt/elsewhere/bin/python3")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert this_python() == "/opt/elsewhere/bin/python3"
