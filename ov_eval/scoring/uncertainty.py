"""Standard errors and 95 % intervals of aggregated metrics.

Plain means (mean, mean_percent, mmmu_accuracy, percent_or_null) get the sample standard error and a normal interval. Every
other aggregation gets a percentile bootstrap over documents that calls the aggregation itself on resampled
index arrays, so no aggregation is written twice. Documents that the aggregation scores together are resampled
together: MME's two questions of an image, MMBench's circular group; each drawn copy is relabelled so the
aggregation sees distinct units. Means also get vectorised bootstrap replicates, so that group rows (sample-
weighted means of their members) can be bootstrapped from the members' replicates.

A task whose questions share a visual names the column that identifies it (`uncertainty: {cluster: videoID}`):
the questions of one video are not independent, so means get the cluster-robust standard error and every
bootstrap resamples whole clusters.
"""
from __future__ import annotations

import contextlib
import logging
import math
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Literal

import numpy as np

from ov_eval.scoring.aggregations import MMBENCH_CIRCULAR_PERIOD
from ov_eval.scoring.clusters import cluster_labels, cluster_mean_replicates, cluster_methods, hashable

Z95 = 1.959963984540054
MEAN_SCALES = {"mean": 1.0, "mean_percent": 100.0, "mmmu_accuracy": 1.0, "percent_or_null": 100.0}
ANALYTIC_METHOD = "sample standard error (ddof=1), normal 95% interval"
BOOTSTRAP_METHOD = "percentile bootstrap over documents (whole MME images, whole MMBench circular groups)"


@dataclass(frozen=True)
class BootstrapSettings:
    iters: int = 1000  # 0: no bootstrap (plain means keep their analytic stderr)
    seed: int = 1234

    def rng(self, *names: str) -> np.random.Generator:
        """One stream per (task, metric): reproducible, and independent of the order things are scored in."""
        return np.random.default_rng([self.seed, *(zlib.crc32(n.encode()) for n in names)])


@dataclass(frozen=True)
class Uncertainty:
    stderr: float | None
    ci95: tuple[float, float] | None
    method: str
    replicates: np.ndarray | None = None  # bootstrap replicates of the aggregate (for group rows)


@dataclass(frozen=True)
class _Units:
    """How an aggregation's documents form resampling units, and how to relabel the k-th copy of a unit."""

    key: Callable[[dict], Any]
    relabel: Callable[[dict, int], dict]


def _mmbench_relabel(doc: dict, copy: int) -> dict:
    # A copy's main index moves by copy * 10k: MMBench's main indices are < 10k, so up to 99 copies of a group
    # stay distinct and below the circular period. (Its bootstrap normally takes the vectorised path, no copies.)
    return {**doc, "index": int(doc["index"]) + copy * 10_000}


UNITS: dict[str, _Units] = {
    "mme_category_sum": _Units(lambda d: (d["category"], d["question_id"]),
                               lambda d, k: {**d, "question_id": f"{d['question_id']}#{k}"}),
    "mmbench_circular": _Units(lambda d: int(d["index"]) % MMBENCH_CIRCULAR_PERIOD, _mmbench_relabel),
}


@dataclass(frozen=True)
class _Strata:
    """An aggregation that is a sum or mean, over strata, of the mean unit score in each stratum, where a
    unit's score is the aggregation applied to that unit alone. Its bootstrap is then a few matrix products."""

    stratum: Callable[[dict], Any] | None  # None: one stratum
    combine: Literal["sum_of_means", "mean_of_means", "total"]


STRATA: dict[str, _Strata] = {
    "mme_category_sum": _Strata(lambda d: d["category"], "sum_of_means"),
    "mmbench_circular": _Strata(None, "mean_of_means"),
    "mean_of_l2_category_means": _Strata(lambda d: d["l2_category"], "mean_of_means"),
    "per_thousand": _Strata(None, "total"),
    "sum": _Strata(None, "total"),
}


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _summary(replicates: np.ndarray) -> tuple[float | None, tuple[float, float] | None]:
    kept = replicates[~np.isnan(replicates)]
    if kept.size < 2:
        return None, None
    low, high = np.percentile(kept, [2.5, 97.5])
    return float(np.std(kept, ddof=1)), (float(low), float(high))


def _mean_replicates(values: np.ndarray, iters: int, rng: np.random.Generator, chunk: int = 100) -> np.ndarray:
    out = np.empty(iters)
    n = values.size
    for start in range(0, iters, chunk):
        rows = min(chunk, iters - start)
        out[start:start + rows] = values[rng.integers(0, n, (rows, n), dtype=np.int32)].mean(axis=1)
    return out


