"""Text-answer metrics: ANLS, relaxed accuracy, MME yes/no, OCRBench, MMMU open, ROUGE-L."""

import re
from collections.abc import Sequence

from ov_eval.scoring.normalize import collapse_whitespace, validate_profile

ANLS_THRESHOLD = 0.5


# --- ANLS (docvqa_val, infovqa_val) ---------------------------------------------------------

def levenshtein_distance(first: str, second: str) -> int:
    """Character edit distance (insert, delete, substitute; each costs 1)."""
    if len(first) < len(second):
        first, second = second, first
    previous_row = list(range(len(second) + 1))
    for row, first_char in enumerate(first, start=1):
        current_row = [row]
        for column, second_char in enumerate(second, start=1):
            current_row.append(min(
                previous_row[column] + 1,
                current_row[column - 1] + 1,
                previous_row[column - 1] + (first_char != second_char),
            ))
        previous_row = current_row
    return previous_row[-1]


def anls_value(prediction: str, ground_truth: str) -> float:
    """1 - d/L for one ground truth, 0.0 below the 0.5 threshold.

    d is the distance between the lower-cased, whitespace-collapsed strings; L is the longer
    raw length after upper-casing (the reference measures before normalising). L = 0 gives 1.
    """
    longest = max(len(ground_truth.upper()), len(prediction.upper()))
    if longest == 0:
        return 1.0
    distance = levenshtein_distance(
        collapse_whitespace(ground_truth.lower()), collapse_whitespace(prediction.lower())
    )
    value = 1.0 - distance / longest
    return value if value >= ANLS_THRESHOLD else 0.0


def anls(prediction: str, ground_truths: Sequence[str], profile: str = "published") -> float:
    """Per-question ANLS. published: 1.0 if any ground truth reaches 0.5, else 0.0 (binarised);
    corrected: the maximum value over the ground truths. No ground truths give 0.0."""
    best = max((anls_value(prediction, truth) for truth in ground_truths), default=0.0)
    if validate_profile(profile) == "published":
        return 1.0 if best >= ANLS_THRESHOLD else 0.0
    return best


# --- ChartQA relaxed accuracy ---------------------------------------------------------------

def _relaxed_float(text: str) -> float | None:
    try:
        if text.endswith("%"):
            return float(text.rstrip("%")) / 100.0
        return float(text)
    except ValueError:
        return None


def relaxed_accuracy(prediction: str, target: str, max_relative_change: float = 0.05) -> float:
    """ChartQA: numbers within 5 % of a non-zero target (trailing `%` divides by 100), else
    case-insensitive string equality. `prediction` is expected already stripped."""
    predicted_number = _relaxed_float(prediction)
    target_number = _relaxed_float(target)
    if predicted_number is not None and target_number:
        relative_change = abs(predicted_number - target_number) / abs(target_number)
        return float(relative_change <= max_relative_change)
    return float(prediction.lower() == target.lower())


# --- MME --------------------------------------------------------------------------------------

def mme_parse_yes_no(response: str) -> str:
    """MME parse: "yes", "no" or "other" (first-4-characters rule; `Nope` is no)."""
    text = response.lower().strip().replace(".", "")
    if text in ("yes", "no"):
        return text
    if len(text) == 1:
        return {"y": "yes", "n": "no"}.get(text, "other")
    prefix = text[:4]
    if "yes" in prefix:
        return "yes"
    if "no" in prefix:
        return "no"
    return "other"


def mme_score(response: str, answer: str) -> float:
    """MME per question: 1.0 when the parse equals the answer lower-cased without `.`."""
    return float(mme_parse_yes_no(response) == answer.lower().replace(".", ""))


# --- OCRBench ---------------------------------------------------------------------------------

def fold_fullwidth(text: str) -> str:
    """Map full-width ASCII (U+FF01–U+FF5E) to ASCII and the ideographic space U+3000 to a space."""
    return "".join(
        " " if char == "\u3000"
        else chr(ord(char) - 0xFEE0) if "\uff01" <= char <= "\uff5e"
        else char
        for char in text
    )


def _without_spaces(text: str) -> str:
    return text.strip().replace("\n", " ").replace(" ", "")


def ocrbench_score(
    response: str, answers: Sequence[str] | str, is_hme100k: bool, profile: str = "published"
) -> float:
    """OCRBench row: 1.0 when any answer is contained in the response.

    HME100k: spaces removed on both sides, answer case kept. published lower-cases the response
    (so upper-case HME100k answers never match); corrected folds full-width characters and keeps
    the response's case for HME100k (other rows still compare lower-cased).
    """
    candidates = [answers] if isinstance(answers, str) else list(answers)
    if validate_profile(profile) == "corrected":
        folded = fold_fullwidth(response).strip()
        hme_text, plain_text = folded, folded.lower()
    else:
        hme_text = plain_text = response.lower().strip()
    for answer in candidates:
        if is_hme100k:
            if _without_spaces(answer) in _without_spaces(hme_text):
                return 1.0
        elif answer.lower().strip().replace("\n", " ") in plain_text:
            return 1.0
    return 0.0


