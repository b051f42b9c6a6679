"""Scoring of the judge tasks (docs/scoring_rules.md §4) around the judge call itself.

The judge client and its prompts live in ov_eval.judges; the step that builds judge items from samples and
turns verdicts into metric inputs is ov_eval.scoring.judge_step. The steps registered here: for a judge task
the metric receives the judge's parsed verdict as `prediction` (MathVista: the extracted answer, or the
response when the quick extraction worked; MMBench: the matched letter, only for rows the rules leave
unresolved; MMVet and MathVerse: the grade; LLaVA-W: the (reference, model) review pair). Rows the judge
could not settle are excluded and counted by that step.
"""
from __future__ import annotations

import re
from typing import Any

from ov_eval.data.doc_values import option_list
from ov_eval.errors import OvEvalError
from ov_eval.scoring.benchmarks import mmbench_options
from ov_eval.scoring.choice import mmbench_match_option
from ov_eval.scoring.judge_step import Excluded, JudgeContext, MetricInputs, register_judge_step
from ov_eval.scoring.registry import register_aggregation, register_metric
from ov_eval.scoring.text_metrics import levenshtein_distance

_PARENTHESISED_LETTER = re.compile(r"\(([a-zA-Z])\)")


# --- MathVista ----------------------------------------------------------------------------------

def mathvista_quick_extract(response: str, doc: dict) -> str | None:
    """Extraction without the judge (steps 1-3): "" for an empty response, a response equal to a choice, or
    one that parses as the integer / float answer type; None means the judge must extract."""
    if not response:
        return ""
    if doc["question_type"] == "multi_choice" and response in option_list(doc["choices"], "column 'choices'"):
        return response  # `in` a list of choices; `in` a string would be a substring test
    kind = {"integer": int, "float": float}.get(doc["answer_type"])
    if kind is not None:
        try:
            kind(response)
            return response
        except ValueError:
            pass
    return None


def mathvista_normalize(extraction: str, doc: dict) -> str | None:
    """The extraction in the answer's form: a choice text, an int, a float rounded to the precision, a list.

    A float question's precision is a float64 in the dataset, and `round(x, 1.0)` raises: the reference then
    gets None, so every float question scores 0 (both profiles).
    """
    if doc["question_type"] == "multi_choice":
        choices = option_list(doc["choices"], "column 'choices'")
        text = extraction.strip()
        letter = _PARENTHESISED_LETTER.findall(text)
        text = letter[0].upper() if letter else text
        letters = [chr(65 + i) for i in range(len(choices))]
        if text in letters:
            return choices[letters.index(text)]
        return min(choices, key=lambda choice: levenshtein_distance(text, choice))
    try:
        if doc["answer_type"] == "integer":
            return str(int(float(extraction)))
        if doc["answer_type"] == "float":
            return str(round(float(extraction), doc["precision"]))
    except (TypeError, ValueError):
        return None
    return str(extraction)


