"""`python -m ov_eval.demo [--model PRETRAINED]`: the bundled demo tasks, end to end, offline.

Without --model it builds a tiny OneVision-architecture checkpoint with RANDOM weights, so the scores are
meaningless; it shows the pipeline, the outputs and the results table. Point --model at a real checkpoint
folder or hub id for real numbers.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from ov_eval.cli import main as cli_main
from ov_eval.reporting.results import model_folder_name


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m ov_eval.demo")
    parser.add_argument("--model", default=None, help="checkpoint folder or hub id (default: tiny random model)")
    parser.add_argument("--output_path", default="./demo_out")
    parser.add_argument("--batch_size", default="1")
    args = parser.parse_args()
    pretrained = args.model
    if pretrained is None:
        from ov_eval.models.tiny import write_tiny_checkpoint

        folder = Path("build/tiny-onevision")
        if not (folder / "config.json").is_file():
            write_tiny_checkpoint(folder)
        pretrained = str(folder)
        print(f"NOTE: no --model given: using a tiny OneVision-architecture checkpoint with RANDOM weights "
              f"({folder}); its scores mean nothing.\n"
              f"      For real numbers: make demo MODEL=lmms-lab/llava-onevision-qwen2-0.5b-ov "
              f"(or MODEL=/path/to/checkpoint)\n")
    status = cli_main(["--model", "llava_onevision",
                       "--model_args", f"pretrained={pretrained},conv_template=qwen_1_5,model_name=llava_qwen",
                       "--tasks", "demo", "--batch_size", args.batch_size, "--log_samples",
                       "--output_path", args.output_path, "--verbosity", "WARNING"])
    if status == 0:
        run = Path(args.output_path) / model_folder_name("llava_onevision", {"pretrained": pretrained})
        python = this_python()
        print("Next, look at the samples, or compare this run with another one (e.g. a second --output_path):\n"
              f"  {python} -m ov_eval browse {run} --output {run}/report.html\n"
              f"  {python} -m ov_eval compare {run} OTHER_RUN_FOLDER\n"
              f"  {python} -m ov_eval leaderboard '{Path(args.output_path)}/*/'")
    return status


def this_python() -> str:
    """The interpreter as the user can type it from here: `.venv/bin/python` after `make demo`."""
    executable = Path(sys.executable)
    try:
        return str(executable.relative_to(Path.cwd()))
    except ValueError:
        return "python" if shutil.which("python") == str(executable) else str(executable)


if __name__ == "__main__":
    raise SystemExit(main())
