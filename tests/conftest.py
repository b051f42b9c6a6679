import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def no_real_judge(monkeypatch, tmp_path_factory):
    """No test ever reaches a real judge endpoint, the user's verdict cache or the user's fingerprint cache."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "AZURE_OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OV_EVAL_JUDGE_CACHE", str(tmp_path_factory.mktemp("judge") / "verdicts.sqlite"))
    monkeypatch.setenv("OV_EVAL_FINGERPRINT_CACHE", str(tmp_path_factory.getbasetemp() / "fingerprints.sqlite"))


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    from ov_eval.models.tiny import write_tiny_checkpoint

    return write_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "ckpt", seed=0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accelerate_launcher(processes: int = 2) -> list[str]:
    """`accelerate launch` of N local processes on a port of its own: test files run side by side (pytest-xdist),
    and two launchers on accelerate's default port would join each other's process group."""
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", f"--num_processes={processes}",
            "--num_machines=1", f"--main_process_port={free_port()}", "--mixed_precision=no", "--dynamo_backend=no",
            "--monitor_interval=0.5", "-m"]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(REPO), env.get("PYTHONPATH", "")])
    env.update(OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", **extra)
    return env


def run_ov_eval(args: list[str], launcher: list[str] | None = None, timeout: float = 240,
                **env: str) -> subprocess.CompletedProcess:
    command = (launcher or [sys.executable, "-m"]) + ["ov_eval", *args]
    return subprocess.run(command, cwd=REPO, env=subprocess_env(**env), capture_output=True, text=True,
                          timeout=timeout)


def read_results(output: Path) -> dict:
    [path] = sorted(output.glob("*/*_results.json"))
    return json.loads(path.read_text())


def read_samples(output: Path, task: str) -> list[dict]:
    [path] = sorted(output.glob(f"*/*_samples_{task}.jsonl"))
    return [json.loads(line) for line in path.read_text().splitlines()]


def metric_values(results: dict) -> dict:
    return {task: {k: v for k, v in entry.items() if "," in k} for task, entry in results["results"].items()}
