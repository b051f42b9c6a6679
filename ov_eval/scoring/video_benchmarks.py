"""Per-sample metrics and aggregations of the video and multi-image benchmarks (docs/scoring_rules.md §2, §3, §4).

Each wraps one shared rule from choice.py / text_metrics.py. A metric returns None when its rule reads no
answer (unresolved: counted as wrong and in `n_unresolved`, §0.7), never a random guess.
"""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any

from ov_eval.data.doc_values import literal_option_list, option_list
from ov_eval.errors import OvEvalError
from ov_eval.scoring.choice import (
    egoschema_parse_choice,
    interleave_choice_score,
    mmmu_parse_choice,
    perceptiontest_parse_choice,
    videomme_parse_choice,
)
from ov_eval.scoring.registry import register_aggregation, register_metric

NEXTQA_LETTERS = "ABCDE"

# Video-MME's fixed category lists (videomme/utils.py); a value outside them is an error, as in the reference.
VIDEOMME_DURATIONS = ["short", "medium", "long"]
VIDEOMME_DOMAINS = ["Knowledge", "Film & Television", "Sports Competition", "Artistic Performance", "Life Record",
                    "Multilingual"]
VIDEOMME_SUB_CATEGORIES = [
    "Humanity & History", "Literature & Art", "Biology & Medicine", "Finance & Commerce", "Astronomy", "Geography",
    "Law", "Life Tip", "Technology", "Animation", "Movie & TV Show", "Documentary", "News Report", "Esports",
    "Basketball", "Football", "Athletics", "Other Sports", "Stage Play", "Magic Show", "Variety Show", "Acrobatics",
    "Handicraft", "Food", "Fashion", "Daily Life", "Travel", "Pet & Animal", "Exercise", "Multilingual"]
VIDEOMME_TASK_TYPES = [
    "Temporal Perception", "Spatial Perception", "Attribute Perception", "Action Recognition", "Object Recognition",
    "OCR Problems", "Counting Problem", "Temporal Reasoning", "Spatial Reasoning", "Action Reasoning",
    "Object Reasoning", "Information Synopsis"]
_VIDEOMME_FIELDS = {"duration": VIDEOMME_DURATIONS, "domain": VIDEOMME_DOMAINS,
                    "sub_category": VIDEOMME_SUB_CATEGORIES, "task_type": VIDEOMME_TASK_TYPES}

# Interleave-Bench: sub_task -> category (§3); sub_tasks not listed are left out of the score.
INTERLEAVE_CATEGORIES: dict[str, list[str]] = {
    "Spot-the-Diff": ["Spot-the-Diff", "Birds-to-Words", "CLEVR-Change"],
    "Image-Edit": ["IEdit", "HQ-Edit", "MagicBrush"],
    "Visual-Story-Telling": ["AESOP", "FlintstonesSV", "PororoSV", "VIST"],
    "Visual-Cloze": ["COMICS_Dialogue", "RecipeQA_VisualCloze"],
    "Text-Rich-VQA": ["WebQA", "TQA", "OCR-VQA", "DocVQA"],
    "Multi-Image-VQA": ["MIT-States_StateCoherence", "MIT-States_PropertyCoherence", "VISION",
                        "RecipeQA_ImageCoherence"],
    "Puzzle": ["RAVEN"],
    "NLVR2": ["NLVR2_Mantis"],
    **{name: [name] for name in ["QBench", "ScanQA", "ALFRED", "nuscenes", "ScanNet_chat", "ScanNet_task", "BLINK",
                                 "MathVerse", "SciVerse", "Mantis"]},
}
INTERLEAVE_CATEGORY_OF = {sub: category for category, subs in INTERLEAVE_CATEGORIES.items() for sub in subs}
ROUGE_MAX_CHARS = 512


# --- NExT-QA, EgoSchema, PerceptionTest, Video-MME ----------------------------------------------------------

