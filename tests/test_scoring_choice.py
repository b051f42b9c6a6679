"""Literal cases for ov_eval.scoring.choice, including every release_rules.md example."""

import pytest

from ov_eval.scoring.builtin import leading_letter_filter
from ov_eval.scoring.choice import (
    egoschema_parse_choice,
    extract_mcq_answer,
    find_choice,
    interleave_choice_score,
    interleave_normalize_choice,
    leading_letter,
    mmbench_match_option,
    mmmu_parse_choice,
    mmstar_score,
    perceptiontest_parse_choice,
    realworldqa_flexible_extract,
    realworldqa_score,
    scienceqa_score,
    seedbench_score,
    videomme_parse_choice,
)
from ov_eval.scoring.normalize import exact_match

MMMU_LETTERS = "ABCDE"
MMMU_OPTIONS = ["Quartz", "<image 2>", "Rocket", "Walrus", "Pepper"]


# --- §0.6 MMMU / NExT-QA ----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("D is correct, not A", "A"),
        ("(A) or (B)? I pick (B)", "B"),
        ("<think>D</think>C", "C"),
        ("b", None),
        ("Answer: C) Rocket", None),
        ("C", "C"),
        ("C.", "C"),
        ("(B) and A", "B"),  # bracket level wins before the `L ` level
        ("B.", "B"),
        ("I am quite sure that it is a walrus", "D"),  # content mode: more than 5 tokens
        ("it is a walrus", None),  # content mode needs more than 5 tokens
        ("I guess quartz first, though rocket seems right", "C"),  # rightmost option text
        ("", None),
    ],
)
def test_mmmu_parse_choice(response: str, expected: str | None) -> None:
    assert mmmu_parse_choice(response, MMMU_LETTERS, MMMU_OPTIONS) == expected


def test_mmmu_parse_choice_ties_go_to_the_earlier_letter() -> None:
    assert mmmu_parse_choice("a word for the answer is here: same", "AB", ["same", "same"]) == "A"


def test_mmmu_parse_choice_letter_mode_uses_spaced_position() -> None:
    # "B." only appears glued to a word for A; both are candidates at the `L ` level, and
    # " A " is absent (position -1), so B wins.
    assert mmmu_parse_choice("xA  B is it", "AB", ["p", "q"]) == "B"


# --- EgoSchema --------------------------------------------------------------------------------

EGOSCHEMA_OPTIONS = [
    "A. C cleans the engine.",
    "B. C repairs the saddle.",
    "C. C paints the lantern.",
    "D. C folds the jacket.",
    "E. C sorts the candle.",
]


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("B or A", 1),
        ("C. C paints the lantern.", 2),
        ("E", 4),
        ("(D)", 3),
        ("b", -1),
        ("I think that c sorts the candle in the video", -1),  # option strings include "E. "
        ("Overall I think e. c sorts the candle. Yes", 4),  # content match, case-insensitive
        ("Overall I think e. c sorts the candle.", -1),  # the trim removed the option's dot
    ],
)
def test_egoschema_parse_choice(response: str, expected: int) -> None:
    assert egoschema_parse_choice(response, EGOSCHEMA_OPTIONS) == expected


# --- §0.9 corrected extractor -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("A", "A"),
        ("A.", "A"),
        ("(A)", "A"),
        ("**B**", "B"),
        ("The answer is A", "A"),
        ("The answer is (C).", "C"),
        ("Answer: A) text", "A"),
        ("Option C", "C"),
        ("I pick B.", "B"),
        ("D is correct, not A", "D"),  # start (10) beats end (9)
        ("<think>D</think>C", "C"),
        ("The options C) and B. differ", "B"),  # `L.` 5 beats `L)` 3
        ("See (B) and C. here", "B"),  # `(L)` 6 beats `L.` 5
        ("Pick C: yes, or B) no", "C"),  # `L:` 4 beats `L)` 3
        ("Both B or C maybe yes", "C"),  # `L ` 2 each: rightmost
        ("Apple", "A"),  # any occurrence (0), only because nothing else matched
        ("Dog and Cat", "C"),  # any occurrence: rightmost
        ("a", None),  # upper case only
        ("It is a dog", None),
        ("E", None),  # outside the letters
    ],
)
def test_extract_mcq_answer(response: str, expected: str | None) -> None:
    assert extract_mcq_answer(response) == expected


def test_extract_mcq_answer_custom_letters() -> None:
    assert extract_mcq_answer("The answer is E.", "ABCDE") == "E"


# --- ai2d / muirbench flexible-extract --------------------------------------------------------

