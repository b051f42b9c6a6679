"""Literal cases for ov_eval.scoring.normalize and ov_eval.scoring.text_metrics."""

import random

import pytest

from ov_eval.scoring.normalize import (
    collapse_whitespace,
    exact_match,
    exact_match_normalize,
    number_word_to_digit,
    strip_reasoning_blocks,
    trim_edge_characters,
    validate_profile,
)
from ov_eval.scoring.text_metrics import (
    anls,
    anls_value,
    fold_fullwidth,
    levenshtein_distance,
    mme_parse_yes_no,
    mme_score,
    mmmu_eval_open,
    mmmu_parse_open_response,
    ocrbench_score,
    relaxed_accuracy,
    rouge_l_f,
)


# --- normalize --------------------------------------------------------------------------------

def test_exact_match_normalize_and_match() -> None:
    assert exact_match_normalize("(B). Hello, World!") == "b hello world"
    assert exact_match("(B)", "B") == 1.0
    assert exact_match(" B", "B") == 0.0  # no whitespace stripping
    assert exact_match("Answer: C) x", "C") == 0.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Three", "3"), ("ten", "10"), ("ZERO", "0"), ("Three.", "Three."), ("eleven", "eleven"),
     (" two", " two")],
)
def test_number_word_to_digit(text: str, expected: str) -> None:
    assert number_word_to_digit(text) == expected


def test_collapse_whitespace() -> None:
    assert collapse_whitespace("  a \n\t b  c ") == "a b c"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("A.", "A"), ("'B'!", "B"), (".,A", ",A"), ("C.!?", "C.!"), ("?C?", "C")],
)
def test_trim_edge_characters_one_character_at_a_time(text: str, expected: str) -> None:
    assert trim_edge_characters(text) == expected


def test_strip_reasoning_blocks() -> None:
    assert strip_reasoning_blocks("<think>D</think>C") == "C"
    assert strip_reasoning_blocks("<analysis>x\ny</analysis> B <think>A</think>") == "B"
    assert strip_reasoning_blocks("<think>unclosed A") == "<think>unclosed A"


def test_validate_profile() -> None:
    assert validate_profile("corrected") == "corrected"
    with pytest.raises(ValueError):
        validate_profile("newest")


# --- ANLS -------------------------------------------------------------------------------------

def test_levenshtein_distance() -> None:
    assert levenshtein_distance("kitten", "sitting") == 3
    assert levenshtein_distance("", "abc") == 3
    assert levenshtein_distance("abc", "abc") == 0


@pytest.mark.parametrize(
    ("prediction", "truth", "value", "published", "corrected"),
    [
        ("197", "1975", 0.75, 1.0, 0.75),
        ("#####fghij", "abcdefghij", 0.5, 1.0, 0.5),
        ("xyz", "abc", 0.0, 0.0, 0.0),
        ("Hello  World", "hello world", 1.0, 1.0, 1.0),
        ("", "", 1.0, 1.0, 1.0),
    ],
)
def test_anls(
    prediction: str, truth: str, value: float, published: float, corrected: float
) -> None:
    assert anls_value(prediction, truth) == pytest.approx(value)
    assert anls(prediction, [truth]) == published
    assert anls(prediction, [truth], profile="corrected") == pytest.approx(corrected)


def test_anls_length_uses_raw_strings() -> None:
    # Normalised strings are equal (d = 0) but L is taken before normalising.
    assert anls_value("  abc  ", "abc") == 1.0
    # d = 1 between "ab c" and "abc"; L = max(len("ab   c"), 3) = 6.
    assert anls_value("ab   c", "abc") == pytest.approx(1 - 1 / 6)


def test_anls_best_over_ground_truths() -> None:
    assert anls("1975", ["nineteen", "1970", "1975"], profile="corrected") == 1.0
    assert anls("1974", ["zzzz", "1975"], profile="corrected") == pytest.approx(0.75)
    assert anls("1974", [], profile="corrected") == 0.0