# --- MMMU open answers --------------------------------------------------------------------------

_MMMU_INDICATORS = ("could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result ")
_TRIVIAL_KEY_TEXTS = set(",.!?;:'")
_COMMA_GROUPED_NUMBER = re.compile(r"-?(?<![\d.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\.?\d|,\d)")
_SCIENTIFIC_NUMBER = re.compile(r"-?(?<![\d.])\d+(?:\.\d+)?[eE][+-]?\d+")
_PLAIN_NUMBER = re.compile(
    r"-?(?<![\d.,])(?<!\d[eE])(?<!\d[eE][+-])(?:\d+\.\d+|\.\d+|\d+)(?!\.?\d|,\d|[eE][+-]?\d)"
)


def _key_texts(response: str) -> list[str]:
    text = response.strip().lower().strip(".")
    pieces = text.split("\n")
    kept: list[str] = []
    for index, piece in enumerate(pieces):
        indicators = _MMMU_INDICATORS + (("=",) if index == len(pieces) - 1 else ())
        shortest: str | None = None
        for indicator in indicators:
            if indicator not in piece:
                continue
            tail = piece.split(indicator)[-1].strip()
            if not shortest or len(tail) < len(shortest):
                shortest = tail
        if shortest and shortest not in _TRIVIAL_KEY_TEXTS:
            kept.append(shortest)
    return kept or [text]


def _normalize_open_item(item: str) -> list[float | str]:
    try:
        return [round(float(item.replace(",", "")), 2)]
    except ValueError:
        lowered = item.lower()
        return [" " + lowered, lowered + " "] if len(lowered) == 1 else [lowered]


def mmmu_parse_open_response(response: str) -> list[float | str]:
    """MMMU open steps 1-7: deduplicated normalised predictions (floats rounded to 2, strings)."""
    items = _key_texts(response)
    numbers: list[str] = []
    for text in items:
        for pattern in (_COMMA_GROUPED_NUMBER, _SCIENTIFIC_NUMBER, _PLAIN_NUMBER):
            numbers.extend(pattern.findall(text))
    predictions: list[float | str] = []
    for item in items + numbers:
        for value in _normalize_open_item(item):
            if value not in predictions:
                predictions.append(value)
    return predictions


def mmmu_eval_open(gold: str | Sequence[str], predictions: Sequence[float | str]) -> bool:
    """MMMU open step 8: a string prediction contains a gold string, or a float equals a gold
    float. `gold` is one answer string (a list means several acceptable answers)."""
    golds = [gold] if isinstance(gold, str) else list(gold)
    normalized = [value for answer in golds for value in _normalize_open_item(answer)]
    gold_strings = [value for value in normalized if isinstance(value, str)]
    gold_floats = [value for value in normalized if isinstance(value, float)]
    for prediction in predictions:
        if isinstance(prediction, str):
            if any(answer in prediction for answer in gold_strings):
                return True
        elif prediction in gold_floats:
            return True
    return False


# --- ROUGE-L F as PyPI rouge==1.0.1 computes it -----------------------------------------------

def _rouge_sentences(text: str) -> list[list[str]]:
    # Pieces are kept when non-empty BEFORE whitespace collapsing, so " " becomes the token "".
    return [collapse_whitespace(piece).split(" ") for piece in text.split(".") if piece]


def _lcs_tokens(reference: list[str], hypothesis: list[str]) -> set[str]:
    rows, columns = len(reference), len(hypothesis)
    table = [[0] * (columns + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        for j in range(1, columns + 1):
            if reference[i - 1] == hypothesis[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    # The package's traceback order decides WHICH tokens an ambiguous LCS contributes.
    tokens: set[str] = set()
    i, j = rows, columns
    while i > 0 and j > 0:
        if reference[i - 1] == hypothesis[j - 1]:
            tokens.add(reference[i - 1])
            i, j = i - 1, j - 1
        elif table[i - 1][j] > table[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return tokens


def rouge_l_f(hyp: str, ref: str) -> float:
    """Summary-level ROUGE-L F of `rouge==1.0.1` (`get_scores(hyp, ref)[0]['rouge-l']['f']`).

    Sentences split on `.`, space tokens, case-sensitive, unique-token counts; the union of one
    LCS per sentence pair gives K; F = 2PR/(P+R+1e-8). Where the package raises (no sentence on
    a side, e.g. `...`), this returns 0.0.
    """
    hypothesis_sentences, reference_sentences = _rouge_sentences(hyp), _rouge_sentences(ref)
    if not hypothesis_sentences or not reference_sentences:
        return 0.0
    reference_vocabulary = {token for sentence in reference_sentences for token in sentence}
    hypothesis_vocabulary = {token for sentence in hypothesis_sentences for token in sentence}
    union: set[str] = set()
    for reference in reference_sentences:
        for hypothesis in hypothesis_sentences:
            union |= _lcs_tokens(reference, hypothesis)
    precision = len(union) / len(hypothesis_vocabulary)
    recall = len(union) / len(reference_vocabulary)
    return 2.0 * ((precision * recall) / (precision + recall + 1e-8))