def clustered_mean_uncertainty(values: list[float], scale: float, labels: np.ndarray, column: str,
                               settings: BootstrapSettings, rng: np.random.Generator) -> Uncertainty:
    """The cluster-robust (sandwich) stderr of a mean: sqrt(G/(G-1) * sum_g (sum_{i in g} (x_i - mean))^2) / n."""
    array = np.asarray(values, dtype=float)
    n_clusters = int(labels.max()) + 1 if labels.size else 0
    analytic, _ = cluster_methods(column)
    if n_clusters < 2:
        return Uncertainty(None, None, analytic)
    residual_sums = np.bincount(labels, weights=array - array.mean(), minlength=n_clusters)
    stderr = scale * math.sqrt(n_clusters / (n_clusters - 1) * float(residual_sums @ residual_sums)) / array.size
    centre = scale * float(array.mean())
    replicates = None
    if settings.iters:
        draws = rng.integers(0, n_clusters, (settings.iters, n_clusters), dtype=np.int32)
        replicates = scale * cluster_mean_replicates(array, labels, draws)
    return Uncertainty(stderr, (centre - Z95 * stderr, centre + Z95 * stderr), analytic, replicates)


def mean_uncertainty(values: list[float], scale: float, settings: BootstrapSettings,
                     rng: np.random.Generator) -> Uncertainty:
    array = np.asarray(values, dtype=float)
    if array.size < 2:
        return Uncertainty(None, None, ANALYTIC_METHOD)
    stderr = scale * float(np.std(array, ddof=1)) / math.sqrt(array.size)
    centre = scale * float(array.mean())
    replicates = scale * _mean_replicates(array, settings.iters, rng) if settings.iters else None
    return Uncertainty(stderr, (centre - Z95 * stderr, centre + Z95 * stderr), ANALYTIC_METHOD, replicates)


def _occurrence_ranks(draw: np.ndarray) -> np.ndarray:
    """For each drawn unit, how many times it was drawn before (0 for its first copy)."""
    order = np.argsort(draw, kind="stable")
    ordered = draw[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, ordered.size]))
    ranks = np.empty_like(draw)
    ranks[order] = np.arange(ordered.size) - run_start
    return ranks


def _unit_rows(docs: list[dict], units: _Units | None) -> list[list[int]]:
    if units is None:
        return [[i] for i in range(len(docs))]
    members: dict[Any, list[int]] = {}
    for position, doc in enumerate(docs):
        members.setdefault(units.key(doc), []).append(position)
    return list(members.values())


def stratified_replicates(aggregate: Callable[[list, list[dict]], Any], values: list, docs: list[dict],
                          draws: np.ndarray, units: _Units | None, strata: _Strata, chunk: int = 100) -> np.ndarray:
    """The bootstrap of a `_Strata` aggregation, vectorised: each unit scored once by `aggregate` itself, each
    resample a row of unit counts. `draws[r]` lists the units drawn in resample r."""
    rows = _unit_rows(docs, units)
    scored = (_finite(aggregate([values[p] for p in r], [docs[p] for p in r])) for r in rows)
    scores = np.array([math.nan if score is None else score for score in scored])
    labels = [strata.stratum(docs[r[0]]) if strata.stratum else 0 for r in rows]
    names = sorted(set(labels), key=str)
    onehot = np.zeros((len(rows), len(names)))
    onehot[np.arange(len(rows)), [names.index(label) for label in labels]] = 1.0
    onehot[np.isnan(scores)] = 0.0  # units the aggregation leaves out (e.g. an MME image without two rows)
    scores = np.nan_to_num(scores)
    out = np.empty(len(draws))
    for start in range(0, len(draws), chunk):
        block = draws[start:start + chunk]
        offsets = block + np.arange(len(block), dtype=np.int64)[:, None] * len(rows)
        counts = np.bincount(offsets.ravel(), minlength=len(block) * len(rows)).reshape(len(block), len(rows))
        if strata.combine == "total":
            out[start:start + len(block)] = counts @ scores
            continue
        totals, sizes = counts @ (onehot * scores[:, None]), counts @ onehot
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(sizes > 0, totals / sizes, np.nan)
        out[start:start + len(block)] = np.nansum(means, axis=1) if strata.combine == "sum_of_means" \
            else np.nanmean(means, axis=1)
    return out