# --- ChartQA ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("prediction", "target", "expected"),
    [
        ("2000", "2019", 1.0),
        ("45%", "0.45", 1.0),
        ("0.23", "23%", 1.0),
        ("25,000", "25000", 0.0),
        ("45 units", "45", 0.0),
        ("Asia.", "Asia", 0.0),
        ("asia", "Asia", 1.0),
        ("1900", "2019", 0.0),
        ("0", "0", 1.0),  # target 0: string match
        ("0.0", "0", 0.0),
        ("105", "100", 1.0),
        ("106", "100", 0.0),
    ],
)
def test_relaxed_accuracy(prediction: str, target: str, expected: float) -> None:
    assert relaxed_accuracy(prediction, target) == expected


# --- MME --------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("Nope", "no"),
        ("Not sure", "no"),
        ("The answer is yes", "other"),
        ("Yes.", "yes"),
        ("no", "no"),
        ("y", "yes"),
        ("N", "no"),
        ("x", "other"),
        ("Yes, there is", "yes"),
        ("", "other"),
    ],
)
def test_mme_parse_yes_no(response: str, expected: str) -> None:
    assert mme_parse_yes_no(response) == expected


def test_mme_score() -> None:
    assert mme_score("Nope", "No") == 1.0
    assert mme_score("The answer is yes", "Yes") == 0.0
    assert mme_score("Yes", "Yes.") == 1.0


# --- OCRBench ---------------------------------------------------------------------------------

def test_ocrbench_regular_rows() -> None:
    assert ocrbench_score("The sign says STOP here", ["stop"], False) == 1.0
    assert ocrbench_score("The sign says STOP", ["Stop sign"], False) == 0.0
    assert ocrbench_score("two lines here", ["two\nlines"], False) == 1.0
    assert ocrbench_score("STOP", "Stop", False, profile="corrected") == 1.0


def test_ocrbench_hme100k() -> None:
    assert ocrbench_score("x ^ { 2 } + 1", ["x^{2}+1"], True) == 1.0
    assert ocrbench_score("X+1", ["X + 1"], True) == 0.0  # answer case kept, response lowered
    assert ocrbench_score("X+1", ["X + 1"], True, profile="corrected") == 1.0
    assert ocrbench_score("x+1", ["X + 1"], True, profile="corrected") == 0.0


def test_ocrbench_corrected_folds_fullwidth() -> None:
    assert fold_fullwidth("ＡＢＣ\u3000１２") == "ABC 12"
    assert ocrbench_score("ＡＢＣ１２", ["abc12"], False) == 0.0
    assert ocrbench_score("ＡＢＣ１２", ["abc12"], False, profile="corrected") == 1.0


# --- MMMU open --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("x = 42", {42.0}),
        ("approximately 3.171", {3.17, "approximately 3.171"}),
        ("The answer is 1,000.", {1000.0}),
        ("So the result is B.", {" b", "b "}),
        ("It could be 5 or 6. Therefore 6", {6.0}),  # shortest tail: after "therefore "
        ("first line is 7\nsecond: nothing", {7.0}),
        ("The speed is 3e8 m/s", {"3e8 m/s", 300000000.0}),
        ("Thus it is -2.5", {-2.5}),
        ("answer is .", {"is"}),  # "is " leaves "", "answer " leaves "is"
        ("the value is ;", {"the value is ;"}),  # a lone punctuation tail is dropped
    ],
)
def test_mmmu_parse_open_response(response: str, expected: set) -> None:
    assert set(mmmu_parse_open_response(response)) == expected


def test_mmmu_parse_open_response_keeps_shortest_tail_and_skips_empty() -> None:
    # Piece 1: "is " leaves "" (falsy, so the next tail found replaces it even though longer),
    # then "final " leaves "answer is", then "answer " the shorter "is".
    assert mmmu_parse_open_response("final answer is \nok") == ["is"]
    # "so " leaves "x is y", "is " the shorter "y"; a single character becomes " y" and "y ".
    assert mmmu_parse_open_response("so x is y") == [" y", "y "]


