"""Multiple-choice letter extraction: the single module every MCQ task parses with.

Each public function is one rule of docs/scoring_rules.md, kept literal (quirks included). Unresolved
answers come back as None (or -1 / "" where the rule says so), never as a random guess.
"""

import re
from collections.abc import Mapping, Sequence

from ov_eval.scoring.normalize import (
    exact_match,
    number_word_to_digit,
    trim_edge_characters,
    validate_profile,
)

# §0.9 trims these (the §0.6 set plus the double quote).
MCQ_TRIM_CHARACTERS = ",.!?;:'\""


def _letters_for(options: Sequence[str]) -> list[str]:
    return [chr(65 + index) for index in range(len(options))]


# --- §0.6 MMMU-style parser (MMMU, NExT-QA) and its EgoSchema variant -----------------------

def mmmu_parse_choice(
    response: str, letters: Sequence[str], option_texts: Sequence[str]
) -> str | None:
    """§0.6 P(response, letters, texts): the chosen letter, or None when unresolved.

    Levels, first that yields: `(L)`; `L `; `L.`; option text (only past 5 tokens). Several
    candidates: the largest last position wins (`(L)`, ` L `, or the option text), ties to the
    earlier letter. Case-sensitive for letters.
    """
    text = f" {trim_edge_characters(response.strip())} "
    candidates = [letter for letter in letters if f"({letter})" in text]
    positions = [text.rfind(f"({letter})") for letter in candidates]
    if not candidates:
        candidates = [letter for letter in letters if f"{letter} " in text]
        candidates = candidates or [letter for letter in letters if f"{letter}." in text]
        positions = [text.rfind(f" {letter} ") for letter in candidates]
    if not candidates and len(text.split()) > 5:
        lowered = text.lower()
        pairs = [(letter, option.lower()) for letter, option in zip(letters, option_texts)]
        candidates = [letter for letter, option in pairs if option in lowered]
        positions = [lowered.rfind(option) for _, option in pairs if option in lowered]
    if not candidates:
        return None
    best = 0
    for index in range(1, len(candidates)):
        if positions[index] > positions[best]:
            best = index
    return candidates[best]


def egoschema_parse_choice(response: str, options: Sequence[str]) -> int:
    """EgoSchema parser: the 0-based option index, or -1 when unresolved.

    `options` are the full option strings (`"A. ..."`). Unlike §0.6 all three letter passes run,
    and the SMALLEST last-occurrence position of the matched pattern wins (first found on ties).
    """
    letters = _letters_for(options)
    text = f" {trim_edge_characters(response.strip())} "
    shapes = ("({})", "{} ", "{}.")
    patterns = [shape.format(letter) for shape in shapes for letter in letters]
    candidates = [(pattern, text.rfind(pattern)) for pattern in patterns if pattern in text]
    if not candidates and len(text.split()) > 5:
        lowered = text.lower()
        candidates = [
            (letter, lowered.rfind(option.lower()))
            for letter, option in zip(letters, options)
            if option.lower() in lowered
        ]
    if not candidates:
        return -1
    pattern = min(candidates, key=lambda candidate: candidate[1])[0]
    letter = pattern.replace("(", "").replace(")", "").replace(".", "").strip()
    return letters.index(letter) if letter in letters else -1


# --- §0.9 corrected-profile extractor -------------------------------------------------------

_OPENERS_ONLY = re.compile(r"[\s(\[*\"']*")
_CLOSERS_ONLY = re.compile(r"[\s)\]*.,:;!?\"']*")
_ANSWER_PHRASE_BEFORE = re.compile(
    r"(?:\b(?:answer|option|choice)(?:\s+(?:is|would\s+be|should\s+be))?\s*:?"
    r"|\bi\s+(?:choose|pick|select))\s*[(\[*]*$",
    re.IGNORECASE,
)
_PRIORITY_BY_NEXT_CHARACTER = {".": 5, ":": 4, ")": 3, " ": 2}


def _letter_priority(padded: str, index: int) -> int:
    previous, following = padded[index - 1], padded[index + 1]
    if previous.isalnum() or following.isalnum():
        return 0
    before, after = padded[:index], padded[index + 1:]
    if _OPENERS_ONLY.fullmatch(before):
        return 10
    if _CLOSERS_ONLY.fullmatch(after):
        return 9
    if _ANSWER_PHRASE_BEFORE.search(before):
        return 7
    if previous == "(" and following == ")":
        return 6
    return _PRIORITY_BY_NEXT_CHARACTER.get(following, 0)


def _best_letter(response: str, letters: Sequence[str], min_priority: int = 0) -> str | None:
    padded = f" {trim_edge_characters(response.strip(), MCQ_TRIM_CHARACTERS)} "
    best: tuple[int, int, str] | None = None
    for index in range(1, len(padded) - 1):
        if padded[index] not in letters:
            continue
        candidate = (_letter_priority(padded, index), index, padded[index])
        if candidate[0] >= min_priority and (best is None or candidate[:2] > best[:2]):
            best = candidate
    return best[2] if best else None


