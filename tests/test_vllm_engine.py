"""engine=vllm: unit tests of its settings and checkpoint export here; every check that needs a running vLLM
engine in ONE subprocess of the vLLM environment (.venv-vllm, `make vllm-env`), which starts one engine and
runs tests/vllm_engine_checks.py (bitwise inputs, agreement on the demo tasks, Ctrl-C and resume, a prompt past
max_model_len)."""
import json
import os
import subprocess
from pathlib import Path

import pytest
from safetensors.torch import load_file

from conftest import REPO, TESTS, subprocess_env
from ov_eval.cli import main
from ov_eval.errors import OvEvalError
from ov_eval.models.checkpoint import load_checkpoint
from ov_eval.models.engine import VllmSettings, engine_name, engine_visible_devices, tensor_parallel_size, vllm_settings
from ov_eval.models.lm_export import export_language_model
from ov_eval.models.onevision import OneVisionAdapter
from ov_eval.models.tiny import write_tiny_checkpoint

VLLM_PYTHON_ENV = "OV_EVAL_VLLM_PYTHON"  # set by `make test`: the engine environment must be there
VLLM_PYTHON = Path(os.environ.get(VLLM_PYTHON_ENV) or REPO / ".venv-vllm" / "bin" / "python")


# ---- settings ---------------------------------------------------------------------------------------------------
def test_gpus_per_process_is_tensor_parallel_size():
    assert tensor_parallel_size(4, None) == 4
    assert tensor_parallel_size(None, 2) == 2
    assert tensor_parallel_size(None, None) == 1
    assert tensor_parallel_size(4, 4) == 4
    with pytest.raises(OvEvalError, match=r"^--model_args: tensor_parallel_size=2 contradicts gpus_per_process=4 "):
        tensor_parallel_size(4, 2)


def test_each_process_engine_sees_its_own_gpus():
    assert engine_visible_devices([4, 5, 6, 7], None) == "4,5,6,7"
    assert engine_visible_devices([2, 3], "3,5,6,7") == "6,7"
    with pytest.raises(OvEvalError, match=r"GPUs \[2, 3\] of this process are not all among CUDA_VISIBLE_DEVICES=0,1"):
        engine_visible_devices([2, 3], "0,1")


def test_vllm_settings_parsed():
    assert vllm_settings({}) == VllmSettings(1, 0.9, 16, None, False)
    assert vllm_settings({"gpus_per_process": "4", "gpu_memory_utilization": "0.8", "max_num_seqs": "64",
                          "max_model_len": "16384", "enforce_eager": "True"}) == VllmSettings(4, 0.8, 64, 16384, True)


@pytest.mark.parametrize("args, message", [
    ({"max_num_seqs": "0"}, "--model_args: max_num_seqs must be a positive integer, not '0'"),
    ({"max_model_len": "4k"}, "--model_args: max_model_len must be a positive integer, not '4k'"),
    ({"tensor_parallel_size": "-2"}, "--model_args: tensor_parallel_size must be a positive integer, not '-2'"),
    ({"gpu_memory_utilization": "90"}, "--model_args: gpu_memory_utilization must be a number in (0, 1], not '90'"),
    ({"enforce_eager": "yes"}, "--model_args: enforce_eager must be true or false, not 'yes'"),
])
def test_bad_vllm_setting_names_itself(args, message):
    with pytest.raises(OvEvalError) as caught:
        vllm_settings(args)
    assert str(caught.value) == message


def test_engine_argument_checked():
    assert engine_name({}) == "transformers"
    assert engine_name({"engine": "vllm", "max_num_seqs": "8"}) == "vllm"
    with pytest.raises(OvEvalError, match=r"^--model_args: engine must be transformers or vllm, not 'vlm'$"):
        engine_name({"engine": "vlm"})
    with pytest.raises(OvEvalError, match=r"^--model_args: max_model_len is a setting of engine=vllm \(this run "
                                          r"uses engine=transformers\)$"):
        engine_name({"max_model_len": "4096"})


