"""Per-sample metrics of the single-image benchmarks (docs/scoring_rules.md §1), under the names task YAMLs use.

Each wraps one shared rule from choice.py / text_metrics.py. A metric returns None when its rule reads no
answer from the response: the sample counts as wrong and in `n_unresolved` (§0.7), never as a guess.
"""
from __future__ import annotations

import math
import re
from typing import Any

from ov_eval.data.doc_values import answer_list, literal_option_list
from ov_eval.scoring.choice import (
    extract_mcq_answer,
    mmbench_match_option,
    mmmu_parse_choice,
    mmstar_score,
    realworldqa_flexible_extract,
    realworldqa_score,
    scienceqa_score,
    seedbench_score,
)
from ov_eval.scoring.normalize import validate_profile
from ov_eval.scoring.registry import register_metric
from ov_eval.scoring.text_metrics import (
    anls,
    mme_parse_yes_no,
    mme_score,
    mmmu_eval_open,
    mmmu_parse_open_response,
    ocrbench_score,
)

_SINGLE_LETTER = re.compile(r"[A-Za-z]")


@register_metric("anls", target="answers")
def anls_metric(prediction: str, target: Any, doc: dict, profile: str) -> float:
    """DocVQA / InfoVQA: binarised per question (published) or the best ANLS value (corrected). The target is the
    answers: a string is one, a list several."""
    return anls(prediction, answer_list(target, "anls target"), profile)


@register_metric("mme_yes_no")
def mme_yes_no(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """MME: the response's yes / no equals the answer; None when it says neither."""
    if mme_parse_yes_no(prediction) == "other":
        return None
    return mme_score(prediction, str(target))


@register_metric("realworldqa_exact_match")
def realworldqa_exact_match(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """The published flexible-extract filter needs the question's options, so it runs here, not as a filter step;
    corrected uses no filter. Unresolved: a letter answer and no letter read from the response."""
    answer, question = str(target), doc["question"]
    if _SINGLE_LETTER.fullmatch(answer.strip()):
        if validate_profile(profile) == "published":
            if not _SINGLE_LETTER.fullmatch(realworldqa_flexible_extract(prediction, question).strip()):
                return None
        elif answer.strip() in "ABCD" and extract_mcq_answer(prediction, "ABCD") is None:
            return None
    return realworldqa_score(prediction, question, answer, profile)


@register_metric("ocrbench", target="answers")
def ocrbench(prediction: str, target: Any, doc: dict, profile: str) -> float:
    """OCRBench: 1.0 when any answer is contained in the response (HME100k rows ignore spaces). The target is the
    answers: a string is one, a list several."""
    return ocrbench_score(prediction, answer_list(target, "ocrbench target"), doc["dataset"] == "HME100k", profile)


@register_metric("mmmu")
def mmmu(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """Multiple choice: the §0.6 parser over the options; open: the MMMU answer extraction and match."""
    if doc["question_type"] == "multiple-choice":
        options = literal_option_list(doc["options"], "column 'options'")
        choice = mmmu_parse_choice(prediction, [chr(65 + i) for i in range(len(options))], options)
        return None if choice is None else float(choice == str(target))
    return float(mmmu_eval_open(str(target), mmmu_parse_open_response(prediction)))


@register_metric("seedbench")
def seedbench(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """SEED-Bench: the response's first character equals the answer letter, any case; None when empty."""
    return seedbench_score(prediction, str(target)) if prediction.strip() else None


@register_metric("scienceqa")
def scienceqa(prediction: str, target: Any, doc: dict, profile: str) -> float:
    """ScienceQA-IMG: the stripped response equals the answer letter, ignoring case."""
    return scienceqa_score(prediction, str(target), profile)


@register_metric("mmstar")
def mmstar(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """MMStar: the published positional letter rule (corrected: extract_mcq_answer); None when unresolved."""
    if validate_profile(profile) == "corrected" and extract_mcq_answer(prediction, "ABCD") is None:
        return None
    return mmstar_score(prediction, str(target), profile) if prediction.strip() else None


def _present(value: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return str(value) not in ("", "nan")


def mmbench_hint(doc: dict) -> str | None:
    """The hint, or None when it is null, NaN or the string "nan"."""
    return str(doc["hint"]) if _present(doc.get("hint")) else None


def mmbench_options(doc: dict) -> dict[str, str]:
    """The options A–E that are present (non-empty, not NaN, not "nan"), letter -> text, in letter order."""
    return {letter: str(doc[letter]) for letter in "ABCDE" if _present(doc.get(letter))}


@register_metric("mmbench_option_match")
def mmbench_option_match(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """MMBench rules a/b/c. A row they leave unresolved is where the reference asks its GPT matcher; without a
    judge it counts as wrong and unresolved (§0.7)."""
    letter = mmbench_match_option(prediction, mmbench_options(doc))
    return None if letter is None else float(letter == str(target))
