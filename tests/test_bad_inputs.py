"""Bad input through the real CLI: exit status 2, one stderr line naming the culprit, no traceback, and (for
files) nothing loaded first."""
import json
import shutil

import datasets
import pytest

from conftest import REPO, run_ov_eval

COLOURS = REPO / "tasks/demo/data/colours.parquet"


def assert_one_line_error(args: list[str], expected: str) -> None:
    done = run_ov_eval(args, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == [f"ov_eval: error: {expected}"]
    assert done.returncode == 2


@pytest.mark.parametrize("flags, expected", [
    (["--seed", "abc"], "--seed: 'abc' is not an integer"),
    (["--seed", "1,2"], "--seed: '1,2' must be one integer or three (python,numpy,torch)"),
    (["--seed", "-1"], "--seed: must be at least 0, got -1"),
    (["--workers", "-1"], "--workers: must be at least 0, got -1"),
    (["--workers", "two"], "--workers: 'two' is not an integer"),
    (["--batch_size", "0"], "--batch_size: must be positive, got 0"),
    (["--judge_concurrency", "1.5"], "--judge_concurrency: '1.5' is not an integer"),
    (["--gen_kwargs", "max_new_tokens=-5"], "--gen_kwargs: max_new_tokens must be a positive integer, got -5"),
    (["--gen_kwargs", "max_new_tokens=abc"], "--gen_kwargs: max_new_tokens must be a positive integer, got 'abc'"),
    (["--gen_kwargs", "temperature=-1"], "--gen_kwargs: temperature must be a number >= 0, got -1"),
    (["--gen_kwargs", "top_p=2"], "--gen_kwargs: top_p must be a number in (0, 1] or null, got 2"),
    (["--gen_kwargs", "num_beams=0"], "--gen_kwargs: num_beams must be a positive integer, got 0"),
    (["--gen_kwargs", "do_sample=maybe"], "--gen_kwargs: do_sample must be true or false, got 'maybe'"),
    (["--limit", "1.5"], "--limit: '1.5' is neither a positive whole number of documents nor a share between 0 and 1"),
    (["--limit", "0"], "--limit: '0' is neither a positive whole number of documents nor a share between 0 and 1"),
    (["--limit", "1.0"], "--limit: '1.0' is neither a positive whole number of documents nor a share between 0 and 1"),
    (["--scoring_profile", "best"],
     "argument --scoring_profile: invalid choice: 'best' (choose from 'published', 'corrected')"),
])
def test_flag_of_the_wrong_type_or_range(flags, expected):
    assert_one_line_error(["--tasks", "demo_colours", *flags], expected)


def eval_args(ckpt, out, *extra):
    return ["--model_args", f"pretrained={ckpt}", "--tasks", "demo_colours", "--output_path", str(out),
            "--verbosity", "WARNING", *extra]


def copy_checkpoint(src, dst):
    shutil.copytree(src, dst)
    return dst


def truncated_weights(ckpt, tmp_path):
    ckpt = copy_checkpoint(ckpt, tmp_path / "ckpt")
    weights = ckpt / "model.safetensors"
    size = weights.stat().st_size  # the tensors run to the end of the file
    with weights.open("r+b") as handle:
        handle.truncate(size // 2)
    return eval_args(ckpt, tmp_path / "out"), (f"{weights}: truncated safetensors file ({size // 2} bytes; its "
                                               f"tensors need {size})")


def corrupt_header(ckpt, tmp_path):
    ckpt = copy_checkpoint(ckpt, tmp_path / "ckpt")
    weights = ckpt / "model.safetensors"
    with weights.open("r+b") as handle:
        handle.seek(8)
        handle.write(b"#not json#")
    return eval_args(ckpt, tmp_path / "out"), (f"{weights}: corrupt safetensors header (not a JSON table of "
                                               "tensors)")


def config_without_text_config(ckpt, tmp_path):
    ckpt = copy_checkpoint(ckpt, tmp_path / "ckpt")
    config = json.loads((ckpt / "config.json").read_text())
    del config["text_config"]
    (ckpt / "config.json").write_text(json.dumps(config))
    return eval_args(ckpt, tmp_path / "out"), (f"{ckpt / 'config.json'}: a transformers llava_onevision config "
                                               "needs text_config (missing or not a mapping)")


def original_config_without_mm_keys(ckpt, tmp_path):
    from ov_eval.models.tiny import write_tiny_checkpoint

    ckpt = write_tiny_checkpoint(tmp_path / "orig", seed=0, format="original")
    config = json.loads((ckpt / "config.json").read_text())
    config = {k: v for k, v in config.items() if k not in ("mm_vision_tower", "mm_projector_type")}
    (ckpt / "config.json").write_text(json.dumps(config))
    return eval_args(ckpt, tmp_path / "out"), (f"{ckpt / 'config.json'}: an original lmms-lab (llava_qwen) config "
                                               "needs mm_vision_tower and mm_projector_type (both missing)")


def output_path_is_a_file(ckpt, tmp_path):
    (tmp_path / "taken").write_text("x")
    return eval_args(ckpt, tmp_path / "taken"), (f"--output_path: '{tmp_path / 'taken'}' cannot hold the run: "
                                                 f"'{tmp_path / 'taken'}' is a file, not a folder")


def output_path_below_a_file(ckpt, tmp_path):
    (tmp_path / "taken").write_text("x")
    out = tmp_path / "taken" / "logs"
    return eval_args(ckpt, out), f"--output_path: '{out}' cannot hold the run: '{tmp_path / 'taken'}' is a file, not a folder"


def dataset_without_answer_column(ckpt, tmp_path):
    data = tmp_path / "no_answer.parquet"
    datasets.load_dataset("parquet", data_files=str(COLOURS), split="train").remove_columns("answer").to_parquet(
        str(data))
    return (eval_args(ckpt, tmp_path / "out", "--dataset_override", f"demo_colours={data}"),
            "task 'demo_colours': target.field reads column 'answer', which the dataset lacks; its columns: "
            "image, question")


def write_task(tmp_path, body: str):
    folder = tmp_path / "ext"
    folder.mkdir()
    (folder / "mine.yaml").write_text(f"task: mine\ndataset: {{path: {COLOURS}, split: train}}\n"
                                      "visual: {kind: image, fields: [image]}\nmetrics: [{metric: exact_match}]\n"
                                      + body)
    return folder


def misspelt_target_field(ckpt, tmp_path):
    folder = write_task(tmp_path, "target: {field: anwser}\n")
    return (["--model_args", f"pretrained={ckpt}", "--tasks", "mine", "--include_path", str(folder),
             "--output_path", str(tmp_path / "out"), "--verbosity", "WARNING"],
            "task 'mine': target.field reads column 'anwser', which the dataset lacks (did you mean 'answer'?); "
            "its columns: image, question, answer")


def prompt_field_missing(ckpt, tmp_path):
    folder = write_task(tmp_path, "target: {field: answer}\nprompt: {text: '{question} {hint}'}\n")
    return (["--model_args", f"pretrained={ckpt}", "--tasks", "mine", "--include_path", str(folder),
             "--output_path", str(tmp_path / "out"), "--verbosity", "WARNING"],
            "task 'mine': prompt.text reads column 'hint', which the dataset lacks; its columns: image, question, "
            "answer")


def unknown_yaml_key(ckpt, tmp_path):
    folder = write_task(tmp_path, "target: {field: answer}\nprompt: {txt: '{question}'}\n")
    return (["--model_args", f"pretrained={ckpt}", "--tasks", "mine", "--include_path", str(folder),
             "--output_path", str(tmp_path / "out")],
            f"{folder / 'mine.yaml'}: unknown key 'prompt.txt' (did you mean 'text'?)")


@pytest.mark.parametrize("case", [truncated_weights, corrupt_header, config_without_text_config,
                                  original_config_without_mm_keys, output_path_is_a_file, output_path_below_a_file,
                                  dataset_without_answer_column, misspelt_target_field,
                                  prompt_field_missing, unknown_yaml_key])
def test_bad_file_or_folder_names_the_culprit(case, tiny_checkpoint, tmp_path):
    args, expected = case(tiny_checkpoint, tmp_path)
    assert expected is not None
    assert_one_line_error(args, expected)
    assert not list(tmp_path.glob("out/*/.journal/*"))  # failed before generation
