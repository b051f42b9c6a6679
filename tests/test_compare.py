"""`ov_eval compare`: paired B - A on constructed run folders (results + logged samples), through the real CLI."""
import math
import re

import pytest

from conftest import run_ov_eval
from page_probe import PHONE_WIDTH, needs_chromium, probe_page
from ov_eval.scoring.paired import mcnemar_exact

from fixtures.logged_runs import KEY, write_run


def csv_rows(stdout: str) -> list[list[str]]:
    import csv

    return list(csv.reader(stdout.splitlines()))


def test_identical_runs_have_delta_zero_and_p_one(tmp_path):
    values = [float(i % 3 == 0) for i in range(100)]
    a, b = write_run(tmp_path / "a", "20260101_000000", values), write_run(tmp_path / "b", "20260102_000000", values)
    done = run_ov_eval(["compare", str(a.parent), str(b.parent), "--format", "csv"])
    assert done.returncode == 0, done.stderr
    header, row = csv_rows(done.stdout)
    assert dict(zip(header, row)) == {
        "task": "demo_colours", "metric": KEY, "n": "100", "left out": "0", "A": "0.3400", "B": "0.3400",
        "B-A": "+0.0000", "CI95 low": "+0.0000", "CI95 high": "+0.0000", "p": "1", "test": "mcnemar-exact",
        "right->wrong": "0", "wrong->right": "0", "p < 0.05": "", "verdict": "no difference"}


def test_thirty_of_a_hundred_flipping_one_way_gives_the_exact_mcnemar_value(tmp_path):
    a = write_run(tmp_path / "a", "20260101_000000", [1.0] * 100)
    b = write_run(tmp_path / "b", "20260102_000000", [0.0] * 30 + [1.0] * 70)
    done = run_ov_eval(["compare", str(a), str(b), "--format", "csv"])
    assert done.returncode == 0, done.stderr
    result = dict(zip(*csv_rows(done.stdout)))
    expected_p = 2 * 0.5 ** 30
    assert float(result["p"]) == pytest.approx(expected_p, rel=1e-3)
    assert mcnemar_exact(30, 0) == expected_p
    assert (result["A"], result["B"], result["B-A"]) == ("1.0000", "0.7000", "-0.3000")
    assert (result["right->wrong"], result["wrong->right"], result["p < 0.05"], result["verdict"]) == (
        "30", "0", "*", "B worse")
    assert float(result["CI95 high"]) < 0


def test_mcnemar_exact_by_hand():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(1, 1) == 1.0
    assert mcnemar_exact(3, 1) == 2 * (1 + 4) / 16  # binomial(4, 1/2): P(X <= 1), doubled
    assert mcnemar_exact(10, 2) == 2 * sum(math.comb(12, k) for k in range(3)) / 2 ** 12


def test_documents_not_scored_by_both_are_left_out_and_counted(tmp_path):
    a = write_run(tmp_path / "a", "20260101_000000", [1.0, 1.0, 0.0, 1.0, None, 1.0], errors=(3,))
    b = write_run(tmp_path / "b", "20260102_000000", [1.0, 0.0, 1.0, 1.0, 1.0, None])
    done = run_ov_eval(["compare", str(a), str(b)])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n\n")[1].splitlines()
    assert lines[2].startswith("| demo_colours | exact_match,none | 3 | 3: only in A 1, only in B 1, "
                               "not scored in A (error, judge error or excluded) 1 | 0.6667 | 0.6667 | +0.0000 |")
    assert lines[2].endswith("| - | - | 1 | mcnemar-exact | 1 | 1 |  | too few documents |")


def test_runs_with_other_configs_or_profiles_are_refused_unless_allowed(tmp_path):
    a = write_run(tmp_path / "a", "20260101_000000", [1.0, 0.0])
    b = write_run(tmp_path / "b", "20260102_000000", [1.0, 1.0], config_hash="fedcba9876543210", profile="corrected")
    refused = run_ov_eval(["compare", str(a), str(b)])
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == ("ov_eval: error: the runs differ in scoring profile: A published, B corrected and 1 more; "
                              "pass --allow_config_mismatch to compare them anyway\n")
    allowed = run_ov_eval(["compare", str(a), str(b), "--allow_config_mismatch"])
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.splitlines()[:2] == [
        "config mismatch: scoring profile: A published, B corrected",
        "config mismatch: task 'demo_colours': config hash A 0123456789abcdef, B fedcba9876543210 (differing: generation)"]


def test_unknown_task_and_missing_samples_are_one_line_errors(tmp_path):
    a = write_run(tmp_path / "a", "20260101_000000", [1.0, 0.0])
    b = write_run(tmp_path / "b", "20260102_000000", [1.0, 1.0])
    done = run_ov_eval(["compare", str(a), str(b), "--tasks", "demo_colour"])
    assert (done.returncode, done.stderr) == (
        2, "ov_eval: error: --tasks: task 'demo_colour' is not in both runs (did you mean 'demo_colours'?)\n")
    (b.parent / "20260102_000000_samples_demo_colours.jsonl").unlink()
    done = run_ov_eval(["compare", str(a), str(b)])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("ov_eval: error: task 'demo_colours': no logged samples ")


