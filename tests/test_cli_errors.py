"""Bad input: a one-line error naming the culprit and a non-zero exit, before any work is lost."""

import re

from conftest import run_ov_eval
from ov_eval.cli import main


def error_of(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def base_args(ckpt, tmp_path, *extra):
    return ["--model", "llava_onevision", "--model_args", f"pretrained={ckpt}", "--output_path", str(tmp_path),
            *extra]


def test_unknown_flag_suggests(capsys):
    assert error_of(capsys, ["--taks", "demo"]) == "ov_eval: error: unknown flag '--taks' (did you mean '--tasks'?)"


def test_unknown_task_suggests(capsys, tiny_checkpoint, tmp_path):
    line = error_of(capsys, base_args(tiny_checkpoint, tmp_path, "--tasks", "demo_colors"))
    assert line == ("ov_eval: error: --tasks: unknown task or group 'demo_colors' (did you mean 'demo_colours'?); "
                    "`--tasks list` shows them all")


def test_unknown_model_arg_suggests(capsys, tiny_checkpoint, tmp_path):
    argv = ["--model", "llava_onevision", "--model_args", f"pretrained={tiny_checkpoint},conv_templat=qwen_1_5",
            "--tasks", "demo_colours", "--output_path", str(tmp_path)]
    line = error_of(capsys, argv)
    assert line.startswith("ov_eval: error: --model_args: unknown argument 'conv_templat' for model "
                           "'llava_onevision' (did you mean 'conv_template'?)")


def test_malformed_model_args(capsys, tmp_path):
    line = error_of(capsys, ["--model_args", "pretrained", "--tasks", "demo_colours", "--output_path", str(tmp_path)])
    assert line == "ov_eval: error: --model_args: 'pretrained' is not of the form key=value"


def test_unknown_conv_template(capsys, tiny_checkpoint, tmp_path):
    argv = ["--model_args", f"pretrained={tiny_checkpoint},conv_template=qwen_15", "--tasks", "demo_colours",
            "--output_path", str(tmp_path)]
    assert "unknown conv_template 'qwen_15' (did you mean 'qwen_1_5'?)" in error_of(capsys, argv)


def test_missing_checkpoint_folder(capsys, tmp_path):
    argv = ["--model_args", f"pretrained={tmp_path}/nope", "--tasks", "demo_colours", "--output_path", str(tmp_path)]
    assert error_of(capsys, argv) == f"ov_eval: error: --model_args: pretrained folder '{tmp_path}/nope' does not exist"


def test_missing_dataset_path(capsys, tiny_checkpoint, tmp_path):
    argv = base_args(tiny_checkpoint, tmp_path, "--tasks", "demo_colours", "--dataset_override",
                     f"demo_colours={tmp_path}/missing.parquet")
    assert error_of(capsys, argv) == (f"ov_eval: error: task 'demo_colours': dataset path "
                                      f"'{tmp_path}/missing.parquet' does not exist")


def test_override_for_a_task_not_in_the_run(capsys, tiny_checkpoint, tmp_path):
    argv = base_args(tiny_checkpoint, tmp_path, "--tasks", "demo_colours", "--dataset_override", "demo_chrt=x")
    assert "--dataset_override: task 'demo_chrt' is not among the tasks of this run" in error_of(capsys, argv)


def test_bad_yaml_in_include_path(capsys, tiny_checkpoint, tmp_path):
    (tmp_path / "ext").mkdir()
    (tmp_path / "ext" / "broken.yaml").write_text("task: broken\ndataset: {path: x, split: y\n")
    argv = base_args(tiny_checkpoint, tmp_path, "--tasks", "broken", "--include_path", str(tmp_path / "ext"))
    assert error_of(capsys, argv).startswith(f"ov_eval: error: {tmp_path / 'ext' / 'broken.yaml'}:")


def test_bad_numbers(capsys):
    assert error_of(capsys, ["--tasks", "demo", "--batch_size", "two"]) == "ov_eval: error: --batch_size: 'two' is not an integer"
    assert error_of(capsys, ["--tasks", "demo", "--limit", "0"]) == ("ov_eval: error: --limit: '0' is neither a positive whole number of documents nor a share between 0 and 1")
    assert error_of(capsys, ["--tasks", "demo", "--bootstrap_iters", "-5"]) == (
        "ov_eval: error: --bootstrap_iters: must be 0 (off) or more, got -5")


def test_unknown_gen_kwarg(capsys):
    line = error_of(capsys, ["--tasks", "demo", "--gen_kwargs", "max_new_token=3"])
    assert line == "ov_eval: error: --gen_kwargs: unknown setting 'max_new_token' (did you mean 'max_new_tokens'?)"


def test_tasks_list_prints_tasks_and_groups(capsys):
    assert main(["--tasks", "list"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\n  demo_video +4  \(.*demo_video\.yaml\)\n", out)  # name, documents, file
    assert "  demo: demo_chart, demo_colours, demo_counts, demo_shapes, demo_video  [5 tasks, 30 docs]" in out


def test_real_process_exit_status_and_single_line():
    done = run_ov_eval(["--tasks", "demo_shapez"])
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "ov_eval: error: --tasks: unknown task or group 'demo_shapez' (did you mean 'demo_shapes'?); "
        "`--tasks list` shows them all"]
