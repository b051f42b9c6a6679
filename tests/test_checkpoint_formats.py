"""Original lmms-lab and transformers checkpoints of the same weights load to the same model."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import run_ov_eval
from ov_eval.errors import OvEvalError
from ov_eval.models.checkpoint import load_checkpoint
from ov_eval.models.convert import (hf_to_original_config, hf_to_original_state_dict, original_to_hf_config,
                                    original_to_hf_state_dict)
from ov_eval.models.tiny import build_tiny_model, write_tiny_checkpoint, write_vision_tower

SEED = 3


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("formats")
    return {fmt: write_tiny_checkpoint(root / fmt, seed=SEED, format=fmt) for fmt in ("hf", "original")}


@pytest.fixture(scope="module")
def loaded(folders):
    return {fmt: load_checkpoint(str(path), dtype="float32", attn_implementation=None, device="cpu")
            for fmt, path in folders.items()}


def copy_checkpoint(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def multimodal_embeds(model, tokenizer) -> torch.Tensor:
    """Text, one 384x384 tile through tower and projector, the newline embedding, more text: every weight is used."""
    pixels = torch.linspace(-1, 1, 3 * 384 * 384).reshape(1, 3, 384, 384)
    inner = model.model
    features = inner.multi_modal_projector(inner.vision_tower(pixels, output_hidden_states=True).hidden_states[-1])
    embed = model.get_input_embeddings()
    before = embed(torch.tensor(tokenizer("<|im_start|>user\n", add_special_tokens=False)["input_ids"]))
    after = embed(torch.tensor(tokenizer("\nWhat is it?<|im_end|>\n<|im_start|>assistant\n",
                                         add_special_tokens=False)["input_ids"]))
    return torch.cat([before, features[0], inner.image_newline[None], after])[None]


def test_original_folder_has_original_layout(folders):
    config = json.loads((folders["original"] / "config.json").read_text())
    keys = set(load_file(folders["original"] / "model.safetensors"))
    assert config["mm_projector_type"] == "mlp2x_gelu" and config["model_type"] == "llava"
    assert config["mm_vision_tower"] == "ov-eval/siglip-tiny-patch14-384"
    assert sorted(p.name for p in folders["original"].iterdir()) == [
        "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
    assert "lm_head.weight" not in keys
    assert {"model.embed_tokens.weight", "model.norm.weight", "model.image_newline", "model.mm_projector.0.weight",
            "model.mm_projector.2.bias", "model.layers.1.mlp.up_proj.weight",
            "model.vision_tower.vision_tower.vision_model.encoder.layers.1.mlp.fc2.bias",
            "model.vision_tower.vision_tower.vision_model.post_layernorm.weight"} <= keys
    assert not any(k.startswith("model.vision_tower.vision_tower.vision_model.head") for k in keys)


def test_both_formats_load_identical_weights(loaded):
    hf, original = loaded["hf"].model.state_dict(), loaded["original"].model.state_dict()
    assert sorted(hf) == sorted(original)
    assert all(torch.equal(hf[k], original[k]) for k in hf)
    reference = build_tiny_model(SEED)[0].state_dict()
    assert all(torch.equal(reference[k], original[k]) for k in reference)
    assert loaded["original"].model.lm_head.weight is loaded["original"].model.get_input_embeddings().weight


def test_both_formats_give_identical_logits_and_generation(loaded):
    outputs = {}
    for fmt, checkpoint in loaded.items():
        with torch.no_grad():
            embeds = multimodal_embeds(checkpoint.model, checkpoint.tokenizer)
            logits = checkpoint.model(inputs_embeds=embeds).logits
            tokens = checkpoint.model.generate(inputs_embeds=embeds, max_new_tokens=8, do_sample=False,
                                               num_beams=1, eos_token_id=[98, 99], pad_token_id=99)
        outputs[fmt] = (logits, tokens)
    assert outputs["hf"][0].shape[1] > 730 and outputs["hf"][0].shape[2] == 103
    assert torch.equal(outputs["hf"][0], outputs["original"][0])
    assert outputs["hf"][1].tolist() == outputs["original"][1].tolist()
    assert outputs["hf"][1].shape[1] > 0


def test_both_formats_agree_on_config_and_tokens(loaded):
    hf, original = loaded["hf"], loaded["original"]
    assert original.model.config.text_config.to_diff_dict() == hf.model.config.text_config.to_diff_dict()
    assert original.model.config.vision_config.to_diff_dict() == hf.model.config.vision_config.to_diff_dict()
    assert original.model.config.image_grid_pinpoints == hf.model.config.image_grid_pinpoints
    assert (original.model.config.image_token_index, original.model.config.video_token_index) == (101, 102)
    assert original.model.generation_config.eos_token_id == [98, 99]
    assert original.tokenizer("<image>\nhi")["input_ids"] == hf.tokenizer("<image>\nhi")["input_ids"]


@pytest.mark.parametrize("layout", ["sharded_safetensors", "pytorch_bin"])
def test_original_weights_in_other_file_layouts(folders, loaded, tmp_path, layout):
    folder = copy_checkpoint(folders["original"], tmp_path / layout)
    weights = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    keys = sorted(weights)
    if layout == "pytorch_bin":
        torch.save(weights, folder / "pytorch_model.bin")
    else:
        shards = {"model-00001-of-00002.safetensors": keys[::2], "model-00002-of-00002.safetensors": keys[1::2]}
        for name, shard_keys in shards.items():
            save_file({k: weights[k] for k in shard_keys}, folder / name)
        weight_map = {k: name for name, shard_keys in shards.items() for k in shard_keys}
        (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    state = load_checkpoint(str(folder), "float32", None, "cpu").model.state_dict()
    reference = loaded["hf"].model.state_dict()
    assert all(torch.equal(reference[k], state[k]) for k in reference)


@pytest.mark.parametrize("fmt, on_disk, reported", [
    ("original", "model.layers.1.mlp.up_proj.weight", "model.layers.1.mlp.up_proj.weight"),
    ("hf", "language_model.model.layers.1.mlp.up_proj.weight", "model.language_model.layers.1.mlp.up_proj.weight"),
])
def test_missing_key_is_named(folders, tmp_path, fmt, on_disk, reported):
    folder = copy_checkpoint(folders[fmt], tmp_path / fmt)
    weights = load_file(folder / "model.safetensors")
    del weights[on_disk]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(OvEvalError, match="missing") as error:
        load_checkpoint(str(folder), "float32", None, "cpu")
    assert reported in str(error.value) and str(folder) in str(error.value)


@pytest.mark.parametrize("fmt, extra", [("original", "model.mm_projector.4.weight"), ("hf", "extra_head.weight")])
def test_unexpected_key_is_named(folders, tmp_path, fmt, extra):
    folder = copy_checkpoint(folders[fmt], tmp_path / fmt)
    weights = load_file(folder / "model.safetensors")
    weights[extra] = torch.zeros(2, 2)
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(OvEvalError, match="unexpected") as error:
        load_checkpoint(str(folder), "float32", None, "cpu")
    assert extra in str(error.value)


def test_original_shape_mismatch_is_named(folders, tmp_path):
    folder = copy_checkpoint(folders["original"], tmp_path / "shape")
    weights = load_file(folder / "model.safetensors")
    weights["model.mm_projector.2.bias"] = torch.zeros(5)
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(OvEvalError, match=r"mismatched shapes: model\.mm_projector\.2\.bias \[5\] != \[64\]"):
        load_checkpoint(str(folder), "float32", None, "cpu")


def test_folder_of_neither_format_is_refused(folders, tmp_path):
    folder = copy_checkpoint(folders["hf"], tmp_path / "bert")
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    with pytest.raises(OvEvalError, match="config.json: neither a transformers llava_onevision checkpoint "
                                          r"\(model_type is 'bert'\) nor an original lmms-lab") as error:
        load_checkpoint(str(folder), "float32", None, "cpu")
    assert str(folder / "config.json") in str(error.value)


def test_original_with_unsupported_settings_is_refused(folders, tmp_path):
    folder = copy_checkpoint(folders["original"], tmp_path / "linear")
    config = json.loads((folder / "config.json").read_text())
    config.update(mm_projector_type="linear", mm_newline_position="grid")
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(OvEvalError, match="unsupported OneVision settings: mm_projector_type='linear' "
                                          r"\(expected 'mlp2x_gelu'\); mm_newline_position='grid'"):
        load_checkpoint(str(folder), "float32", None, "cpu")


def test_round_trip_hf_original_hf_is_identity(tmp_path):
    model, _ = build_tiny_model(SEED)
    state = model.state_dict()
    original = hf_to_original_state_dict(state, tie_word_embeddings=True)
    assert "lm_head.weight" not in original and len(original) == len(state) - 1
    back = original_to_hf_state_dict(original, tie_word_embeddings=True)
    assert sorted(back) == sorted(state)
    assert all(torch.equal(back[k], state[k]) for k in state)

    # The video token id is not part of an original config: the loader takes it from the tokenizer.
    tower = write_vision_tower(model, tmp_path / "tower", SEED)
    config = original_to_hf_config(json.loads(json.dumps(hf_to_original_config(model.config, str(tower)))),
                                   video_token_id=model.config.video_token_index)
    assert config.to_dict() == {**model.config.to_dict(), "architectures": None}


def test_original_drops_rotary_buffers_and_clones_untied_lm_head_only_when_tied():
    embed = torch.arange(6.0).reshape(3, 2)
    original = {"model.embed_tokens.weight": embed, "model.layers.0.self_attn.rotary_emb.inv_freq": torch.ones(1)}
    assert set(original_to_hf_state_dict(original, tie_word_embeddings=False)) == {
        "model.language_model.embed_tokens.weight"}
    tied = original_to_hf_state_dict(original, tie_word_embeddings=True)
    assert torch.equal(tied["lm_head.weight"], embed) and tied["lm_head.weight"].data_ptr() != embed.data_ptr()


REAL_05B_OV_CONFIG = {
    "architectures": ["LlavaQwenForCausalLM"], "model_type": "llava", "attention_dropout": 0.0,
    "bos_token_id": 151643, "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896,
    "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 24,
    "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
    "rope_scaling": None, "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": True,
    "use_sliding_window": False, "vocab_size": 151936, "torch_dtype": "bfloat16",
    "image_aspect_ratio": "anyres_max_9", "image_crop_resolution": None,
    "image_grid_pinpoints": [[384 * i, 384 * j] for i in range(1, 7) for j in range(1, 7)],
    "image_split_resolution": None, "mm_hidden_size": 1152, "mm_newline_position": "one_token",
    "mm_patch_merge_type": "spatial_unpad", "mm_projector_type": "mlp2x_gelu", "mm_resampler_type": None,
    "mm_spatial_pool_mode": "bilinear", "mm_use_im_patch_token": False, "mm_use_im_start_end": False,
    "mm_vision_select_feature": "patch", "mm_vision_select_layer": -2,
    "mm_vision_tower": "google/siglip-so400m-patch14-384", "tokenizer_model_max_length": 32768,
}


def test_real_05b_original_config_converts():
    config = original_to_hf_config(REAL_05B_OV_CONFIG)
    vision, text = config.vision_config, config.text_config
    assert (vision.num_hidden_layers, vision.hidden_size, vision.intermediate_size, vision.num_attention_heads,
            vision.patch_size, vision.image_size, vision.vision_use_head) == (26, 1152, 4304, 16, 14, 384, False)
    assert (config.vision_feature_layer, config.vision_feature_select_strategy) == (-1, "full")
    assert (text.hidden_size, text.num_hidden_layers, text.num_attention_heads, text.num_key_value_heads,
            text.intermediate_size, text.vocab_size) == (896, 24, 14, 2, 4864, 151936)
    assert text.rope_parameters["rope_theta"] == 1000000.0 and text.sliding_window is None
    assert config.tie_word_embeddings and text.tie_word_embeddings
    assert (config.image_token_index, config.video_token_index) == (151646, 151647)
    assert config.image_grid_pinpoints[:3] == [[384, 384], [768, 384], [1152, 384]]  # (height, width)
    assert len(config.image_grid_pinpoints) == 36
    assert hf_to_original_config(config)["mm_vision_tower"] == "google/siglip-so400m-patch14-384"
    assert "mm_vision_tower_config" not in hf_to_original_config(config)


# Every key onevision.md lists for real original checkpoints, with the value where it is fixed.
ORIGINAL_CONFIG_KEYS = {
    "architectures": ["LlavaQwenForCausalLM"], "model_type": "llava", "mm_vision_select_layer": -2,
    "mm_vision_select_feature": "patch", "mm_use_im_patch_token": False, "mm_use_im_start_end": False,
    "mm_tunable_parts": "mm_vision_tower,mm_mlp_adapter,mm_language_model", "mm_resampler_type": None,
    "tokenizer_model_max_length": 32768, "tokenizer_padding_side": "right", "use_mm_proj": True,
    "vision_tower_pretrained": None, "image_aspect_ratio": "anyres_max_9", "mm_patch_merge_type": "spatial_unpad",
    "mm_spatial_pool_mode": "bilinear", "mm_newline_position": "one_token", "mm_projector_type": "mlp2x_gelu",
}
VARIABLE_KEYS = ("mm_hidden_size", "mm_vision_tower", "image_grid_pinpoints", "hidden_size", "intermediate_size",
                 "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "vocab_size", "rms_norm_eps",
                 "rope_theta", "max_position_embeddings", "tie_word_embeddings", "hidden_act")


@pytest.fixture(scope="module")
def cli_original(tmp_path_factory) -> tuple[Path, Path, str]:
    """(checkpoint, HF_HOME, stdout) of `tiny-checkpoint --format original --tower_cache` run with its own HF_HOME."""
    root = tmp_path_factory.mktemp("cli_original")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("HF_HUB_CACHE", raising=False)  # the hub cache is then HF_HOME/hub
        written = run_ov_eval(["tiny-checkpoint", str(root / "ckpt"), "--format", "original", "--seed", str(SEED),
                               "--tower_cache"], HF_HOME=str(root / "hf_home"), HF_HUB_OFFLINE="1")
    assert written.returncode == 0 and "Traceback" not in written.stderr, written.stderr
    return root / "ckpt", root / "hf_home", written.stdout


def test_original_tiny_checkpoint_carries_the_real_keys_and_names_no_transformers_5_class(cli_original):
    checkpoint = cli_original[0]
    config = json.loads((checkpoint / "config.json").read_text())
    assert {k: config[k] for k in ORIGINAL_CONFIG_KEYS} == ORIGINAL_CONFIG_KEYS
    assert all(k in config for k in VARIABLE_KEYS)
    assert config["mm_hidden_size"] == 32 and config["image_grid_pinpoints"][1] == [384, 768]
    assert "mm_vision_tower_config" not in config
    tokenizer_config = json.loads((checkpoint / "tokenizer_config.json").read_text())
    assert tokenizer_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert "backend" not in tokenizer_config and "extra_special_tokens" not in tokenizer_config
    assert tokenizer_config["additional_special_tokens"] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    for name in ("config.json", "tokenizer_config.json"):
        assert "TokenizersBackend" not in (checkpoint / name).read_text()


# What LLaVA-NeXT's build_vision_tower needs to reach its SigLIP tower: a name that is no existing path and
# contains "siglip" (checked before it, any existing path, "openai*" or "laion*" goes to the CLIP tower).
def _original_code_takes_the_siglip_branch(tower: str, cwd: Path) -> bool:
    return (not (cwd / tower).exists() and not Path(tower).is_absolute() and not tower.startswith(("openai", "laion"))
            and "ShareGPT4V" not in tower and "siglip" in tower)


LOAD_TOWER_OFFLINE = """
import json, sys
from transformers import SiglipVisionModel
tower, info = SiglipVisionModel.from_pretrained(sys.argv[1], output_loading_info=True)
print(json.dumps({"layers": len(tower.encoder.layers), "head": getattr(tower, "head", None) is not None,
                  "problems": {k: sorted(v) for k, v in info.items() if k != "error_msgs"},
                  "fc2": tower.encoder.layers[1].mlp.fc2.weight.flatten()[:4].tolist()}))