@register_metric("nextqa_mc")
def nextqa_mc(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """§0.6 parser over A-E with the a0..a4 texts; the target is the answer letter."""
    texts = [str(doc[f"a{i}"]) for i in range(len(NEXTQA_LETTERS))]
    choice = mmmu_parse_choice(prediction, list(NEXTQA_LETTERS), texts)
    return None if choice is None else float(choice == str(target))


def egoschema_index(prediction: str, doc: dict) -> int:
    """The option index 0-4 the EgoSchema parser reads, or -1."""
    return egoschema_parse_choice(prediction, option_list(doc["option"], "column 'option'"))


@register_metric("egoschema_score")
def egoschema_score(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """EgoSchema: the parsed option index 0-4 equals the answer; None when no option is read."""
    index = egoschema_index(prediction, doc)
    return None if index < 0 else float(str(index) == str(target))


@register_metric("egoschema_submission")
def egoschema_submission(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """The parsed index (the submission file is written from the logged samples); its key aggregates to null."""
    index = egoschema_index(prediction, doc)
    return None if index < 0 else float(index)


@register_metric("perceptiontest_mc")
def perceptiontest_mc(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """PerceptionTest: the first standalone A-D letter equals the answer index; None when there is none."""
    index = perceptiontest_parse_choice(prediction)
    return None if index < 0 else float(index == int(target))


def _check_videomme_categories(doc: dict) -> None:
    for field, allowed in _VIDEOMME_FIELDS.items():
        if doc[field] not in allowed:
            raise OvEvalError(f"videomme question {doc.get('question_id')}: unknown {field} '{doc[field]}' "
                              f"(expected one of {', '.join(allowed)})")


@register_metric("videomme")
def videomme(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """Published: phrase deletion then the first upper-case A-D; corrected: extract_mcq_answer(A-D)."""
    _check_videomme_categories(doc)
    letter = videomme_parse_choice(prediction, profile)
    return None if not letter else float(letter == str(target).strip())


# --- multi-image ---------------------------------------------------------------------------------------------

@register_metric("muirbench")
def muirbench(prediction: str, target: Any, doc: dict, profile: str) -> float:
    """After flexible-extract: equal to the answer once both are stripped, ignoring case (`b` right, `(B)` wrong)."""
    return float(prediction.strip().lower() == str(target).strip().lower())


def rouge_l(prediction: str, answer: str) -> float:
    """ROUGE-L F of PyPI `rouge==1.0.1` on the prediction's first 512 characters; 0 for an empty prediction and
    where the package raises (a text with no sentence, e.g. `...`, which crashes the reference)."""
    from rouge import Rouge

    if not prediction:
        return 0.0
    try:
        return float(Rouge().get_scores(prediction[:ROUGE_MAX_CHARS], answer)[0]["rouge-l"]["f"])
    except (ValueError, RecursionError):
        return 0.0


@register_metric("interleave")
def interleave(prediction: str, target: Any, doc: dict, profile: str) -> float:
    """Interleave-Bench: a normalised choice match (multi-choice rows) or ROUGE-L (open-ended rows)."""
    kind = doc["question_type"]
    if kind == "multi-choice":
        return interleave_choice_score(prediction, str(target))
    if kind == "open-ended":
        return rouge_l(prediction, str(target))
    raise OvEvalError(f"interleave sample {doc.get('sample_id')}: unknown question_type '{kind}' "
                      "(expected multi-choice or open-ended)")


@register_aggregation("interleave_category_mean")
def interleave_category_mean(values: list[float], docs: list[dict]) -> float:
    """The mean per category, then the mean over the categories present; unlisted sub_tasks are left out."""
    categories: dict[str, list[float]] = defaultdict(list)
    for value, doc in zip(values, docs):
        category = INTERLEAVE_CATEGORY_OF.get(doc["sub_task"])
        if category is not None:
            categories[category].append(value)
    if not categories:
        raise OvEvalError("interleave: no sample's sub_task is a known category "
                          f"(e.g. {', '.join(list(INTERLEAVE_CATEGORY_OF)[:4])}, ...)")
    return statistics.fmean(statistics.fmean(v) for v in categories.values())


# --- MMMU test (labels hidden) -------------------------------------------------------------------------------

def mmmu_test_answer(prediction: str, doc: dict) -> str | None:
    """The parsed answer of an MMMU row: a letter for multiple choice (None when unresolved), else the
    prediction as is (open answers are parsed into a list by the submission writer)."""
    if doc["question_type"] == "multiple-choice":
        options = literal_option_list(doc["options"], "column 'options'")
        return mmmu_parse_choice(prediction, [chr(65 + i) for i in range(len(options))], options)
    return prediction


@register_metric("mmmu_submission")
def mmmu_submission(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """No local score (hidden answers): 0.0, or None when a multiple-choice letter is unresolved, so that
    `n_unresolved` is still reported. The key aggregates to null."""
    return None if mmmu_test_answer(prediction, doc) is None else 0.0


@register_aggregation("null")
def null(values: list[float], docs: list[dict]) -> None:
    """A key without a local figure (a submission-only task)."""
    return None


# --- judge verdicts (the judge stage supplies the part of the verdict each key reads as its prediction) ---

@register_metric("judge_yes")
def judge_yes(prediction: Any, target: Any, doc: dict, profile: str) -> float | None:
    """ActivityNetQA's verdict `pred`: 1 for "yes" (case-sensitive), 0 for anything else but an empty one."""
    return None if prediction is None or prediction == "" else float(prediction == "yes")


@register_metric("judge_score_0_5")
def judge_score_0_5(prediction: Any, target: Any, doc: dict, profile: str) -> float | None:
    """The judge's score on its 0-5 scale (ActivityNetQA keeps floats, VideoChatGPT's parser has already
    truncated to int), kept as the reference keeps it even outside that scale (6, -1); None when it is not a
    finite number."""
    try:
        score = float(prediction)
    except (TypeError, ValueError, OverflowError):
        return None
    return score if math.isfinite(score) else None
