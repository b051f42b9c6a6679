"""Questions about one video are not independent: a task's `uncertainty: {cluster: COLUMN}` groups them.

The literal case: G = 10 clusters of m = 3 questions whose answers within a cluster are the same. The cluster-
robust stderr is then the stderr of 10 independent cluster means, sqrt(s_G^2 / G); the unclustered one treats 30
questions as independent, and the ratio is exactly sqrt((G m - 1) / (G - 1)) = sqrt(29 / 9).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from ov_eval.config import load_task_config
from ov_eval.errors import OvEvalError
from ov_eval.registry import task_index
from ov_eval.scoring.paired import paired_comparison
from ov_eval.scoring.uncertainty import BootstrapSettings, Z95, metric_uncertainty, replicates_for_draws
from ov_eval.task import Task

G, M = 10, 3
CLUSTER_VALUES = [1.0] * 4 + [0.0] * 6  # 4 of 10 videos answered right, each by all three questions
VALUES = [v for v in CLUSTER_VALUES for _ in range(M)]
DOCS = [{"videoID": f"v{g}", "question_id": f"{g}-{q}"} for g in range(G) for q in range(M)]
SETTINGS = BootstrapSettings(iters=2000, seed=7)


def mean(values, docs):
    return float(np.mean(values))


def test_clusters_repeating_one_answer_widen_the_mean_stderr_by_the_exact_factor():
    plain = metric_uncertainty("mean", mean, VALUES, DOCS, SETTINGS, SETTINGS.rng("t"))
    clustered = metric_uncertainty("mean", mean, VALUES, DOCS, SETTINGS, SETTINGS.rng("t"), cluster="videoID")
    # cluster means 1,1,1,1,0,...: s_G^2 = (4 * 0.6^2 + 6 * 0.4^2) / 9 = 2.4 / 9
    assert clustered.stderr == pytest.approx(math.sqrt(2.4 / 9 / 10), rel=1e-12)
    assert clustered.stderr == pytest.approx(0.16329931618554522, rel=1e-12)
    assert plain.stderr == pytest.approx(math.sqrt(0.4 * 0.6 * 30 / 29 / 30), rel=1e-12)
    assert clustered.stderr / plain.stderr == pytest.approx(math.sqrt(29 / 9), rel=1e-12)
    assert clustered.ci95 == pytest.approx((0.4 - Z95 * clustered.stderr, 0.4 + Z95 * clustered.stderr))
    assert (clustered.ci95[1] - clustered.ci95[0]) / (plain.ci95[1] - plain.ci95[0]) == \
        pytest.approx(math.sqrt(29 / 9), rel=1e-12)
    assert clustered.method.startswith("cluster-robust standard error (clusters: videoID")


def test_the_mean_percent_scale_and_independent_clusters_change_nothing():
    singletons = [{"videoID": f"v{i}"} for i in range(30)]  # every question its own video: G/(G-1) = n/(n-1)
    plain = metric_uncertainty("mean_percent", mean, VALUES, singletons, SETTINGS, SETTINGS.rng("t"))
    clustered = metric_uncertainty("mean_percent", mean, VALUES, singletons, SETTINGS, SETTINGS.rng("t"),
                                   cluster="videoID")
    assert clustered.stderr == pytest.approx(plain.stderr, rel=1e-12)


def test_the_bootstrap_resamples_whole_clusters():
    """Replicates equal the aggregation on hand-built resamples of whole videos (the same draws)."""
    def median(values, docs):
        return float(np.median(values))

    draws = np.random.default_rng(0).integers(0, G, (50, G), dtype=np.int32)
    replicates = replicates_for_draws("median", median, VALUES, DOCS, draws, cluster="videoID")
    by_hand = [float(np.median([VALUES[g * M + q] for g in row for q in range(M)])) for row in draws]
    assert replicates.tolist() == by_hand
    means = replicates_for_draws("mean", mean, VALUES, DOCS, draws, cluster="videoID")
    assert means.tolist() == pytest.approx([float(np.mean([CLUSTER_VALUES[g] for g in row])) for row in draws])
    # the bootstrap stderr of a clustered mean is near the cluster-robust one, far from the independent one
    clustered = metric_uncertainty("mean", mean, VALUES, DOCS, SETTINGS, SETTINGS.rng("t"), cluster="videoID")
    assert np.std(clustered.replicates, ddof=1) == pytest.approx(clustered.stderr * math.sqrt(9 / 10), rel=0.1)


def test_compare_pairs_whole_clusters_and_drops_mcnemar():
    values_b = [1.0] * 15 + [0.0] * 15  # B gets clusters 0-4 right
    unclustered = paired_comparison("mean", mean, VALUES, values_b, DOCS, 500, np.random.default_rng(1))
    clustered = paired_comparison("mean", mean, VALUES, values_b, DOCS, 500, np.random.default_rng(1),
                                  cluster="videoID")
    assert (unclustered.test, clustered.test) == ("mcnemar-exact", "permutation")
    assert clustered.delta == unclustered.delta == pytest.approx(0.1)
    # one flipped video (three questions) is one unit: swapping it gives |delta| 0.1 half the time
    assert clustered.p_value > 0.9 and unclustered.p_value == 0.25
    assert clustered.ci95 == (0.0, pytest.approx(0.3))


def _write_task(folder, extra: str):
    folder.mkdir()
    (folder / "t.yaml").write_text(
        "task: t\ndataset: {path: " + str(task_index().tasks["demo_colours"].parent / "data" / "colours.parquet")
        + ", split: train}\nvisual: {kind: image, fields: [image]}\ntarget: {field: answer}\n"
        "metrics: [{metric: exact_match}]\n" + extra)
    return folder / "t.yaml"


def test_the_yaml_key_is_validated_strictly(tmp_path):
    with pytest.raises(OvEvalError, match=r"t\.yaml: missing key 'uncertainty.cluster'; unknown key "
                                          r"'uncertainty.clustr' \(did you mean 'cluster'\?\)$"):
        load_task_config(_write_task(tmp_path / "a", "uncertainty: {clustr: question}\n"))
    task = Task.load(_write_task(tmp_path / "b", "uncertainty: {cluster: questoin}\n"))
    with pytest.raises(OvEvalError, match="^task 't': uncertainty.cluster reads column 'questoin', which the dataset "
                                          "lacks \\(did you mean 'question'\\?\\)"):
        task.check_columns()
    ok = Task.load(_write_task(tmp_path / "c", "uncertainty: {cluster: question}\n"))
    ok.check_columns()
    assert ok.cluster_column == "question"


def test_every_benchmark_whose_questions_share_a_visual_is_clustered():
    index = task_index()
    clusters = {name: Task.load(path).cluster_column for name, path in index.tasks.items()}
    assert {name: column for name, column in clusters.items() if column} == {
        "activitynetqa": "video_name", "docvqa_val": "docId", "egoschema": "video_idx",
        "egoschema_subset": "video_idx", "infovqa_val": "image_url", "llava_in_the_wild": "image_id",
        "nextqa_mc_test": "video", "perceptiontest_val_mc": "video_name", "seedbench": "data_id",
        "videochatgpt_consistency": "video_name", "videochatgpt_gen": "video_name",
        "videochatgpt_temporal": "video_name", "videomme": "videoID", "videomme_w_subtitle": "videoID"}


def test_results_say_which_clustering_was_used():
    from ov_eval.reporting.results import uncertainty_provenance

    recorded = uncertainty_provenance(SETTINGS, {"videomme": "videoID", "demo_colours": None})
    assert recorded["clusters"] == {"videomme": "videoID", "demo_colours": None}
    assert recorded["clustered_tasks"] == {"videomme": {
        "plain_means": "cluster-robust standard error (clusters: videoID, G/(G-1) correction), normal 95% interval",
        "other_aggregations": "percentile bootstrap over clusters (videoID)"}}
