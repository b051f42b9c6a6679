"""The qwen_1_5 prompt strings, exactly as the published evaluation built them."""
import pytest

from ov_eval.errors import OvEvalError
from ov_eval.models.templates import build_prompt, get_template

QWEN = get_template("qwen_1_5")
HEAD = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
TAIL = "<|im_end|>\n<|im_start|>assistant\n"


def test_one_image():
    assert build_prompt(QWEN, "What is shown?", 1) == HEAD + "<image>\nWhat is shown?" + TAIL


def test_two_images_get_space_joined_placeholders():
    assert build_prompt(QWEN, "Compare them.", 2) == HEAD + "<image> <image>\nCompare them." + TAIL


def test_video_is_one_visual_with_one_placeholder():
    assert build_prompt(QWEN, "What happens?", 1) == HEAD + "<image>\nWhat happens?" + TAIL


def test_text_only_has_no_placeholder():
    assert build_prompt(QWEN, "Hello", 0) == HEAD + "Hello" + TAIL


def test_interleaved_placeholders_stay_where_they_are():
    text = "<image><image> Which object appears in both images?\nA. Candle\nB. Needle"
    assert build_prompt(QWEN, text, 2) == HEAD + text + TAIL


def test_mmmu_image_tags_are_not_placeholders():
    text = "Which object is shown in <image 1>? (problem 0)\nA. Quartz\nB. <image 2>"
    assert build_prompt(QWEN, text, 2) == HEAD + "<image> <image>\n" + text + TAIL


def test_json_conversation_unrolls_into_turns():
    text = ('[{"from": "human", "value": "<image><image> What changed?"}, {"from": "gpt", "value": "A cup."}, '
            '{"from": "human", "value": "Where is it?"}]')
    assert build_prompt(QWEN, text, 2) == (
        HEAD + "<image><image> What changed?<|im_end|>\n<|im_start|>assistant\nA cup.<|im_end|>\n"
        "<|im_start|>user\nWhere is it?" + TAIL)


def test_json_conversation_must_end_with_the_user():
    with pytest.raises(OvEvalError, match="odd number of turns"):
        build_prompt(QWEN, '[{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]', 0)


def test_unknown_template():
    with pytest.raises(OvEvalError, match=r"unknown conv_template 'qwen_1.5' \(did you mean 'qwen_1_5'\?\)"):
        get_template("qwen_1.5")
