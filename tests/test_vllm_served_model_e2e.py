"""`--model openai_compatible` end to end against a REAL vLLM server of the tiny checkpoint on 127.0.0.1.

The server runs in its own environment (`make vllm-serve-env`; `make test` builds it and requires it). One server
for the whole module: its start-up (65-160 s on 2 shared cores) is most of this file's cost.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from conftest import REPO, read_results, read_samples, run_ov_eval
from ov_eval.models.openai_compatible import ChatRequest, OpenAICompatibleAdapter, chat_content, encode_image
from ov_eval.pipeline import SampleFailure
from ov_eval.types import GenerationSettings
from served_model import (VLLM_SERVE_PYTHON_ENV, VLLM_SERVER_ENV, ServedModel, serve_vllm, vllm_command,
                          vllm_serve_python)
from served_runs import DEMO_TASKS, eval_args, responses, run_and_kill

LIMIT = 1  # the first document of each of the five demo tasks (one a video): five requests a run
SAMPLES = LIMIT * len(DEMO_TASKS)


@pytest.fixture(scope="module")
def vllm_server(tiny_checkpoint, tmp_path_factory) -> ServedModel:
    python = vllm_serve_python()
    if not python.is_file():
        if os.environ.get(VLLM_SERVE_PYTHON_ENV):
            pytest.fail(f"{VLLM_SERVE_PYTHON_ENV}={python} does not exist: `make vllm-serve-env` builds it")
        pytest.skip("no vLLM server environment (.venv-vllm-serve): `make vllm-serve-env` builds it, `make test` too")
    with serve_vllm(python, tiny_checkpoint, tmp_path_factory.mktemp("vllm") / "server.log") as served:
        print(f"vLLM server ready (first request answered) {served.startup_s:.1f} s after its start")
        yield served


@pytest.fixture(scope="module")
def reference_run(vllm_server, tmp_path_factory) -> tuple[Path, int]:
    """The demo tasks at concurrency 16, uninterrupted: the output folder and the requests the server received."""
    out = tmp_path_factory.mktemp("reference") / "out"
    before = vllm_server.chat_requests()
    result = run_ov_eval(eval_args(vllm_server, out, limit=LIMIT, concurrency=16))
    assert result.returncode == 0, result.stderr[-3000:]
    return out, vllm_server.chat_requests() - before


def test_demo_tasks_through_vllm_answer_every_sample_with_one_request_each(vllm_server, reference_run,
                                                                           tiny_checkpoint):
    out, requests = reference_run
    assert requests == SAMPLES
    results = read_results(out)
    assert sorted(results["results"]) == DEMO_TASKS
    assert {task: (e["n_samples"], e["n_errors"]) for task, e in results["results"].items()} == \
        {task: (LIMIT, 0) for task in DEMO_TASKS}
    for task in DEMO_TASKS:
        samples = read_samples(out, task)
        assert [s["doc_id"] for s in samples] == list(range(LIMIT))
        assert all(s["error"] is None and s["output_tokens"] > 0 and s["input_tokens"] > 0 for s in samples)
    model = results["model"]
    # vLLM's /v1/models reports the weights it loaded as the served name's `root`: part of the journal identity.
    assert (model["base_url"], model["checkpoint"], model["served_model"]) == \
        (vllm_server.url, "tiny-onevision", str(tiny_checkpoint))


@dataclass(frozen=True)
class KilledSerialRun:
    out: Path
    journaled: int  # answers in the journal when the first run was killed
    killed_requests: int  # requests the server received from the killed run
    resumed_requests: int  # requests the server received from the resumed run
    resumed: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def killed_serial_run(vllm_server, tmp_path_factory) -> KilledSerialRun:
    """The demo tasks at concurrency 1, SIGKILLed after two answers and resumed (still at concurrency 1)."""
    out = tmp_path_factory.mktemp("killed") / "out"
    args = eval_args(vllm_server, out, limit=LIMIT, concurrency=1)
    before = vllm_server.chat_requests()
    journaled = run_and_kill(args, out, after=2)
    assert list(out.glob("*/*_results.json")) == []
    killed_requests = vllm_server.chat_requests() - before
    before = vllm_server.chat_requests()
    resumed = run_ov_eval(args)
    return KilledSerialRun(out, journaled, killed_requests, vllm_server.chat_requests() - before, resumed)


def test_a_killed_run_resumes_and_asks_vllm_only_for_the_missing_samples(killed_serial_run):
    run = killed_serial_run
    assert 2 <= run.journaled < SAMPLES
    assert run.journaled <= run.killed_requests <= run.journaled + 1  # at most the one in flight when killed
    assert run.resumed.returncode == 0, run.resumed.stderr[-3000:]
    assert run.resumed_requests == SAMPLES - run.journaled
    assert {task: (e["n_samples"], e["n_errors"]) for task, e in read_results(run.out)["results"].items()} == \
        {task: (LIMIT, 0) for task in DEMO_TASKS}


def test_concurrency_1_gives_the_answers_of_concurrency_16(killed_serial_run, reference_run):
    # Every request of the killed and of the resumed run went alone; the reference run's went in one batch.
    assert killed_serial_run.resumed.returncode == 0, killed_serial_run.resumed.stderr[-3000:]
    assert responses(killed_serial_run.out) == responses(reference_run[0])


def test_a_prompt_past_max_model_len_is_that_samples_error_and_its_image_still_serves(vllm_server):
    adapter = OpenAICompatibleAdapter({"model": vllm_server.model, "base_url": vllm_server.url}, env={})
    image = encode_image(Image.new("RGB", (40, 30), (10, 120, 240)), "png")
    settings = GenerationSettings(max_new_tokens=4)
    too_long = ChatRequest([{"role": "user", "content": chat_content("word " * 40000, [image], [])}], settings)
    before = vllm_server.chat_requests()
    with pytest.raises(SampleFailure) as failure:
        adapter.complete(too_long)
    assert str(failure.value).startswith(f"{vllm_server.url}: ")
    assert "HTTP 400" in str(failure.value) and "32768" in str(failure.value)
    assert vllm_server.chat_requests() - before == 1  # a 400 is final: no retries

    # With vLLM's multi-modal processor cache on, this request (same image) would get HTTP 500 "cache miss".
    short = ChatRequest([{"role": "user", "content": chat_content("What colour is it?", [image], [])}], settings)
    answer = adapter.complete(short)
    assert 1 <= answer.output_tokens <= 4 and answer.input_tokens > 729  # the image's tokens and more


def test_the_readme_serves_the_tiny_checkpoint_as_these_tests_do():
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.DOTALL)
    [line] = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()
              if "-m vllm.entrypoints.openai.api_server --model build/tiny-hf" in line]
    words = line.split()
    assert words[words.index("-m"):] == vllm_command(Path("python"), Path("build/tiny-hf"), "tiny-onevision", 8000)[1:]
    assert dict(w.split("=") for w in words[:words.index("-m") - 1]) == {**VLLM_SERVER_ENV, "OMP_NUM_THREADS": "2"}