def extract_mcq_answer(response: str, letters: Sequence[str] = "ABCD") -> str | None:
    """§0.9 corrected extractor: the highest-priority, then rightmost, upper-case letter or None.

    Priorities: standalone at start 10, at end 9, after an answer phrase 7, `(L)` 6, `L.` 5,
    `L:` 4, `L)` 3, `L ` 2, any other occurrence (even inside a word) 0.
    """
    return _best_letter(response, letters)


# --- Filters and per-task published rules ---------------------------------------------------

_LEADING_LETTER = re.compile(r"^\s*([A-Z])\.")


def leading_letter(response: str) -> str | None:
    """The letter of `^\\s*([A-Z])\\.` (ai2d / muirbench flexible-extract), or None."""
    match = _LEADING_LETTER.match(response)
    return match.group(1) if match else None


_MMBENCH_LETTERS = "ABCDE"
_MMBENCH_SHAPES = (
    "{}.", "{},", "{}:", "{})", "{}).", "({})", "({}).", ":{}", ":{},", ":{}.", ":{})", ":{}).",
)


def mmbench_match_option(prediction: str, option_texts: Mapping[str, str]) -> str | None:
    """MMBench rules a/b/c on the stripped prediction: a letter A–E, or None (judge / wrong).

    `option_texts` maps the present option letters to their texts.
    """
    text = prediction.strip()
    tokens = text.split()
    bare = [letter for letter in _MMBENCH_LETTERS if letter in tokens]
    if len(bare) == 1 and not (bare[0] == "A" and len(tokens) > 3):
        return bare[0]
    for shape in _MMBENCH_SHAPES:
        fitting = [letter for letter in _MMBENCH_LETTERS if shape.format(letter) in tokens]
        if len(fitting) == 1:
            return fitting[0]
    lowered = text.lower()
    found = [
        letter for letter, option in option_texts.items()
        if letter in "ABCD" and option and option.lower() in lowered
    ]
    return found[0] if len(found) == 1 else None


_VIDEOMME_DELETED_PHRASES = (
    "The best answer is", "The correct answer is", "The answer is", "The answer",
    "The best option isThe correct option is", "Best answer:Best option:",
)


def videomme_parse_choice(response: str, profile: str = "published") -> str:
    """Video-MME letter A–D, or "" when unresolved.

    published: delete the listed phrases, then the first upper-case A–D anywhere (so
    `Best answer: D` reads B). corrected: `extract_mcq_answer` over A–D.
    """
    if validate_profile(profile) == "corrected":
        return extract_mcq_answer(response, "ABCD") or ""
    text = response.strip()
    for phrase in _VIDEOMME_DELETED_PHRASES:
        text = text.replace(phrase, "")
    match = re.search(r"[ABCD]", text)
    return match.group(0) if match else ""


def perceptiontest_parse_choice(response: str) -> int:
    """PerceptionTest: index 0–3 of the first `\\b[A-D]\\b` in the stripped response, or -1."""
    match = re.search(r"\b([A-D])\b", response.strip())
    return "ABCD".index(match.group(1)) if match else -1


def seedbench_score(response: str, answer: str) -> float:
    """SEED-Bench: 1.0 when the stripped response's first character equals the answer, any case."""
    text = response.strip()
    return float(bool(text) and text[0].lower() == answer.lower())


def mmstar_score(response: str, answer: str, profile: str = "published") -> float:
    """MMStar. published: the q[0] / `(` / `option ` / `the answer is ` positional rule;
    corrected: `extract_mcq_answer` over A–D equals the stripped answer."""
    if validate_profile(profile) == "corrected":
        return float(extract_mcq_answer(response, "ABCD") == answer.strip())
    target = answer.lower().strip().replace("\n", " ")
    text = response.lower().strip().replace("\n", " ")
    for prefix, index in (("", 0), ("(", 1), ("option ", 7), ("the answer is ", 14)):
        if text.startswith(prefix) and len(text) > index and text[index] == target:
            return 1.0
    return 0.0


def scienceqa_score(response: str, answer_letter: str, profile: str = "published") -> float:
    """ScienceQA-IMG: the stripped response equals the letter, ignoring case.

    corrected only: otherwise a response whose first character is upper-case and second is `.`
    is read as that letter (published runs this test on the lower-cased text, so it never fires).
    """
    text = response.strip()
    if text.lower() == answer_letter.lower():
        return 1.0
    if validate_profile(profile) == "corrected" and len(text) >= 2:
        if text[0].isupper() and text[1] == ".":
            return float(text[0].lower() == answer_letter.lower())
    return 0.0


# --- LLaVA-Interleave-Bench N(x) ------------------------------------------------------------

