"""Real OpenAI-compatible servers on 127.0.0.1 serving a local checkpoint folder, for tests and bench/serving.py:
`transformers serve` (in this environment) and vLLM (in its own environment, `make vllm-serve-env`)."""
from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from PIL import Image

from conftest import free_port

READY_TIMEOUT_S = 120.0
VLLM_READY_TIMEOUT_S = 420.0  # 65-160 s to healthy on 2 shared cores; the bound only matters when it never starts
VLLM_SERVE_PYTHON_ENV = "OV_EVAL_VLLM_SERVE_PYTHON"  # set by `make test`: the server environment must be there
VLLM_SERVE_VENV = Path(__file__).resolve().parents[1] / ".venv-vllm-serve"
VLLM_SERVER_ENV = {"HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "2"}  # offline; the CPU KV cache in GiB


@dataclass(frozen=True)
class ServedModel:
    url: str  # the OpenAI base URL, ending in /v1
    model: str  # the name requests use
    log: Path  # the server's output; one "POST /v1/chat/completions" line per request
    startup_s: float = 0.0  # from the server's start until it answered its first real request

    def chat_requests(self) -> int:
        return self.log.read_text(errors="replace").count("POST /v1/chat/completions")


def _ready(origin: str) -> bool:
    try:
        with urllib.request.urlopen(f"{origin}/health", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL, to the server's whole process group (vLLM's engine runs in a child process)."""
    for sig, wait_s in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait_s)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # children that outlived the leader
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def _running(name: str, command: list[str], env: dict[str, str], log: Path, port: int,
             ready_timeout_s: float, first_request: dict | None = None) -> Iterator[tuple[str, float]]:
    """Start `command` in its own process group, wait (bounded) until /health answers and, if given, one real chat
    request succeeds; yield (origin, seconds to ready); always stop the whole group on exit."""
    start = time.monotonic()
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    origin = f"http://127.0.0.1:{port}"

    def failed(why: str) -> RuntimeError:
        return RuntimeError(f"{name} {why} (exit {process.poll()}):\n{log.read_text(errors='replace')[-3000:]}")

    try:
        while not _ready(origin):
            if process.poll() is not None or time.monotonic() - start > ready_timeout_s:
                raise failed(f"did not become healthy within {ready_timeout_s:.0f} s")
            time.sleep(0.5)
        if first_request is not None:  # /health can answer while the first real request kills the engine
            request = urllib.request.Request(f"{origin}/v1/chat/completions", json.dumps(first_request).encode(),
                                             {"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=120) as reply:
                    _ = json.load(reply)["choices"][0]["message"]["content"]
            except (OSError, KeyError, ValueError) as exc:
                raise failed(f"is healthy but its first request failed: {exc}") from None
        yield origin, time.monotonic() - start
    finally:
        _stop(process)


@contextlib.contextmanager
def serve(checkpoint: Path, log: Path, threads: int = 2) -> Iterator[ServedModel]:
    """`transformers serve` with the model preloaded, until /health answers; stopped on exit."""
    port = free_port()
    command = [sys.executable, "-c", "from transformers.cli.transformers import main; main()", "serve",
               str(checkpoint), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--log-level", "info"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    with _running("transformers serve", command, env, log, port, READY_TIMEOUT_S) as (origin, seconds):
        yield ServedModel(f"{origin}/v1", str(checkpoint), log, seconds)


def vllm_serve_python() -> Path:
    """The vLLM server environment's python: $OV_EVAL_VLLM_SERVE_PYTHON, else .venv-vllm-serve's (may be absent)."""
    named = os.environ.get(VLLM_SERVE_PYTHON_ENV)
    return Path(named) if named else VLLM_SERVE_VENV / "bin" / "python"


def vllm_command(python: Path, checkpoint: Path, name: str, port: int) -> list[str]:
    """The server command (the README's): `python -m vllm.entrypoints.openai.api_server`, since the `vllm` console
    script of vllm-cpu fails; `--mm-processor-cache-gb 0`, since with the cache a request after a rejected one
    (HTTP 400, e.g. a prompt past --max-model-len) that reuses its images gets HTTP 500 "Multi-modal cache miss"."""
    return [str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(checkpoint),
            "--served-model-name", name, "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32",
            "--max-model-len", "32768", "--enforce-eager", "--mm-processor-cache-gb", "0"]


def _one_image_request(name: str) -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"model": name, "max_tokens": 2, "temperature": 0.0, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": "What colour is it?"}]}]}


@contextlib.contextmanager
def serve_vllm(python: Path, checkpoint: Path, log: Path, name: str = "tiny-onevision",
               threads: int = 2) -> Iterator[ServedModel]:
    """A real vLLM OpenAI server of `checkpoint` under `name`, run by `python` (the vLLM server environment), ready
    once one image request was answered (not only /health); stopped with its engine process on exit."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(VLLM_SERVER_ENV, VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1", OMP_NUM_THREADS=str(threads),
               TOKENIZERS_PARALLELISM="false")
    with _running("the vLLM server", vllm_command(python, checkpoint, name, port), env, log, port,
                  VLLM_READY_TIMEOUT_S, first_request=_one_image_request(name)) as (origin, seconds):
        yield ServedModel(f"{origin}/v1", name, log, seconds)