def test_bad_engine_setting_on_the_command_line(capsys, tiny_checkpoint, tmp_path):
    argv = ["--model", "llava_onevision", "--model_args", f"pretrained={tiny_checkpoint},engine=vllm,max_num_seqs=0",
            "--tasks", "demo_colours", "--output_path", str(tmp_path)]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "ov_eval: error: --model_args: max_num_seqs must be a positive integer, not '0'"]


def test_transformers_engine_keeps_its_identity(tiny_checkpoint):
    """Journals written before engines existed keep their keys: engine=transformers adds nothing."""
    import hashlib

    adapter = OneVisionAdapter({"pretrained": str(tiny_checkpoint)})
    legacy = [adapter.checkpoint_id, "qwen_1_5", 32, 2, "torch.float32"]
    assert adapter.identity == hashlib.sha256(json.dumps(legacy).encode()).hexdigest()[:16]
    assert adapter.describe()["engine"] == "transformers"
    assert adapter.stream_window == 0


# ---- the language model for vLLM ----------------------------------------------------------------------------
def test_language_model_export_same_from_both_formats(tmp_path, caplog):
    hf = write_tiny_checkpoint(tmp_path / "hf", seed=0)
    original = write_tiny_checkpoint(tmp_path / "original", seed=0, format="original")
    folders = {}
    for name, folder in (("hf", hf), ("original", original)):
        loaded = load_checkpoint(str(folder), "float32", "sdpa", "cpu")
        folders[name] = export_language_model(loaded.model, loaded.identity, root=tmp_path / "cache")
    assert folders["hf"] != folders["original"]  # keyed by the checkpoint identity
    weights = {name: load_file(folder / "model.safetensors") for name, folder in folders.items()}
    assert sorted(weights["hf"]) == sorted(weights["original"])
    assert all(weights["hf"][key].equal(weights["original"][key]) for key in weights["hf"])
    assert "model.embed_tokens.weight" in weights["hf"] and "model.norm.weight" in weights["hf"]
    assert not any(key.startswith(("model.language_model", "vision_tower", "multi_modal")) for key in weights["hf"])
    config = json.loads((folders["hf"] / "config.json").read_text())
    assert (config["architectures"], config["model_type"], config["head_dim"] if "head_dim" in config else 32) == (
        ["Qwen2ForCausalLM"], "qwen2", 32)
    assert config["hidden_size"] // config["num_attention_heads"] == 32
    loaded = load_checkpoint(str(hf), "float32", "sdpa", "cpu")
    stamp = (folders["hf"] / "model.safetensors").stat().st_mtime_ns
    with caplog.at_level("INFO", logger="ov_eval.models.lm_export"):
        assert export_language_model(loaded.model, loaded.identity, root=tmp_path / "cache") == folders["hf"]
    assert (folders["hf"] / "model.safetensors").stat().st_mtime_ns == stamp  # reused, not written again
    assert f"language model for vLLM: reusing {folders['hf']} (" in caplog.text


# ---- with a running vLLM engine (one start for all) ---------------------------------------------------------------
@pytest.fixture(scope="module")
def checks(tiny_checkpoint, tmp_path_factory) -> dict:
    if not VLLM_PYTHON.is_file():
        if os.environ.get(VLLM_PYTHON_ENV):
            pytest.fail(f"{VLLM_PYTHON_ENV}={VLLM_PYTHON} does not exist: `make vllm-env` builds it")
        pytest.skip("no vLLM engine environment (.venv-vllm): `make vllm-env` builds it, `make test` too")
    out = tmp_path_factory.mktemp("vllm_checks")
    env = subprocess_env(HF_HUB_OFFLINE="1", VLLM_CPU_KVCACHE_SPACE="1", OV_EVAL_LM_CACHE=str(out / "lm_cache"))
    env["OMP_NUM_THREADS"] = "2"
    run = subprocess.run([str(VLLM_PYTHON), str(TESTS / "vllm_engine_checks.py"), str(tiny_checkpoint), str(out)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in run.stdout.splitlines() if line.startswith("VLLM_CHECKS ")]
    assert run.returncode == 0 and lines, run.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("VLLM_CHECKS "))