def test_html_and_output_file(tmp_path):
    a = write_run(tmp_path / "a", "20260101_000000", [1.0, 0.0, 1.0])
    b = write_run(tmp_path / "b", "20260102_000000", [1.0, 1.0, 1.0])
    out = tmp_path / "cmp.html"
    done = run_ov_eval(["compare", str(a), str(b), "--output", str(out)])
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"comparison written to {out}\n"
    html = out.read_text()
    assert html.count("<tr>") == (1 + 2) + (1 + 1)  # the legend of A and B, then the table
    assert "<td>demo_colours</td>" in html and "http" not in html
    assert "<title>ov_eval compare: llava_onevision (A) against llava_onevision (B)</title>" in html
    assert '<li>too few documents to tell on demo_colours (3)</li>' in html


def test_paired_mme_difference_and_a_permutation_p_value_for_non_binary_means():
    import numpy as np

    from ov_eval.scoring.aggregations import mme_category_sum
    from ov_eval.scoring.paired import paired_comparison
    from ov_eval.scoring.registry import mean

    docs = [{"category": c, "question_id": q} for c, q in
            [("a", "x"), ("a", "x"), ("a", "y"), ("a", "y"), ("b", "z"), ("b", "z")]]
    a, b = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0], [1.0] * 6
    result = paired_comparison("mme_category_sum", mme_category_sum, a, b, docs, 200, np.random.default_rng(0))
    assert (result.a, result.b, result.delta) == (125.0, 400.0, 275.0)  # mean(200, 50) + 0 -> 200 + 200
    assert (result.right_to_wrong, result.wrong_to_right, result.test) == (0, 3, "permutation")
    same = paired_comparison("mme_category_sum", mme_category_sum, a, a, docs, 200, np.random.default_rng(0))
    assert (same.delta, same.p_value, same.ci95) == (0.0, 1.0, (0.0, 0.0))
    # ANLS-like values, every document 0.1 better: only the 2 of 16 sign patterns that keep all signs equal
    # reach |0.1|, so the exact permutation p-value is 1/8.
    scores = [0.5, 0.6, 0.7, 0.8]
    shifted = paired_comparison("mean", mean, scores, [s + 0.1 for s in scores], [{}] * 4, 4000,
                                np.random.default_rng(0))
    assert shifted.test == "permutation" and shifted.right_to_wrong is None
    assert shifted.p_value == 2 / 16  # exact: every one of the 16 arrangements counted


def compare(capsys, argv: list[str]):
    """`ov_eval compare` in this process (the CLI's exit codes are tested above): its stdout."""
    from types import SimpleNamespace

    from ov_eval.reporting.compare import compare_main

    assert compare_main(argv) == 0
    return SimpleNamespace(stdout=capsys.readouterr().out)


def _findings(stdout: str) -> list[str]:
    """The summary and verdict lines printed above the table."""
    return stdout.split("\n\n| task |", 1)[0].splitlines()


def test_a_clear_win_is_said_in_words_with_its_interval_p_value_and_documents(tmp_path, capsys):
    a = write_run(tmp_path / "a", "20260101_000000", [1.0] * 50 + [0.0] * 50)
    b = write_run(tmp_path / "b", "20260102_000000", [1.0] * 70 + [0.0] * 30)
    done = compare(capsys, [str(a), str(b)])
    assert _findings(done.stdout) == [
        "Of 1 task metric(s) compared, B is better on 1, worse on 0, no reliable difference on 0.",
        "- B is better on demo_colours by 20.0 points (95 % interval 13.0 to 28.0, p < 0.001, 100 documents)"]
    assert "Verdict rule: B differs from A when the paired test gives p < 0.05" in done.stdout


def test_no_reliable_difference_and_no_difference_at_all(tmp_path, capsys):
    a = write_run(tmp_path / "a", "20260101_000000", [1.0] * 3 + [0.0] * 3 + [1.0] * 44)
    b = write_run(tmp_path / "b", "20260102_000000", [0.0] * 3 + [1.0] * 3 + [1.0] * 44)
    same = write_run(tmp_path / "c", "20260103_000000", [1.0] * 3 + [0.0] * 3 + [1.0] * 44)
    done = compare(capsys, [str(a), str(b)])
    assert _findings(done.stdout)[1] == ("- no reliable difference on demo_colours (B-A 0.0 points, 95 % interval "
                                         "-10.0 to 10.0, p = 1.000, 50 documents)")
    done = compare(capsys, [str(a), str(same), "--format", "csv"])
    assert dict(zip(*csv_rows(done.stdout)))["verdict"] == "no difference"
    done = compare(capsys, [str(a), str(same)])
    assert _findings(done.stdout)[1] == "- no difference on demo_colours: both runs scored all 50 documents the same"