@register_metric("mathvista_match")
def mathvista_match(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """MathVista: the extracted answer (quick extract, else the judge's), normalised, equals the answer."""
    normalized = mathvista_normalize(prediction, doc)
    return None if normalized is None else float(normalized.strip() == str(target).strip())


# --- verdicts that are grades ---------------------------------------------------------------------

@register_metric("judge_grade")
def judge_grade(prediction: str, target: Any, doc: dict, profile: str) -> float | None:
    """MMVet (0.0-1.0) and MathVerse (0 or 1): the judge's grade; None when it is not a number in [0, 1]."""
    try:
        grade = float(prediction)
    except ValueError:
        return None
    return grade if 0.0 <= grade <= 1.0 else None


# --- LLaVA-in-the-Wild ----------------------------------------------------------------------------

def llava_wild_relative_score(reviews: list[tuple[float, float]]) -> float:
    """(reference score, model score) per sample -> round(mean(model) / mean(ref) · 100, 1), each mean
    rounded to 3 decimals first, as the reference computes it."""
    reference = round(sum(r for r, _ in reviews) / len(reviews), 3)
    model = round(sum(m for _, m in reviews) / len(reviews), 3)
    return round(model / reference * 100, 1)


@register_metric("llava_wild_review")
def llava_wild_review(prediction: Any, target: Any, doc: dict, profile: str) -> list[float]:
    """The judge's review pair [reference, model]; the key's aggregation (llava_wild_relative) makes the ratio."""
    if not (isinstance(prediction, (list, tuple)) and len(prediction) == 2):
        raise OvEvalError("llava_in_the_wild is scored from the judge's reviews: a sample reached the metric "
                          "without one")
    return [float(prediction[0]), float(prediction[1])]


@register_aggregation("llava_wild_relative")
def llava_wild_relative(values: list[list[float]], docs: list[dict]) -> float:
    """LLaVA-in-the-Wild: 100 × mean(model score) / mean(reference score), rounded as the reference does."""
    return llava_wild_relative_score([(ref, model) for ref, model in values])


# --- judge steps: which samples the judge sees, with which fields ----------------------------------

@register_judge_step("mathvista_extract")
def _mathvista_extract(ctx: JudgeContext) -> dict[str, str] | None:
    if mathvista_quick_extract(ctx.response, ctx.doc) is not None:
        return None
    return {"query": ctx.doc["query"], "response": ctx.response}


@register_judge_step("mmbench_match")
def _mmbench_match(ctx: JudgeContext) -> dict[str, str] | None:
    options = mmbench_options(ctx.doc)
    if mmbench_match_option(ctx.response, options) is not None:
        return None
    return {"question": str(ctx.doc["question"]), "options": " ".join(f"{k}. {v}" for k, v in options.items()),
            "prediction": ctx.response}


def mmvet_padded_answer(answer: str) -> str:
    return answer.replace("<AND>", " <AND> ").replace("<OR>", " <OR> ")


@register_judge_step("mmvet_grade")
def _mmvet_grade(ctx: JudgeContext) -> dict[str, str]:
    return {"question": ctx.doc["question"], "answer": mmvet_padded_answer(str(ctx.doc["answer"])),
            "prediction": ctx.response}


@register_judge_step("llava_wild_review")
def _llava_wild_review(ctx: JudgeContext) -> dict[str, str]:
    return {"context": ctx.doc["caption"], "question": ctx.doc["question"],
            "reference_answer": ctx.doc["gpt_answer"], "model_answer": ctx.response}


def mathverse_last_words(response: str, count: int = 30) -> str:
    """The last `count` space-separated words of the response (both profiles judge only these)."""
    return " ".join(response.split(" ")[-count:])


@register_judge_step("mathverse_extract")
def _mathverse_extract(ctx: JudgeContext) -> dict[str, str] | None:
    """An empty response is not sent (the reference extracts "" without a call); it then scores wrong."""
    if not ctx.response:
        return None
    return {"response": mathverse_last_words(ctx.response)}


@register_judge_step("mathverse_judgement")
def _mathverse_judgement(ctx: JudgeContext) -> dict[str, str] | None:
    """Published: the extraction of the previous kind, against `question`; an empty response has none and
    is not judged (no grade: unresolved, scored wrong). Corrected (no extraction step): the truncated
    response against `question_for_eval`."""
    if ctx.profile != "corrected" and not ctx.response:
        return None
    question = ctx.doc["question_for_eval"] if ctx.profile == "corrected" else ctx.doc["question"]
    extraction = ctx.verdicts.get("mathverse_extract", mathverse_last_words(ctx.response))
    return {"question": question, "answer": str(ctx.doc["answer"]), "extraction": extraction}


# --- video judge steps -------------------------------------------------------------------------------
# Their metrics (ov_eval/scoring/video_benchmarks.py) each read one part of the verdicts: the prediction is
# MetricInputs keyed by the reference's result names (a VideoChatGPT Generic sample gathers its three kinds).

def _video_qa_fields(ctx: JudgeContext) -> dict[str, str]:
    return {"question": str(ctx.doc["question"]), "answer": str(ctx.doc["answer"]), "prediction": ctx.response}


def _activitynetqa_inputs(ctx: JudgeContext, verdict: Any) -> MetricInputs:
    return MetricInputs({"gpt_eval_accuracy": verdict.pred, "gpt_eval_score": verdict.score})


for _kind in ("activitynetqa", "activitynetqa_corrected"):
    register_judge_step(_kind, _activitynetqa_inputs)(_video_qa_fields)


def _score_named(*names: str):
    def prediction(ctx: JudgeContext, verdict: Any) -> MetricInputs:
        earlier = ctx.prediction if isinstance(ctx.prediction, MetricInputs) else {}
        return MetricInputs({**earlier, **{name: verdict for name in names}})
    return prediction


for _kind, _names in (("videochatgpt_correctness", ("gpt_eval_score_correctness",)),
                      ("videochatgpt_detail", ("gpt_eval_score_detailed_orientation", "gpt_eval_score")),  # + dc499
                      ("videochatgpt_context", ("gpt_eval_score_context",)),
                      ("videochatgpt_temporal", ("gpt_eval_score_temporal",))):
    register_judge_step(_kind, _score_named(*_names))(_video_qa_fields)


def _is_first_question(doc: dict) -> bool:
    return doc["question_1"] != "None"


@register_judge_step("videochatgpt_consistency", _score_named("gpt_eval_score_consistency"))
def _videochatgpt_consistency(ctx: JudgeContext) -> dict[str, str] | Excluded:
    """A question_1 row pairs with the first later row of its video, which must be a question_2 row; one item
    sees both. The question_2 row and rows without a partner are not scored (a pair whose question_2 row
    comes first is lost, as in the reference)."""
    if not _is_first_question(ctx.doc):
        return Excluded("a question_2 row: scored with its question_1 row")
    later = sorted(d for d, (doc, _) in ctx.samples.items() if d > ctx.doc_id
                   and doc["video_name"] == ctx.doc["video_name"])
    if not later or _is_first_question(ctx.samples[later[0]][0]):
        return Excluded("no later question_2 row of the same video")
    partner, partner_response = ctx.samples[later[0]]
    return {"question_1": ctx.doc["question_1"], "question_2": partner["question_2"],
            "answer": str(ctx.doc["answer"]), "prediction_1": ctx.response, "prediction_2": partner_response}