@pytest.mark.parametrize(
    ("gold", "response", "expected"),
    [
        ("42", "x = 42", True),
        ("3.14", "approximately 3.171", False),
        ("3.17", "approximately 3.171", True),
        ("Paris", "The capital is Paris", True),
        ("b", "So the result is B.", True),
        ("blue", "It is dark blue", True),
        ("red", "It is dark blue", False),
        (["7", "seven"], "seven", True),
    ],
)
def test_mmmu_eval_open(gold: str | list[str], response: str, expected: bool) -> None:
    assert mmmu_eval_open(gold, mmmu_parse_open_response(response)) is expected


# --- ROUGE-L ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("hyp", "ref", "expected"),
    [
        ("the cat sat", "the cat sat on the mat", 2 * 0.6 / (1.6 + 1e-8)),
        ("the cat sat on the mat", "the cat sat on the mat", 2 * 1.0 / (2.0 + 1e-8)),
        ("dog", "the cat", 0.0),
        ("The cat", "the cat", 2 * 0.25 / (1.0 + 1e-8)),  # case-sensitive
        ("...", "the cat", 0.0),  # no sentence: the package raises, this returns 0
        ("b a", "a b. b", 2 * 0.25 / (1.0 + 1e-8)),  # ambiguous LCS: traceback keeps "b"
        ("b a", "a b. a", 2 * 1.0 / (2.0 + 1e-8)),  # union over sentence pairs: {b} | {a}
    ],
)
def test_rouge_l_f(hyp: str, ref: str, expected: float) -> None:
    assert rouge_l_f(hyp, ref) == pytest.approx(expected, abs=1e-12)


ROUGE_CASES = [
    ("the cat sat on the mat", "the cat is on the mat"),
    ("A dog runs. It barks loudly.", "The dog runs fast. It barks."),
    ("", "nothing"),
    ("one two three", "three two one"),
    ("b a", "a b. b"),
    ("Left image shows a red car.", "The left image has a red car while the right has none."),
    ("x. ", "x. y"),
    ("  spaced   out  words ", "spaced out words"),
    ("repeat repeat repeat", "repeat"),
    ("3.5 million people", "about 3.5 million"),
    ("The cat", "the cat"),
    ("a b c d e f", "f e d c b a"),
    ("He said: yes!", "yes"),
    ("Birds fly. Fish swim. Cows moo.", "Fish swim. Birds fly."),
    ("end with dot.", "end with dot"),
    ("a.b.c", "a b c"),
    ("the the the cat", "the cat the"),
    ("Image 1 is brighter than image 2.", "Image 2 is darker than image 1."),
    ("no overlap at all", "completely different words"),
    ("multi\nline\ttext", "multi line text"),
    ("Q. What? A. Yes.", "A. Yes. Q. What?"),
    ("..", "a"),
]


def test_rouge_l_f_matches_pypi_rouge() -> None:
    rouge = pytest.importorskip("rouge")
    scorer = rouge.Rouge()
    for hyp, ref in ROUGE_CASES:
        try:
            expected = scorer.get_scores(hyp, ref)[0]["rouge-l"]["f"]
        except (ValueError, RecursionError):
            expected = 0.0
        assert rouge_l_f(hyp, ref) == expected, (hyp, ref)


def test_rouge_l_f_matches_pypi_rouge_on_random_token_strings() -> None:
    rouge = pytest.importorskip("rouge")
    scorer = rouge.Rouge()
    generator = random.Random(7)
    vocabulary = ["a", "b", "c", "the", "cat", "A", ".", "  ", "x.y"]
    for _ in range(300):
        hyp = " ".join(generator.choice(vocabulary) for _ in range(generator.randint(1, 9)))
        ref = " ".join(generator.choice(vocabulary) for _ in range(generator.randint(1, 9)))
        try:
            expected = scorer.get_scores(hyp, ref)[0]["rouge-l"]["f"]
        except ValueError:
            expected = 0.0
        assert rouge_l_f(hyp, ref) == expected, (hyp, ref)