def test_a_handful_of_documents_is_too_few_to_tell_and_shows_no_interval(tmp_path, capsys):
    a = write_run(tmp_path / "a", "20260101_000000", [1.0, 1.0, 1.0, 1.0])
    b = write_run(tmp_path / "b", "20260102_000000", [1.0, 1.0, 1.0, 1.0])
    done = compare(capsys, [str(a), str(b), "--format", "csv"])
    row = dict(zip(*csv_rows(done.stdout)))
    assert (row["CI95 low"], row["CI95 high"], row["p < 0.05"], row["verdict"]) == ("-", "-", "", "too few documents")
    done = compare(capsys, [str(a), str(b)])
    assert _findings(done.stdout) == [
        "Of 1 task metric(s) compared, B is better on 0, worse on 0, no reliable difference on 0, "
        "too few documents on 1.", "- too few documents to tell on demo_colours (4)"]


def test_star_and_p_value_agree_on_every_row_of_random_comparisons():
    """Before, the bootstrap interval set the star and the exact test the p-value: 3 of 3 documents flipping one
    way was starred at p = 0.25. Now one rule sets both, and a handful of documents can never be starred."""
    import numpy as np

    from ov_eval.reporting.compare import _cells
    from ov_eval.reporting.compare_verdict import Compared, verdict
    from ov_eval.scoring.paired import paired_comparison
    from ov_eval.scoring.registry import mean

    rng = np.random.default_rng(20261202)
    seen = set()
    for trial in range(300):
        n = int(rng.integers(1, 40))
        binary = trial % 2 == 0
        a = rng.integers(0, 2, n).astype(float) if binary else rng.random(n).round(2)
        shift = rng.choice([0.0, 0.2, 0.5])
        b = np.where(rng.random(n) < shift, 1.0, a) if binary else np.clip(a + shift * rng.random(n), 0, 1)
        result = paired_comparison("mean", mean, a.tolist(), b.tolist(), [{}] * n, 200, rng)
        cells = _cells(Compared("t", KEY, n, result))
        starred, p_value = cells[13] == "*", float(cells[9])
        assert starred == (p_value < 0.05), (trial, n, cells)
        assert starred == (verdict(Compared("t", KEY, n, result)) in ("B better", "B worse"))
        if n < 6:
            assert not starred and p_value >= 0.0625
        seen.add((starred, n < 6))
    assert seen == {(True, False), (False, False), (False, True)}
    three_flips = paired_comparison("mean", mean, [0.0] * 3, [1.0] * 3, [{}] * 3, 1000, np.random.default_rng(0))
    assert three_flips.ci95 == (1.0, 1.0) and three_flips.p_value == 0.25 and not three_flips.significant


@needs_chromium
@pytest.mark.parametrize("width", [1280, PHONE_WIDTH])
def test_the_html_page_has_a_title_verdicts_and_no_split_numbers(tmp_path, capsys, width):
    a = write_run(tmp_path / "a", "20260101_000000", [1.0] * 50 + [0.0] * 50, errors=(7,))
    b = write_run(tmp_path / "b", "20260102_000000", [1.0] * 70 + [0.0] * 30)
    out = tmp_path / "cmp.html"
    compare(capsys, [str(a), str(b), "--output", str(out)])
    dom, found = probe_page(out.read_text(), tmp_path, width)
    assert found["broken"] == [] and found["squeezed"] == [] and found["scrollWidth"] <= width
    assert re.findall(r"<li>([^<]*)</li>", dom) == [
        "B is better on demo_colours by 20.2 points (95 % interval 13.1 to 28.3, p &lt; 0.001, 99 documents)"]


def test_an_mme_verdict_reads_in_points_with_an_exact_permutation_p_value():
    import numpy as np

    from ov_eval.reporting.compare import _scale_and_unit
    from ov_eval.reporting.compare_verdict import Compared, verdict_line
    from ov_eval.scoring.aggregations import mme_category_sum
    from ov_eval.scoring.paired import paired_comparison

    # 10 images of two questions each; B answers both questions of every image, A only the first.
    docs = [{"category": "a" if i < 5 else "b", "question_id": f"img{i}"} for i in range(10) for _ in range(2)]
    a, b = [1.0, 0.0] * 10, [1.0, 1.0] * 10
    result = paired_comparison("mme_category_sum", mme_category_sum, a, b, docs, 500, np.random.default_rng(0))
    assert (result.delta, result.n_units, result.p_value) == (300.0, 10, 2 / 2 ** 10)  # 2 of 1024 arrangements
    scale, unit = _scale_and_unit("mme_category_sum", a + b)
    assert (scale, unit) == (1.0, " points") and _scale_and_unit("mean", a + b) == (100.0, " points")
    line = verdict_line(Compared("mme", "mme_perception_score,none", 20, result, scale=scale, unit=unit,
                                 name="mme (mme_perception_score,none)"))
    assert line == ("B is better on mme (mme_perception_score,none) by 300.0 points (95 % interval 300.0 to 300.0, "
                    "p = 0.002, 20 documents)")