_INTERLEAVE_LETTER_LINE = re.compile(r"^([A-E])\.\s*(.+)$", re.IGNORECASE)
_INTERLEAVE_MARKS = (
    ";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`",
    ",", "?", "!",
)
_DIGIT_COMMA_DIGIT = re.compile(r"\d,\d")
_PERIOD_NOT_BEFORE_DIGIT = re.compile(r"\.(?!\d)")
_STANDALONE_LOWER_LETTER = re.compile(r"\b([a-e])\b")


def interleave_normalize_choice(text: str) -> str:
    """Interleave-Bench N(x): an upper-case letter A–E, or the normalised text."""
    stripped = text.strip()
    letter_line = _INTERLEAVE_LETTER_LINE.match(stripped)
    if letter_line:
        return letter_line.group(1).upper()
    original = text.replace("\n", " ").replace("\t", " ").strip()
    keeps_digit_commas = bool(_DIGIT_COMMA_DIGIT.search(original))
    processed = original
    for mark in _INTERLEAVE_MARKS:
        if keeps_digit_commas or f"{mark} " in original or f" {mark}" in original:
            processed = processed.replace(mark, "")
        else:
            processed = processed.replace(mark, " ")
    # The reference passes re.UNICODE (32) where the count goes: at most 32 periods go.
    processed = _PERIOD_NOT_BEFORE_DIGIT.sub("", processed, count=32)
    processed = trim_edge_characters(processed, "'\")(").strip().lower()
    standalone = _STANDALONE_LOWER_LETTER.search(processed)
    return standalone.group(1).upper() if standalone else processed


def interleave_choice_score(prediction: str, answer: str) -> float:
    """Interleave-Bench multiple choice: 1.0 when N(prediction) == N(answer)."""
    return float(interleave_normalize_choice(prediction) == interleave_normalize_choice(answer))


# --- RealWorldQA ----------------------------------------------------------------------------

_REALWORLDQA_OPTION = re.compile(r"\b([A-Z])\.\s+([^\n]*)")


def realworldqa_flexible_extract(response: str, question: str) -> str:
    """RealWorldQA published flexible-extract filter: an option letter, or the cleaned response.

    Options come from the question (lettered A, B, … in match order); the leftmost option text
    in the cleaned response wins, the earlier option on equal positions (case-sensitive).
    """
    text = number_word_to_digit(response)
    option_texts = [match.group(2).strip() for match in _REALWORLDQA_OPTION.finditer(question)]
    cleaned = re.sub(r"[^\w\s]", "", text).strip()
    best: tuple[int, int] | None = None
    for index, option in enumerate(option_texts):
        position = cleaned.find(option)
        if position >= 0 and (best is None or position < best[0]):
            best = (position, index)
    return chr(65 + best[1]) if best else cleaned


def realworldqa_score(
    response: str, question: str, answer: str, profile: str = "published"
) -> float:
    """RealWorldQA. published: exact_match(filter(response).strip(), answer). corrected: letter
    answers A–D via `extract_mcq_answer`, others lower-cased with one trailing `.` removed."""
    if validate_profile(profile) == "published":
        return exact_match(realworldqa_flexible_extract(response, question).strip(), answer)
    target = answer.strip()
    if re.fullmatch(r"[A-D]", target):
        return float(extract_mcq_answer(response, "ABCD") == target)
    return float(
        response.strip().lower().removesuffix(".") == target.lower().removesuffix(".")
    )


# --- General purpose ------------------------------------------------------------------------

_LONE_LETTER_ANY_CASE = re.compile(r"[\s(\[*]*([A-Za-z])[\s)\].:*]*")


def find_choice(
    response: str, letters: Sequence[str] = "ABCD", option_texts: Sequence[str] | None = None
) -> str | None:
    """General MCQ parser for tasks without a published rule: a letter from `letters`, or None.

    In order: (1) the response equals one option text (case and edge punctuation ignored);
    (2) `extract_mcq_answer` restricted to standalone letters (priority >= 2, so `Apple` is not
    read as A); (3) a lone letter in any case (`a`, `(b)`, `c.`); (4) exactly one option text
    contained in the response (case-insensitive). Option texts align with `letters`.
    """
    text = response.strip()
    options = list(zip(letters, option_texts or ()))
    bare = trim_edge_characters(text, MCQ_TRIM_CHARACTERS).strip().lower()
    equal = [letter for letter, option in options if option and option.strip().lower() == bare]
    if len(equal) == 1:
        return equal[0]
    letter = _best_letter(text, letters, min_priority=2)
    if letter:
        return letter
    lone = _LONE_LETTER_ANY_CASE.fullmatch(text)
    if lone and lone.group(1).upper() in letters:
        return lone.group(1).upper()
    lowered = text.lower()
    contained = [letter for letter, option in options if option and option.lower() in lowered]
    return contained[0] if len(contained) == 1 else None
