"""`ov_eval compare`: paired B - A on constructed run folders (results + logged samples), through the real CLI."""
import math

import pytest

from conftest import run_ov_eval
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
        "right->wrong": "0", "wrong->right": "0", "CI excludes 0": ""}


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
    assert (result["right->wrong"], result["wrong->right"], result["CI excludes 0"]) == ("30", "0", "*")
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
    lines = done.stdout.splitlines()
    assert lines[2].startswith("| demo_colours | exact_match,none | 3 | 3: only in A 1, only in B 1, "
                               "not scored in A (error, judge error or excluded) 1 | 0.6667 | 0.6667 | +0.0000 |")
    assert lines[2].endswith("| 1 | mcnemar-exact | 1 | 1 |  |")


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
    assert html.count("<tr>") == 2 and "<td>demo_colours</td>" in html and "http" not in html


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
    # reach |0.1|, so the permutation p-value is near 1/8.
    scores = [0.5, 0.6, 0.7, 0.8]
    shifted = paired_comparison("mean", mean, scores, [s + 0.1 for s in scores], [{}] * 4, 4000,
                                np.random.default_rng(0))
    assert shifted.test == "permutation" and shifted.right_to_wrong is None
    assert 0.10 < shifted.p_value < 0.15
