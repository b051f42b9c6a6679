"""Verdict parsers: a judge's reply text -> a parsed verdict, or VerdictParseError.

Pure functions. Successful verdicts are read as lmms-eval v0.2.2 reads them (docs/scoring_rules.md §4); where the
reference turns an unreadable reply into a score (0, "no", [-1, -1]) these raise instead, so the stage can
ask again and finally count a failure.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass

from ov_eval.scoring.choice import mmbench_match_option


class VerdictParseError(ValueError):
    """The judge replied, but the reply is not a verdict of the expected shape."""


@dataclass(frozen=True)
class QAVerdict:
    pred: str  # kept as written: the accuracy counts only pred == "yes" (case-sensitive), as the reference
    score: float  # float(score), as the reference: 4.8 stays 4.8 (unlike VideoChatGPT), '3' is 3.0


def _excerpt(reply: str) -> str:
    return repr(reply if len(reply) <= 80 else reply[:77] + "...")


def parse_extraction(reply: str) -> str:
    """MathVista / MathVerse answer extraction: the reply itself, stripped ("" is a valid extraction)."""
    return reply.strip()


def parse_option_letter(reply: str) -> str:
    """MMBench matcher: the reply through MMBench's rules a/b (a bare letter, or one shape like `B.`); A-E.

    Rule c (option texts) needs the doc, so the task may still apply it to the raw reply; E means no option.
    """
    letter = mmbench_match_option(reply, {})
    if letter is None:
        raise VerdictParseError(f"no single option letter A-E in the reply: {_excerpt(reply)}")
    return letter


def parse_binary_judgement(reply: str) -> int:
    """MathVerse consistency check: the reply minus `Judgement:` must be exactly 0 or 1."""
    value = reply.replace("Judgement:", "").strip()
    if value not in ("0", "1"):
        raise VerdictParseError(f"expected 'Judgement: 0' or 'Judgement: 1', got {_excerpt(reply)}")
    return int(value)


def _literal_dict(text: str, reply: str) -> dict:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise VerdictParseError(f"not a Python literal ({type(exc).__name__}): {_excerpt(reply)}") from None
    if not isinstance(value, dict):
        raise VerdictParseError(f"expected a dict literal, got {type(value).__name__}: {_excerpt(reply)}")
    return value


def _converted(value: object, convert: type, key: str, reply: str) -> int | float:
    """`int(value)` or `float(value)` as the reference applies it to the verdict's value, so numeric strings
    and booleans are read too ('3' -> 3, True -> 1) and no range is imposed; a value it cannot convert, or a
    non-finite one, is not a verdict."""
    try:
        number = convert(value)
    except (TypeError, ValueError, OverflowError):
        raise VerdictParseError(f"'{key}' is not a number {convert.__name__}() reads: {_excerpt(reply)}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise VerdictParseError(f"'{key}' is not a finite number: {_excerpt(reply)}")
    return number


def parse_qa_verdict(reply: str) -> QAVerdict:
    """ActivityNetQA, published: `ast.literal_eval` of the whole reply -> {'pred': ..., 'score': ...}."""
    return _qa_from_dict(_literal_dict(reply, reply), reply)


def parse_qa_verdict_corrected(reply: str) -> QAVerdict:
    """ActivityNetQA, corrected profile: the `{...}` part (first `{` to last `}`) is cut out first."""
    start, end = reply.find("{"), reply.rfind("}")
    if start < 0 or end < start:
        raise VerdictParseError(f"no {{...}} part in the reply: {_excerpt(reply)}")
    return _qa_from_dict(_literal_dict(reply[start:end + 1], reply), reply)


def _qa_from_dict(verdict: dict, reply: str) -> QAVerdict:
    if "pred" not in verdict or "score" not in verdict:
        raise VerdictParseError(f"expected keys 'pred' and 'score': {_excerpt(reply)}")
    if not isinstance(verdict["pred"], str):
        raise VerdictParseError(f"'pred' is not a string: {_excerpt(reply)}")
    return QAVerdict(pred=verdict["pred"], score=_converted(verdict["score"], float, "score", reply))


def parse_score_dict(reply: str) -> int:
    """VideoChatGPT / VideoDC: `ast.literal_eval` of the reply, then int(score), which truncates (4.8 -> 4) and
    keeps a score outside 0-5 (6 stays 6, -1 stays -1)."""
    verdict = _literal_dict(reply, reply)
    if "score" not in verdict:
        raise VerdictParseError(f"expected key 'score': {_excerpt(reply)}")
    return _converted(verdict["score"], int, "score", reply)


def parse_mmvet_grade(reply: str) -> float:
    """MMVet: the first space-separated token as a float in [0, 1]."""
    token = reply.strip().split(" ")[0].strip()
    try:
        grade = float(token)
    except ValueError:
        raise VerdictParseError(f"the first token is not a number: {_excerpt(reply)}") from None
    if not 0.0 <= grade <= 1.0:
        raise VerdictParseError(f"grade {grade} is outside [0, 1]: {_excerpt(reply)}")
    return grade


def parse_review_scores(reply: str) -> tuple[float, float]:
    """LLaVA-in-the-wild: first line, commas -> spaces, split on single spaces; exactly two numbers (ref, model)."""
    fields = reply.split("\n")[0].replace(",", " ").split(" ")
    if len(fields) != 2:
        raise VerdictParseError(f"the first line is not exactly two space-separated scores: {_excerpt(reply)}")
    try:
        ref, model = float(fields[0]), float(fields[1])
    except ValueError:
        raise VerdictParseError(f"the first line's scores are not numbers: {_excerpt(reply)}") from None
    if not (math.isfinite(ref) and math.isfinite(model)):
        raise VerdictParseError(f"the first line's scores are not finite: {_excerpt(reply)}")
    return ref, model