@pytest.mark.parametrize("kind, positions", [("single_image", 2998), ("multi_image", 1525), ("video", 1640)])
def test_vllm_is_handed_the_transformers_inputs_embeds_bitwise(checks, kind, positions):
    assert checks["bitwise"][kind] == {"bitwise_equal": True, "shape": [positions, 64], "dtype": "torch.float32",
                                       "same_text": True, "same_counts": True}


def test_greedy_outputs_agree_on_the_demo_tasks(checks):
    assert checks["sample_keys_equal"] and checks["samples"] == 30
    assert checks["transformers_errors"] == []
    assert (checks["answered"], checks["identical"], checks["differing"]) == (26, 26, [])


def test_prompt_past_max_model_len_is_that_samples_error(checks):
    message = ("prompt of 6463 tokens exceeds vLLM's max_model_len of 4096 (prompt plus at least one generated "
               "token)")
    assert checks["vllm_errors"] == {f"demo_video.jsonl:{i}": f"task 'demo_video', doc {i}: {message}"
                                     for i in range(4)}
    # past the adapter's check, straight into the engine: refused, and the engine answers the next prompt
    assert checks["refused"]["long"] == "SampleFailure"
    assert checks["refused"]["long_message"].startswith(
        "vLLM refused the prompt: This model's maximum context length is 4096 tokens. However, your prompt "
        "contains 4106 input tokens")
    assert checks["refused"]["short_tokens"] == 4


def test_ctrl_c_then_resume_generates_only_the_rest(checks):
    assert checks["interrupted"] == 3  # journaled before the Ctrl-C
    assert checks["resumed_answers"] == 26 - 3


def test_engine_is_part_of_identity_and_results(checks):
    assert checks["identity"]["transformers"] != checks["identity"]["vllm"]
    model = checks["results_model"]
    assert (model["engine"], model["vllm_version"]) == ("vllm", "0.32.0")
    assert model["vllm_settings"] == {"tensor_parallel_size": 1, "gpu_memory_utilization": 0.9, "max_num_seqs": 16,
                                      "max_model_len": 4096, "enforce_eager": True}


# ---- the generation stage's streaming feed (what engine=vllm's adapter gets from the runner) --------------------
class ReversingStream:
    """A streaming adapter with a queue of `stream_window`: it answers the queued samples last-in first-out, so
    completion order differs from input order; it records how far ahead of its answers it was fed."""

    stream_window = 3
    identity, max_frames_num, video_decode_backend = "x", 8, "pyav"

    def __init__(self):
        self.most_queued = 0

    def prepare(self, item):
        if item.text == "bad":
            raise OvEvalError("no such picture")
        return item.text

    def generate(self, batch):
        raise AssertionError("a streaming adapter gets no batches")

    def describe(self):
        return {}

    def generate_stream(self, samples):
        from ov_eval.types import Generation

        queue = []
        for tag, text in samples:
            queue.append((tag, text))
            self.most_queued = max(self.most_queued, len(queue))
            if len(queue) == self.stream_window:
                tag, text = queue.pop()
                yield tag, Generation(text.upper(), 1, 1, 0)
        while queue:
            tag, text = queue.pop()
            yield tag, Generation(text.upper(), 1, 1, 0)


def test_streaming_stage_yields_in_completion_order_with_sample_errors():
    from ov_eval.generate import run_requests
    from ov_eval.types import GenerationSettings, Request

    texts = ["a", "b", "bad", "c", "d", "e"]
    requests = [Request("t", i, text, (), GenerationSettings(), key=f"t:{i}") for i, text in enumerate(texts)]
    adapter = ReversingStream()
    responses = list(run_requests(adapter, requests, batch_size=1, workers=0))
    assert [(r.key, r.text, r.error) for r in responses] == [
        ("t:2", None, "task 't', doc 2: no such picture"), ("t:3", "C", None), ("t:4", "D", None), ("t:5", "E", None),
        ("t:1", "B", None), ("t:0", "A", None)]
    assert adapter.most_queued == 3
