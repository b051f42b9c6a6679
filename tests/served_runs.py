"""ov_eval runs of the demo tasks against a served model, shared by the tests of each real server."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, read_samples, subprocess_env
from ov_eval.journal import Journal
from served_model import ServedModel

DEMO_TASKS = ["demo_chart", "demo_colours", "demo_counts", "demo_shapes", "demo_video"]


def eval_args(server: ServedModel, out: Path, limit: int, concurrency: int, tasks: str = "demo") -> list[str]:
    return ["--model", "openai_compatible", "--model_args",
            f"model={server.model},base_url={server.url},max_frames_num=4,max_concurrency={concurrency}",
            "--tasks", tasks, "--limit", str(limit), "--output_path", str(out), "--log_samples"]


def responses(out: Path) -> dict[tuple[str, int], list]:
    return {(task, s["doc_id"]): s["resps"] for task in DEMO_TASKS for s in read_samples(out, task)}


def journaled(out: Path) -> int:
    [folder] = out.glob("*/.journal")
    return len(Journal(folder, rank=0).load())


def run_and_kill(args: list[str], out: Path, after: int, deadline_s: float = 180) -> int:
    """Start ov_eval with `args`, SIGKILL it once `after` answers are journaled; the number journaled then."""
    process = subprocess.Popen([sys.executable, "-m", "ov_eval", *args], cwd=REPO, env=subprocess_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + deadline_s
        while not (list(out.glob("*/.journal")) and journaled(out) >= after):
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, f"no {after} answers journaled within {deadline_s:.0f} s"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    return journaled(out)