def bootstrap_replicates(aggregate: Callable[[list, list[dict]], Any], values: list, docs: list[dict],
                         draws: np.ndarray, units: _Units | None = None) -> np.ndarray:
    """`aggregate` on each resample of whole units (`draws[r]` lists the units of resample r); nan where it gives
    no figure. The generic path: one call of the aggregation per resample."""
    rows = _unit_rows(docs, units)
    copies: dict[int, list[dict]] = {0: docs}  # the docs of a unit's k-th copy in a resample, built on first need
    out = np.empty(len(draws))
    for row, draw in enumerate(draws):
        if units is None:
            picked = draw.tolist()
            sample_values, sample_docs = [values[i] for i in picked], [docs[i] for i in picked]
        else:
            ranks = _occurrence_ranks(draw)
            for copy in range(1, int(ranks.max()) + 1):
                if copy not in copies:
                    copies[copy] = [units.relabel(d, copy) for d in docs]
            sample_values = [values[p] for u in draw.tolist() for p in rows[u]]
            sample_docs = [copies[c][p] for u, c in zip(draw.tolist(), ranks.tolist()) for p in rows[u]]
        value = _finite(aggregate(sample_values, sample_docs))
        out[row] = math.nan if value is None else value
    return out


def metric_uncertainty(aggregation: str, aggregate: Callable[[list, list[dict]], Any], values: list,
                       docs: list[dict], settings: BootstrapSettings, rng: np.random.Generator,
                       cluster: str | None = None) -> Uncertainty:
    """`cluster`: the column whose equal values mark documents that share a visual (resampled together)."""
    if aggregation in MEAN_SCALES:
        if cluster is not None:
            return clustered_mean_uncertainty(values, MEAN_SCALES[aggregation], cluster_labels(docs, cluster),
                                              cluster, settings, rng)
        return mean_uncertainty(values, MEAN_SCALES[aggregation], settings, rng)
    method = BOOTSTRAP_METHOD if cluster is None else cluster_methods(cluster)[1]
    if not settings.iters or _finite(aggregate(values, docs)) is None:
        return Uncertainty(None, None, method)
    with _quiet():  # an aggregation's warnings (e.g. MME's incomplete images) were given once already
        n_units = len(resampling_units(aggregation, docs, cluster))
        draws = rng.integers(0, n_units, (settings.iters, n_units), dtype=np.int32)
        replicates = replicates_for_draws(aggregation, aggregate, values, docs, draws, cluster)
    stderr, ci95 = _summary(replicates)
    return Uncertainty(stderr, ci95, method, replicates)


def _units(aggregation: str, cluster: str | None) -> _Units | None:
    """The aggregation's own units, or the task's clusters (whose copies the aggregation's relabelling keeps
    distinct, where it has one)."""
    own = UNITS.get(aggregation)
    if cluster is None:
        return own
    return _Units(lambda d: hashable(d[cluster]), own.relabel if own is not None else lambda d, k: d)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def resampling_units(aggregation: str, docs: list[dict], cluster: str | None = None) -> list[list[int]]:
    """The positions of the documents that resample together, unit by unit (cluster by cluster)."""
    return _unit_rows(docs, _units(aggregation, cluster))


def replicates_for_draws(aggregation: str, aggregate: Callable[[list, list[dict]], Any], values: list,
                         docs: list[dict], draws: np.ndarray, cluster: str | None = None) -> np.ndarray:
    """The aggregate on each resample of `draws` (rows of unit numbers, see `resampling_units`): vectorised for
    means and `STRATA` aggregations, else one call of the aggregation per resample."""
    if cluster is not None:
        if aggregation in MEAN_SCALES:
            labels = cluster_labels(docs, cluster)
            return MEAN_SCALES[aggregation] * cluster_mean_replicates(np.asarray(values, float), labels, draws)
        return bootstrap_replicates(aggregate, values, docs, draws, _units(aggregation, cluster))
    units = UNITS.get(aggregation)
    if aggregation in MEAN_SCALES:  # (percent_or_null's rounding and null would distort single-unit scores)
        scale = MEAN_SCALES[aggregation]
        return stratified_replicates(lambda v, d: scale * float(np.mean(v)), values, docs, draws, None,
                                     _Strata(None, "mean_of_means"))
    if aggregation in STRATA:
        return stratified_replicates(aggregate, values, docs, draws, units, STRATA[aggregation])
    return bootstrap_replicates(aggregate, values, docs, draws, units)


def weighted_group_uncertainty(members: list[tuple[Uncertainty, int]]) -> Uncertainty:
    """A group row (the sample-weighted mean of its members' figures): members' documents are disjoint, so
    their replicates are independent and combine replicate by replicate."""
    usable = [(u.replicates, n) for u, n in members if u.replicates is not None and n > 0]
    if not usable or len(usable) < len(members):
        return Uncertainty(None, None, BOOTSTRAP_METHOD)
    total = sum(n for _, n in usable)
    replicates = sum(r * (n / total) for r, n in usable)
    stderr, ci95 = _summary(replicates)
    return Uncertainty(stderr, ci95, BOOTSTRAP_METHOD, replicates)