@pytest.mark.parametrize(
    ("response", "expected"),
    [("B. text", "B"), ("  C.", "C"), ("B", None), ("(B)", None), ("b. text", None)],
)
def test_leading_letter(response: str, expected: str | None) -> None:
    assert leading_letter(response) == expected


@pytest.mark.parametrize(
    ("response", "answer_letter", "expected"),
    [
        ("B", "B", 1.0),
        ("(B)", "B", 1.0),
        ("b", "B", 1.0),
        ("B. text", "B", 1.0),
        ("The answer is D.", "D", 0.0),
        ("Answer: C) x", "C", 0.0),
        ("Option C", "C", 0.0),
    ],
)
def test_ai2d_filter_then_exact_match(response: str, answer_letter: str, expected: float) -> None:
    assert exact_match(leading_letter_filter(response).strip(), answer_letter) == expected


@pytest.mark.parametrize(("response", "expected"), [("b", True), ("(B)", False), ("B. x", True)])
def test_muirbench_filter_then_case_insensitive_match(response: str, expected: bool) -> None:
    prediction = leading_letter_filter(response).strip()
    assert (prediction.lower() == "B".lower()) is expected


# --- MMBench ----------------------------------------------------------------------------------

MMBENCH_OPTIONS = {"A": "Apple", "B": "Dolphin", "C": "Guitar", "D": "Yogurt"}


@pytest.mark.parametrize(
    ("prediction", "expected"),
    [
        ("The answer is A, not B", "B"),
        ("Answer: C) Guitar", "C"),
        ("apple is shown", "A"),
        ("  D  ", "D"),
        ("A", "A"),
        ("A dolphin swims here", "B"),  # bare A with more than 3 tokens, then rule c: 1 text
        ("A picture of it", None),
        ("(B).", "B"),
        ("Answer :C", "C"),
        ("Answer:C", None),  # shapes must be whole tokens
        ("E", "E"),  # returned; scored wrong by the task
        ("B C", None),  # two bare letters, no shape, no option text
        ("guitar or yogurt", None),  # two option texts
        ("", None),
    ],
)
def test_mmbench_match_option(prediction: str, expected: str | None) -> None:
    assert mmbench_match_option(prediction, MMBENCH_OPTIONS) == expected


def test_mmbench_a_with_many_tokens_falls_through_to_shapes() -> None:
    assert mmbench_match_option("A is wrong, B) is right", MMBENCH_OPTIONS) == "B"


# --- Video-MME --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("response", "published", "corrected"),
    [
        ("Best answer: D", "B", "D"),
        ("Answer: C) Harbor", "A", "C"),
        ("Apple.", "A", "A"),
        ("b", "", ""),
        ("The best answer is C", "C", "C"),
        ("The correct answer is (D).", "D", "D"),
        ("none of them fits at all here", "", ""),
    ],
)
def test_videomme_parse_choice(response: str, published: str, corrected: str) -> None:
    assert videomme_parse_choice(response) == published
    assert videomme_parse_choice(response, profile="corrected") == corrected


def test_unknown_profile_is_rejected() -> None:
    with pytest.raises(ValueError):
        videomme_parse_choice("A", profile="latest")


# --- PerceptionTest / SEED --------------------------------------------------------------------

@pytest.mark.parametrize(
    ("response", "expected"),
    [("A man drops it", 0), ("It is C.", 2), ("(B)", 1), ("Dog", -1), ("E", -1), ("", -1)],
)
def test_perceptiontest_parse_choice(response: str, expected: int) -> None:
    assert perceptiontest_parse_choice(response) == expected


@pytest.mark.parametrize(
    ("response", "answer", "expected"),
    [("Answer: C", "A", 1.0), ("Answer: C", "C", 0.0), ("b", "B", 1.0), (" C. x", "C", 1.0),
     ("", "A", 0.0)],
)
def test_seedbench_score(response: str, answer: str, expected: float) -> None:
    assert seedbench_score(response, answer) == expected


# --- MMStar -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("response", "answer", "published", "corrected"),
    [
        ("Answer: C", "A", 1.0, 0.0),
        ("Answer: C", "C", 0.0, 1.0),
        ("B", "B", 1.0, 1.0),
        ("(b)", "B", 1.0, 0.0),
        ("Option D", "D", 1.0, 1.0),
        ("The answer is C", "C", 1.0, 1.0),
        ("", "A", 0.0, 0.0),
        ("(", "A", 0.0, 0.0),
    ],
)
def test_mmstar_score(response: str, answer: str, published: float, corrected: float) -> None:
    assert mmstar_score(response, answer) == published
    assert mmstar_score(response, answer, profile="corrected") == corrected


