"""A real `transformers serve` on 127.0.0.1 serving a local checkpoint folder, for tests and bench/serving.py."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

READY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ServedModel:
    url: str  # the OpenAI base URL, ending in /v1
    model: str  # the name requests use: the checkpoint folder
    log: Path  # the server's output; one "POST /v1/chat/completions" line per request

    def chat_requests(self) -> int:
        return self.log.read_text(errors="replace").count("POST /v1/chat/completions")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(origin: str) -> bool:
    try:
        with urllib.request.urlopen(f"{origin}/health", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def serve(checkpoint: Path, log: Path, threads: int = 2) -> Iterator[ServedModel]:
    """Start the server with the model preloaded, wait until /health answers, and stop it on exit."""
    port = _free_port()
    command = [sys.executable, "-c", "from transformers.cli.transformers import main; main()", "serve",
               str(checkpoint), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--log-level", "info"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _ready(origin):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"transformers serve did not start (exit {process.poll()}):\n"
                                   f"{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield ServedModel(f"{origin}/v1", str(checkpoint), log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
