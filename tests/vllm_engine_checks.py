"""Every engine=vllm check that needs a running vLLM engine, in ONE process with ONE engine start (~45 s here).

Run in the vLLM environment: `.venv-vllm/bin/python tests/vllm_engine_checks.py CHECKPOINT OUT_DIR`; prints one
JSON object (read by tests/test_vllm_engine.py). The engine=transformers adapter is built in the same process,
so both engines see the very same model weights and preprocessing code.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ov_eval.errors import RunInterrupted
from ov_eval.models.onevision import OneVisionAdapter
from ov_eval.runner import RunConfig, evaluate
from ov_eval.types import GenerationSettings, ModelInput

MAX_MODEL_LEN = 4096  # below the demo videos' prompts: those are the samples past max_model_len
ADAPTERS: dict[str, Any] = {}
INTERRUPT_AFTER = 3


def shared_vllm(model_args: dict, batch_size: int = 1, device: str = "cpu") -> Any:
    return ADAPTERS["vllm"]


def shared_transformers(model_args: dict, batch_size: int = 1, device: str = "cpu") -> Any:
    return ADAPTERS["transformers"]


class Interrupting:
    """The vLLM adapter, with a Ctrl-C arriving after INTERRUPT_AFTER answers (as a user's would)."""

    def __init__(self, adapter: Any) -> None:
        self._adapter = adapter

    def __getattr__(self, name: str) -> Any:
        return getattr(self._adapter, name)

    def generate_stream(self, samples):
        for count, answer in enumerate(self._adapter.generate_stream(samples)):
            if count == INTERRUPT_AFTER:
                raise KeyboardInterrupt
            yield answer


def interrupting_vllm(model_args: dict, batch_size: int = 1, device: str = "cpu") -> Any:
    return Interrupting(ADAPTERS["vllm"])


class Counting:
    def __init__(self, adapter: Any) -> None:
        self._adapter, self.answers = adapter, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._adapter, name)

    def generate_stream(self, samples):
        for answer in self._adapter.generate_stream(samples):
            self.answers += 1
            yield answer


def counting_vllm(model_args: dict, batch_size: int = 1, device: str = "cpu") -> Any:
    ADAPTERS["counting"] = Counting(ADAPTERS["vllm"])
    return ADAPTERS["counting"]


def bitwise_inputs(tf: OneVisionAdapter, vl: OneVisionAdapter) -> dict[str, Any]:
    """Per kind: is the row vLLM is handed bitwise the inputs_embeds transformers' generate gets; same tokens?"""
    rng = np.random.default_rng(0)
    def picture(w: int, h: int) -> Image.Image:
        return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    settings = GenerationSettings(max_new_tokens=8)
    items = {"single_image": ModelInput("<image>\nWhat is it?", (picture(640, 480),), generation=settings),
             "multi_image": ModelInput("<image>\n<image>\nCompare.", (picture(300, 200), picture(200, 300)),
                                       generation=settings),
             "video": ModelInput("<image>\nWhat happens?", videos=(rng.integers(0, 256, (8, 64, 64, 3),
                                                                                 dtype=np.uint8),),
                                 generation=settings)}
    handed: list[torch.Tensor] = []
    given: list[torch.Tensor] = []
    vllm_prompt, tf_generate = vl.engine.prompt, tf.model.generate
    vl.engine.prompt = lambda row: handed.append(vllm_prompt(row)["prompt_embeds"]) or {"prompt_embeds": handed[-1]}
    tf.model.generate = lambda **kw: given.append(kw["inputs_embeds"][0].clone()) or tf_generate(**kw)
    report = {}
    try:
        for kind, item in items.items():
            tf_out = tf.generate([tf.prepare(item)])[0]
            vl_out = vl.generate([vl.prepare(item)])[0]
            report[kind] = {"bitwise_equal": bool(torch.equal(handed[-1], given[-1])),
                            "shape": list(handed[-1].shape), "dtype": str(handed[-1].dtype),
                            "same_text": tf_out.text == vl_out.text,
                            "same_counts": (tf_out.input_tokens, tf_out.output_tokens, tf_out.image_tokens)
                            == (vl_out.input_tokens, vl_out.output_tokens, vl_out.image_tokens)}
    finally:
        vl.engine.prompt, tf.model.generate = vllm_prompt, tf_generate
    return report