"""


def test_original_tower_is_a_siglip_hub_id_that_the_tower_cache_makes_loadable_offline(cli_original, tmp_path,
                                                                                       monkeypatch):
    from conftest import subprocess_env

    checkpoint, home, stdout = cli_original
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)  # the loader's hub cache is HF_HOME/hub as well
    tower_id = json.loads((checkpoint / "config.json").read_text())["mm_vision_tower"]
    assert tower_id == "ov-eval/siglip-tiny-patch14-384"
    assert _original_code_takes_the_siglip_branch(tower_id, tmp_path)
    repo = home / "hub" / "models--ov-eval--siglip-tiny-patch14-384"
    revision = (repo / "refs" / "main").read_text()
    snapshot = repo / "snapshots" / revision
    assert f"written to the hub cache: {snapshot}" in stdout
    assert sorted(p.name for p in snapshot.iterdir()) == ["config.json", "model.safetensors"]
    assert all(p.is_symlink() and p.resolve().parent == (repo / "blobs").resolve() for p in snapshot.iterdir())
    assert json.loads((snapshot / "config.json").read_text())["model_type"] == "siglip_vision_model"
    assert sorted(load_file(snapshot / "model.safetensors"))[0] == "vision_model.embeddings.patch_embedding.bias"

    loaded = subprocess.run([sys.executable, "-c", LOAD_TOWER_OFFLINE, tower_id], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path,
                            env=subprocess_env(HF_HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1"))
    assert loaded.returncode == 0, loaded.stderr
    tower = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert tower["problems"] == {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": []}
    assert (tower["layers"], tower["head"]) == (3, True)  # the full tower, before OneVision drops a layer
    kept = load_checkpoint(str(checkpoint), "float32", None, "cpu").model.model.vision_tower
    assert tower["fc2"] == kept.encoder.layers[1].mlp.fc2.weight.flatten()[:4].tolist()


def test_tower_cache_needs_the_original_format(tmp_path):
    run = run_ov_eval(["tiny-checkpoint", str(tmp_path / "ckpt"), "--tower_cache"], HF_HOME=str(tmp_path / "h"))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1] == ("ov_eval: error: --tower_cache: only with --format original "
                                                   "(an hf checkpoint holds its tower)")


def test_original_tokenizer_has_no_media_tokens_and_the_hf_one_has_them(folders, loaded):
    from transformers import AutoTokenizer

    original, hf = (AutoTokenizer.from_pretrained(str(folders[f])) for f in ("original", "hf"))
    assert "<image>" not in original.get_vocab() and "<video>" not in original.get_vocab()
    assert len(original) == 101
    assert (hf.convert_tokens_to_ids("<image>"), hf.convert_tokens_to_ids("<video>")) == (101, 102)
    assert len(original("<image>\nhi", add_special_tokens=False)["input_ids"]) == 10  # plain text, as lmms-lab's
    assert hf("<image>\nhi", add_special_tokens=False)["input_ids"] == [101, 1, 75, 76]
    # ov_eval adds them on load (ids 101, 102 as llava-hf has them), so placeholders still take the features
    assert loaded["original"].tokenizer("<image>\nhi", add_special_tokens=False)["input_ids"] == [101, 1, 75, 76]


def test_sticky_pad_counts_context_tokens_on_the_original_format_as_its_own_tokenizer_does(folders):
    from transformers import AutoTokenizer

    from ov_eval.models.onevision import OneVisionAdapter

    saved = AutoTokenizer.from_pretrained(str(folders["original"]))  # what the release-era harness encodes with
    adapter = OneVisionAdapter({"pretrained": str(folders["original"]), "sticky_pad": "true"})
    for text in ("<image> hi", "Compare <image> and <image>.", "<video>\nWhat happens?"):
        assert adapter.context_tokens(text) == len(saved(text, add_special_tokens=False)["input_ids"]) == len(text)


def test_older_original_checkpoint_naming_its_tower_folder_still_loads(folders, loaded, tmp_path):
    model, _ = build_tiny_model(SEED)
    folder = copy_checkpoint(folders["original"], tmp_path / "older")
    write_vision_tower(model, folder / "vision_tower", SEED)
    config = json.loads((folder / "config.json").read_text())
    config["mm_vision_tower"] = "/nowhere/vision_tower"  # an absolute path written elsewhere, then moved
    (folder / "config.json").write_text(json.dumps(config))
    state = load_checkpoint(str(folder), "float32", None, "cpu").model.state_dict()
    reference = loaded["original"].model.state_dict()
    assert all(torch.equal(reference[k], state[k]) for k in reference)


def test_0_5b_size_original_config_names_the_real_tower():
    from ov_eval.models.sizes import onevision_0_5b_config
    from ov_eval.models.tiny import build_tokenizer

    config = hf_to_original_config(onevision_0_5b_config(build_tokenizer()))
    assert config["mm_vision_tower"] == "google/siglip-so400m-patch14-384"
    assert (config["mm_hidden_size"], config["hidden_size"], config["num_hidden_layers"]) == (1152, 896, 24)
    assert {k: config[k] for k in ORIGINAL_CONFIG_KEYS} == ORIGINAL_CONFIG_KEYS


def test_unknown_original_tower_needs_a_description():
    config = {**REAL_05B_OV_CONFIG, "mm_vision_tower": "openai/clip-vit-large-patch14-336"}
    with pytest.raises(OvEvalError, match="ckpt/config.json: unknown vision tower 'openai/clip-vit-large-patch14-336'"):
        original_to_hf_config(config, source="ckpt/config.json")


def test_cli_writes_both_formats_that_generate_the_same_text(tmp_path):
    from ov_eval.cli import main
    from ov_eval.models.onevision import OneVisionAdapter
    from ov_eval.types import GenerationSettings, ModelInput
    from PIL import Image

    assert main(["tiny-checkpoint", str(tmp_path / "hf"), "--seed", "3"]) == 0
    assert main(["tiny-checkpoint", str(tmp_path / "orig"), "--seed", "3", "--format", "original"]) == 0
    image = Image.new("RGB", (500, 300), (200, 30, 30))
    item = ModelInput("What colour?", (image,), (), GenerationSettings(max_new_tokens=8))
    outputs = []
    for folder in ("hf", "orig"):
        adapter = OneVisionAdapter({"pretrained": str(tmp_path / folder)})
        outputs.append(adapter.generate([adapter.prepare(item)])[0])
    assert outputs[0] == outputs[1]
    from ov_eval.models.preprocess import anyres_image_token_count

    assert outputs[0].output_tokens > 0
    assert outputs[0].image_tokens == anyres_image_token_count(500, 300)


def test_outputs_follow_the_image_frames_and_question(tmp_path):
    """The tiny weights are large enough that a wrong image, wrong frames or another question change the output."""
    import numpy as np
    from PIL import Image

    from ov_eval.models.onevision import OneVisionAdapter
    from ov_eval.models.tiny import write_tiny_checkpoint
    from ov_eval.types import GenerationSettings, ModelInput

    adapter = OneVisionAdapter({"pretrained": str(write_tiny_checkpoint(tmp_path / "ckpt"))})
    settings = GenerationSettings(max_new_tokens=8)

    def answer(text, images=(), videos=()):
        return adapter.generate([adapter.prepare(ModelInput(text, tuple(images), tuple(videos), settings))])[0].text

    red, blue = Image.new("RGB", (320, 240), (220, 30, 30)), Image.new("RGB", (320, 240), (40, 70, 220))
    assert answer("What colour?", [red]) != answer("What colour?", [blue])
    assert answer("What colour?", [red]) != answer("How many objects are there?", [red])
    assert answer("Compare.", [red, blue]) != answer("Compare.", [blue, blue])
    dark = np.zeros((4, 64, 64, 3), dtype=np.uint8)
    assert answer("What happens?", videos=[dark]) != answer("What happens?", videos=[dark + 200])


def test_an_unknown_tower_id_is_described_by_its_hub_cache_copy(tmp_path, monkeypatch):
    import huggingface_hub.constants

    from ov_eval.models.tiny import write_tower_cache

    snapshot = write_tower_cache(SEED, hub_cache=tmp_path / "hub")
    shutil.move(snapshot.parents[1], tmp_path / "hub" / "models--someorg--siglip-custom")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    model, _ = build_tiny_model(SEED)
    original = {**hf_to_original_config(model.config), "mm_vision_tower": "someorg/siglip-custom"}
    vision = original_to_hf_config(original, source="ckpt/config.json").vision_config
    assert (vision.num_hidden_layers, vision.hidden_size, vision.num_attention_heads) == (2, 32, 2)
    with pytest.raises(OvEvalError, match="ckpt/config.json: unknown vision tower 'someorg/siglip-other'"):
        original_to_hf_config({**original, "mm_vision_tower": "someorg/siglip-other"}, source="ckpt/config.json")
