"""Task YAML schema, include-merge, discovery and the registry."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ov_eval.config import load_task_config, resolve_includes
from ov_eval.errors import OvEvalError
from ov_eval.registry import TaskIndex, task_index
from ov_eval.task import Task

MINIMAL = """
task: {name}
group: [mine]
dataset: {{path: data.parquet, split: train}}
target: {{field: answer}}
metrics: [{{metric: exact_match}}]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_misspelt_key_names_file_and_key(tmp_path):
    path = write(tmp_path, "t.yaml", MINIMAL.format(name="t") + "promt: {text: x}\n")
    with pytest.raises(OvEvalError) as err:
        load_task_config(path)
    assert str(err.value) == f"{path}: unknown key 'promt' (did you mean 'prompt'?)"


def test_nested_misspelt_key_and_missing_key(tmp_path):
    path = write(tmp_path, "t.yaml", "task: t\ndataset: {path: x, split: s, revison: r}\nmetrics: [{metric: m}]\n")
    with pytest.raises(OvEvalError) as err:
        load_task_config(path)
    assert "unknown key 'dataset.revison' (did you mean 'revision'?)" in str(err.value)
    assert "missing key 'target'" in str(err.value)
    assert str(path) in str(err.value)


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "bad.yaml", "task: t\ndataset: [unclosed\n")
    with pytest.raises(OvEvalError) as err:
        load_task_config(path)
    assert str(err.value).startswith(f"{path.resolve()}:") and "invalid YAML" in str(err.value)


def test_include_deep_merges_and_file_wins(tmp_path):
    write(tmp_path, "_base.yaml", """
        dataset: {path: base.parquet, split: test, name: cfg}
        generation: {max_new_tokens: 16, until: ["x"]}
        target: {field: answer}
        metrics: [{metric: exact_match}]
    """)
    path = write(tmp_path, "t.yaml", """
        include: _base.yaml
        task: t
        dataset: {split: validation}
        generation: {max_new_tokens: 32}
    """)
    config = load_task_config(path)
    assert config.dataset.path == "base.parquet" and config.dataset.name == "cfg"
    assert config.dataset.split == "validation"
    assert config.generation.max_new_tokens == 32 and config.generation.until == ["x"]


def test_include_cycle_is_an_error(tmp_path):
    write(tmp_path, "a.yaml", "include: b.yaml\n")
    write(tmp_path, "b.yaml", "include: a.yaml\n")
    with pytest.raises(OvEvalError, match="include cycle"):
        resolve_includes(tmp_path / "a.yaml")


def test_discovery_never_imports_hooks(tmp_path):
    marker = tmp_path / "imported"
    write(tmp_path, "ext/t1.yaml", MINIMAL.format(name="t1") + "hooks: hooks.py\n")
    write(tmp_path, "ext/hooks.py", f"open({str(marker)!r}, 'w').write('x')\nraise SystemExit('hooks imported')\n")
    index = TaskIndex.scan([tmp_path / "ext"])
    assert index.tasks == {"t1": tmp_path / "ext/t1.yaml"}
    assert index.groups == {"mine": ["t1"]}
    assert not marker.exists()


def test_include_path_adds_tasks_and_groups(tmp_path):
    write(tmp_path, "ext/a.yaml", MINIMAL.format(name="ext_a"))
    write(tmp_path, "ext/sub/b.yaml", MINIMAL.format(name="ext_b"))
    index = task_index([str(tmp_path / "ext")])
    assert {"ext_a", "ext_b", "demo_shapes"} <= set(index.tasks)
    assert index.expand(["mine", "demo_colours", "ext_a"]) == ["ext_a", "ext_b", "demo_colours"]


def test_unknown_task_suggests_the_closest(tmp_path):
    with pytest.raises(OvEvalError) as err:
        task_index().expand(["demo_shape"])
    assert "unknown task or group 'demo_shape' (did you mean 'demo_shapes'?)" in str(err.value)


def test_duplicate_task_name_is_an_error(tmp_path):
    write(tmp_path, "ext/a.yaml", MINIMAL.format(name="demo_shapes"))
    with pytest.raises(OvEvalError, match="task 'demo_shapes' is already defined"):
        task_index([str(tmp_path / "ext")])


def test_builtin_demo_tasks_load_and_form_the_demo_group():
    index = task_index()
    assert index.groups["demo"] == ["demo_chart", "demo_colours", "demo_counts", "demo_shapes", "demo_video"]
    for name in index.groups["demo"]:
        Task.load(index.tasks[name])


def test_unknown_metric_in_yaml_is_named(tmp_path):
    path = write(tmp_path, "t.yaml", MINIMAL.format(name="t").replace("exact_match", "exact_matc"))
    with pytest.raises(OvEvalError) as err:
        Task.load(path)
    assert "unknown metric 'exact_matc' (did you mean 'exact_match'?)" in str(err.value)


def test_prompt_rendering_with_options_and_letter_target():
    task = Task.load(task_index().tasks["demo_shapes"])
    doc = task.doc(1)
    assert task.text(doc, 1) == ("Which shape is shown in the image?\nA. circle\nB. square\nC. triangle\nD. star\n"
                                 "Answer with the option's letter from the given choices directly.")
    assert task.target(doc) == "B"


def test_tasks_are_found_from_a_non_editable_install(tmp_path):
    repo = Path(__file__).resolve().parents[1]
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(repo)], check=True, capture_output=True, timeout=300)
    code = ("import ov_eval.registry as r; d = r.builtin_task_dir(); i = r.task_index(); "
            "print(d); print(sorted(i.groups['demo']))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    folder, groups = out.stdout.splitlines()
    assert folder.startswith(str(target))
    assert groups == "['demo_chart', 'demo_colours', 'demo_counts', 'demo_shapes', 'demo_video']"


def test_generation_setting_out_of_range_names_file_and_setting(tmp_path):
    from ov_eval.task import Task

    path = write(tmp_path, "t.yaml", MINIMAL.format(name="t") + "generation: {max_new_tokens: 0}\n")
    with pytest.raises(OvEvalError) as err:
        Task.load(path)
    assert str(err.value) == f"{path}: generation: max_new_tokens must be a positive integer, got 0"