def refused_prompt(vl: OneVisionAdapter) -> dict[str, Any]:
    """A row past max_model_len handed straight to the engine (past the adapter's own check): that row's error,
    and the engine still answers the next row."""
    width = vl.model.get_input_embeddings().weight.shape[1]
    settings = GenerationSettings(max_new_tokens=4)
    rows = [("long", torch.zeros(MAX_MODEL_LEN + 10, width), settings), ("short", torch.zeros(5, width), settings)]
    outcomes = dict(vl.engine.stream(iter(rows)))
    return {"long": type(outcomes["long"]).__name__, "long_message": str(outcomes["long"])[:200],
            "short_tokens": len(outcomes["short"]) if isinstance(outcomes["short"], list) else None}


def run(model: str, checkpoint: str, out: Path, extra_args: str = "") -> dict[str, Any] | None:
    config = RunConfig(model=model, model_args=f"pretrained={checkpoint}{extra_args}", tasks=["demo"],
                       output_path=str(out), log_samples=True, workers=2, bootstrap_iters=0)
    return evaluate(config)


def samples(out: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(out.glob("*/*_samples_*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            found[f"{path.name.split('_samples_')[1]}:{record['doc_id']}"] = record
    return found


def main() -> int:
    global ADAPTERS
    import vllm_engine_checks  # the runner imports the factories under this name, not as __main__

    ADAPTERS = vllm_engine_checks.ADAPTERS
    checkpoint, out = sys.argv[1], Path(sys.argv[2])
    report: dict[str, Any] = {}
    ADAPTERS["transformers"] = OneVisionAdapter({"pretrained": checkpoint})
    started = time.monotonic()
    ADAPTERS["vllm"] = OneVisionAdapter({"pretrained": checkpoint, "engine": "vllm", "enforce_eager": "true",
                                         "max_model_len": str(MAX_MODEL_LEN), "max_num_seqs": "16"})
    report["startup_s"] = round(time.monotonic() - started, 1)
    tf, vl = ADAPTERS["transformers"], ADAPTERS["vllm"]
    report["identity"] = {"transformers": tf.identity, "vllm": vl.identity}
    report["describe"] = vl.describe()
    report["bitwise"] = bitwise_inputs(tf, vl)
    report["refused"] = refused_prompt(vl)

    tf_out, vl_out = out / "transformers", out / "vllm"
    run("vllm_engine_checks:shared_transformers", checkpoint, tf_out)
    try:
        run("vllm_engine_checks:interrupting_vllm", checkpoint, vl_out)
        report["interrupted"] = None
    except RunInterrupted as interrupted:
        report["interrupted"] = interrupted.journaled
    results = run("vllm_engine_checks:counting_vllm", checkpoint, vl_out)
    report["resumed_answers"] = ADAPTERS["counting"].answers
    report["results_model"] = results["model"]
    tf_samples, vl_samples = samples(tf_out), samples(vl_out)
    report["sample_keys_equal"] = sorted(tf_samples) == sorted(vl_samples)
    compared = {key: (tf_samples[key], vl_samples[key]) for key in tf_samples if key in vl_samples}
    errors = {key: b.get("error") for key, (a, b) in compared.items() if b.get("error")}
    answered = {key: (a, b) for key, (a, b) in compared.items() if not b.get("error")}
    report["samples"] = len(compared)
    report["vllm_errors"] = errors
    report["transformers_errors"] = sorted(key for key, (a, b) in compared.items() if a.get("error"))
    report["identical"] = sum(a["resps"] == b["resps"] for a, b in answered.values())
    report["answered"] = len(answered)
    report["differing"] = sorted(key for key, (a, b) in answered.items() if a["resps"] != b["resps"])
    print("VLLM_CHECKS " + json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
