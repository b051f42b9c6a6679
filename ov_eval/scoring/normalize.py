"""Text helpers shared by the scoring rules."""

import re
import string

PROFILES = ("published", "corrected")

# §0.6 step 1: each character is trimmed from both ends in turn, in this order.
MMMU_TRIM_CHARACTERS = ",.!?;:'"

_PUNCTUATION_TABLE = str.maketrans("", "", string.punctuation)
_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}
_REASONING_BLOCK = re.compile(r"<(think|analysis)>.*?</\1>", re.DOTALL)


def validate_profile(profile: str) -> str:
    """Return `profile` unchanged, or raise ValueError if it is not a known scoring profile."""
    if profile not in PROFILES:
        raise ValueError(f"unknown scoring profile {profile!r}; expected one of {PROFILES}")
    return profile


def exact_match_normalize(text: str) -> str:
    """§0.5: lower-case, then delete every ASCII punctuation character (no whitespace stripping)."""
    return text.lower().translate(_PUNCTUATION_TABLE)


def exact_match(prediction: str, target: str) -> float:
    """§0.5 HF `exact_match` with ignore_case and ignore_punctuation: 1.0 or 0.0."""
    return float(exact_match_normalize(prediction) == exact_match_normalize(target))


def number_word_to_digit(text: str) -> str:
    """The digits for a whole-text number word `zero`..`ten` (any case), else `text` unchanged."""
    return _NUMBER_WORDS.get(text.lower(), text)


def collapse_whitespace(text: str) -> str:
    """Strip, and replace every run of whitespace with a single space."""
    return " ".join(text.split())


def trim_edge_characters(text: str, characters: str = MMMU_TRIM_CHARACTERS) -> str:
    """Strip each of `characters` from both ends, one character after the other (§0.6 step 1).

    One at a time, not as a set: `".,A"` loses no leading `.` because `,` is trimmed first.
    """
    for character in characters:
        text = text.strip(character)
    return text


def strip_reasoning_blocks(text: str) -> str:
    """§0.9: delete complete `<think>…</think>` and `<analysis>…</analysis>` blocks, then strip."""
    return _REASONING_BLOCK.sub("", text).strip()