# --- ScienceQA --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("response", "answer_letter", "published", "corrected"),
    [
        ("b", "B", 1.0, 1.0),
        ("B", "B", 1.0, 1.0),
        ("B.", "B", 0.0, 1.0),
        ("C.", "C", 0.0, 1.0),
        ("A.kettle", "A", 0.0, 1.0),
        ("B. walrus", "B", 0.0, 1.0),
        ("B. walrus", "A", 0.0, 0.0),
        ("b. walrus", "B", 0.0, 0.0),
    ],
)
def test_scienceqa_score(
    response: str, answer_letter: str, published: float, corrected: float
) -> None:
    assert scienceqa_score(response, answer_letter) == published
    assert scienceqa_score(response, answer_letter, profile="corrected") == corrected


# --- Interleave-Bench -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It is a dog", "A"),
        ("Option C", "C"),
        ("Answer: A) Umbrella", "A"),
        ("C. Umbrella", "C"),
        ("b. anything", "B"),
        ("D", "D"),
        ("(e)", "E"),
        ("The left image", "the left image"),
        ("Yes, it is.", "yes it is"),
        ("1,000 (x)", "1000 x"),
        ("3.5 vs 4.", "3.5 vs 4"),
        ("well-known", "well known"),
    ],
)
def test_interleave_normalize_choice(text: str, expected: str) -> None:
    assert interleave_normalize_choice(text) == expected


def test_interleave_choice_score() -> None:
    assert interleave_choice_score("Answer: A) Umbrella", "A") == 1.0
    assert interleave_choice_score("Option C", "B") == 0.0


# --- RealWorldQA ------------------------------------------------------------------------------

RWQA_WORDS = (
    "Which option matches object 0?\nA. Engine\nB. Apple\nC. Yogurt\n"
    "Please answer directly with only the letter of the correct option and nothing else."
)
RWQA_NUMBERS = "How many cars are there?\nA. 1\nB. 2\nC. 3\nPlease answer directly."
RWQA_CANDLE = "What is lit?\nA. Candle\nB. Lamp\nPlease answer directly."


@pytest.mark.parametrize(
    ("response", "question", "expected"),
    [
        ("Engine", RWQA_WORDS, "A"),
        ("3", RWQA_NUMBERS, "C"),
        ("13", RWQA_NUMBERS, "A"),
        ("two", RWQA_NUMBERS, "B"),
        ("There are 3 cars", RWQA_NUMBERS, "C"),
        ("b", RWQA_NUMBERS, "b"),
        ("candle", RWQA_CANDLE, "candle"),
        ("Three.", RWQA_NUMBERS, "Three"),
        ("Yes!", "Is it red?", "Yes"),
    ],
)
def test_realworldqa_flexible_extract(response: str, question: str, expected: str) -> None:
    assert realworldqa_flexible_extract(response, question) == expected


@pytest.mark.parametrize(
    ("response", "question", "answer", "published", "corrected"),
    [
        ("Engine", RWQA_WORDS, "A", 1.0, 0.0),
        ("b", RWQA_NUMBERS, "B", 1.0, 0.0),
        ("B", RWQA_NUMBERS, "B", 1.0, 1.0),
        ("The answer is C.", RWQA_NUMBERS, "C", 0.0, 1.0),
        ("candle", RWQA_CANDLE, "A", 0.0, 0.0),
        ("Three.", RWQA_NUMBERS, "C", 0.0, 0.0),
        ("Yes.", "Is it red?", "yes", 1.0, 1.0),
        ("3", "How many?", "3.", 1.0, 1.0),
    ],
)
def test_realworldqa_score(
    response: str, question: str, answer: str, published: float, corrected: float
) -> None:
    assert realworldqa_score(response, question, answer) == published
    assert realworldqa_score(response, question, answer, profile="corrected") == corrected


# --- find_choice ------------------------------------------------------------------------------

FIND_OPTIONS = ["banana", "apple", "cat", "dog"]


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("A", "A"),
        ("A.", "A"),
        ("(A)", "A"),
        ("The answer is A", "A"),
        ("Answer: A) text", "A"),
        ("a", "A"),
        ("(c)", "C"),
        ("d.", "D"),
        ("Apple", "B"),  # equal to an option text, not "A" from the capital
        ("apple.", "B"),
        ("I see a dog in the picture", "D"),  # exactly one option text contained
        ("a cat and a dog", None),  # two option texts
        ("nothing useful", None),
        ("", None),
    ],
)
def test_find_choice(response: str, expected: str | None) -> None:
    assert find_choice(response, "ABCD", FIND_OPTIONS) == expected


def test_find_choice_without_option_texts() -> None:
    assert find_choice("The answer is (B).") == "B"
    assert find_choice("Dolphin") is None
    assert find_choice("e", "ABCDE") == "E"
