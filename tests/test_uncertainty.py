"""Standard errors and 95 % intervals of aggregated metrics (hand-computed cases), and the seeded bootstrap."""
import math

import numpy as np
import pytest

from ov_eval.scoring.aggregations import mean_of_l2_category_means, mme_category_sum, mmbench_circular
from ov_eval.scoring.registry import mean
from ov_eval.scoring.uncertainty import (STRATA, UNITS, BootstrapSettings, Uncertainty, bootstrap_replicates,
                                         metric_uncertainty, stratified_replicates, weighted_group_uncertainty)

Z95 = 1.959963984540054


def test_mean_has_the_sample_standard_error_and_a_normal_interval():
    u = metric_uncertainty("mean", mean, [1.0, 0.0, 1.0, 1.0], [{}] * 4, BootstrapSettings(iters=0),
                           np.random.default_rng(0))
    assert u.stderr == 0.25  # std(ddof=1) = 0.5, over sqrt(4)
    assert u.ci95 == (0.75 - Z95 * 0.25, 0.75 + Z95 * 0.25)
    assert u.replicates is None
    percent = metric_uncertainty("mean_percent", mean, [1.0, 0.0, 1.0, 1.0], [{}] * 4, BootstrapSettings(iters=0),
                                 np.random.default_rng(0))
    assert percent.stderr == 25.0


# MME: category "a" holds images x (both right: 100 + 100 = 200) and y (one right: 50 + 0 = 50); category "b"
# holds image z (both wrong: 0). The figure: mean(200, 50) + 0 = 125.
MME_VALUES = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
MME_DOCS = [{"category": c, "question_id": q} for c, q in
            [("a", "x"), ("a", "x"), ("a", "y"), ("a", "y"), ("b", "z"), ("b", "z")]]


def test_mme_bootstrap_resamples_whole_images_by_hand():
    assert mme_category_sum(MME_VALUES, MME_DOCS) == 125.0
    draws = np.array([[0, 0, 2],    # x twice, z: 200 + 0
                      [1, 1, 1],    # y thrice, no b: 50
                      [0, 1, 1],    # x, y, y: (200 + 50 + 50) / 3 = 100, no b
                      [2, 2, 2]])   # z only: 0
    expected = [200.0, 50.0, 100.0, 0.0]
    vectorised = stratified_replicates(mme_category_sum, MME_VALUES, MME_DOCS, draws, UNITS["mme_category_sum"],
                                       STRATA["mme_category_sum"])
    generic = bootstrap_replicates(mme_category_sum, MME_VALUES, MME_DOCS, draws, UNITS["mme_category_sum"])
    assert vectorised.tolist() == expected
    assert generic.tolist() == expected


# MMBench circular: main 0 (three circular rows, all right) -> 1; main 1 (two rows, one wrong) -> 0;
# main 2 (one row, right) -> 1. The figure: 100 * 2/3.
MMB_VALUES = [1.0, 1.0, 1.0, 1.0, 0.0, 1.0]
MMB_DOCS = [{"index": i} for i in (0, 1_000_000, 2_000_000, 1, 1_000_001, 2)]


def test_mmbench_bootstrap_resamples_whole_circular_groups_by_hand():
    assert mmbench_circular(MMB_VALUES, MMB_DOCS) == pytest.approx(200 / 3)
    draws = np.array([[0, 0, 1], [1, 1, 1], [2, 0, 2], [0, 1, 2]])
    expected = [200 / 3, 0.0, 100.0, 200 / 3]
    vectorised = stratified_replicates(mmbench_circular, MMB_VALUES, MMB_DOCS, draws, UNITS["mmbench_circular"],
                                       STRATA["mmbench_circular"])
    generic = bootstrap_replicates(mmbench_circular, MMB_VALUES, MMB_DOCS, draws, UNITS["mmbench_circular"])
    assert vectorised.tolist() == pytest.approx(expected, abs=1e-12)
    assert generic.tolist() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("name, aggregate, docs", [
    ("mme_category_sum", mme_category_sum,
     [{"category": f"c{(i // 2) % 5}", "question_id": f"q{i // 2}"} for i in range(300)]),
    ("mmbench_circular", mmbench_circular, [{"index": i % 75 + (i // 75) * 1_000_000} for i in range(300)]),
    ("mean_of_l2_category_means", mean_of_l2_category_means, [{"l2_category": f"k{i % 7}"} for i in range(300)]),
])
def test_vectorised_bootstrap_equals_calling_the_aggregation_on_each_resample(name, aggregate, docs):
    values = np.random.default_rng(5).integers(0, 2, len(docs)).astype(float).tolist()
    units = UNITS.get(name)
    n_units = len({units.key(d) for d in docs}) if units else len(docs)
    draws = np.random.default_rng(6).integers(0, n_units, (40, n_units))
    np.testing.assert_allclose(stratified_replicates(aggregate, values, docs, draws, units, STRATA[name]),
                               bootstrap_replicates(aggregate, values, docs, draws, units), rtol=0, atol=1e-9)


def test_bootstrap_summary_is_the_replicates_std_and_percentiles():
    settings = BootstrapSettings(iters=1000, seed=7)
    u = metric_uncertainty("mme_category_sum", mme_category_sum, MME_VALUES, MME_DOCS, settings,
                           settings.rng("mme", "mme_percetion_score,none"))
    assert u.replicates.shape == (1000,)
    assert u.stderr == float(np.std(u.replicates, ddof=1))
    assert u.ci95 == tuple(float(v) for v in np.percentile(u.replicates, [2.5, 97.5]))
    assert u.ci95[0] <= 125.0 <= u.ci95[1]


def test_bootstrap_is_reproducible_with_its_seed():
    def run(seed: int, task: str = "mme") -> Uncertainty:
        settings = BootstrapSettings(iters=200, seed=seed)
        return metric_uncertainty("mme_category_sum", mme_category_sum, MME_VALUES, MME_DOCS, settings,
                                  settings.rng(task, "mme_percetion_score,none"))

    assert run(1).replicates.tolist() == run(1).replicates.tolist()
    assert (run(1).stderr, run(1).ci95) == (run(1).stderr, run(1).ci95)
    assert run(1).replicates.tolist() != run(2).replicates.tolist()
    assert run(1).replicates.tolist() != run(1, task="other").replicates.tolist()


def test_bootstrap_off_leaves_non_means_without_stderr():
    u = metric_uncertainty("mme_category_sum", mme_category_sum, MME_VALUES, MME_DOCS, BootstrapSettings(iters=0),
                           np.random.default_rng(0))
    assert (u.stderr, u.ci95) == (None, None)


def test_group_row_combines_member_replicates_by_sample_weight():
    a = Uncertainty(0.1, (0.0, 1.0), "x", np.array([0.2, 0.4, 0.6]))
    b = Uncertainty(0.1, (0.0, 1.0), "x", np.array([1.0, 1.0, 0.0]))
    group = weighted_group_uncertainty([(a, 3), (b, 1)])
    np.testing.assert_allclose(group.replicates, [0.4, 0.55, 0.45])
    assert group.stderr == pytest.approx(math.sqrt(7 / 1200))  # deviations -1/15, 1/12, -1/60 from 7/15
    assert weighted_group_uncertainty([(a, 3), (Uncertainty(None, None, "x"), 1)]).stderr is None
