"""Video-MME prompts (docs/scoring_rules.md §2 videomme): options as a Python list repr (published) or one per line
(corrected); the subtitle variant prepends the subtitle lines shown at the 32 sampled frames."""
from __future__ import annotations

from ov_eval.data.doc_values import option_list
from ov_eval.data.subtitles import subtitles_at_sampled_frames

INSTRUCTION = ("Select the best answer to the following multiple-choice question based on the video and the "
               "subtitles. Respond with only the letter (A, B, C, or D) of the correct option.")
TAIL = "\nAnswer with the option's letter from the given choices directly."
SUBTITLE_FRAMES = 32


def _question(doc: dict, profile: str) -> str:
    options = option_list(doc["options"], "column 'options'")
    rendered = repr(options) if profile == "published" else "\n".join(options)
    return f"{INSTRUCTION}\n{doc['question']}\n{rendered}\n"


def doc_to_text(doc: dict, task) -> str:
    if not task.config.task.endswith("_w_subtitle"):
        return _question(doc, task.profile) + TAIL
    subtitles = subtitles_at_sampled_frames(task, doc, SUBTITLE_FRAMES)
    return ("This video's subtitles are listed below: \n" + subtitles + "\n" + _question(doc, task.profile)
            + "The best answer is:")
