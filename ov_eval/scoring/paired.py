"""Paired comparison of two runs on the same documents: B - A, its bootstrap interval, a p-value, flips.

Documents are resampled jointly (the same draw for both runs), in the resampling units of the aggregation
(uncertainty.py), so that the interval is of the difference the aggregation itself computes. The p-value is
McNemar's exact test where every per-sample value of a mean-like metric is 0 or 1, else a paired permutation
test that swaps the two runs' values unit by unit (every arrangement, exactly, where at most EXACT_UNITS units
differ). A task clustered by a column (questions sharing a video, `uncertainty: {cluster: ...}`) resamples and
swaps whole clusters, and never uses McNemar's test (which assumes independent pairs).

One rule decides: a difference is reliable when that p-value is below SIGNIFICANCE. The bootstrap interval
says how large the difference may be, never whether it is there (on a handful of documents the two disagree).
Fewer than MIN_UNITS units cannot reach p < SIGNIFICANCE however they fall, so they are "too few to tell".
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ov_eval.scoring.uncertainty import MEAN_SCALES, replicates_for_draws, resampling_units

SIGNIFICANCE = 0.05
MIN_UNITS = 6  # 2 * 0.5**5 = 0.0625: five units all going one way still do not reach p < 0.05
EXACT_UNITS = 12  # up to 2**12 arrangements are counted one by one instead of sampled


@dataclass(frozen=True)
class PairedResult:
    a: float | None
    b: float | None
    delta: float | None
    ci95: tuple[float, float] | None
    p_value: float | None
    test: str  # "mcnemar-exact", "permutation" or "-"
    right_to_wrong: int | None  # 0/1 metrics only
    wrong_to_right: int | None
    n_units: int = 0  # resampling units (documents, or MME images / MMBench circular groups)
    identical: bool = False  # both runs scored every document the same

    @property
    def too_few(self) -> bool:
        return self.n_units < MIN_UNITS

    @property
    def significant(self) -> bool:
        """The one verdict rule: the paired test's p-value is below SIGNIFICANCE (on enough units)."""
        return not self.too_few and self.p_value is not None and self.p_value < SIGNIFICANCE


def mcnemar_exact(right_to_wrong: int, wrong_to_right: int) -> float:
    """Two-sided exact McNemar p-value: the binomial(n, 1/2) tail of the discordant pairs, doubled, at most 1."""
    n = right_to_wrong + wrong_to_right
    if n == 0:
        return 1.0
    k = min(right_to_wrong, wrong_to_right)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2.0 * tail)


def _binary(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and v in (0.0, 1.0) for v in values)


def _finite(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _swaps(n_units: int, differing: list[int], iters: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Which units each arrangement swaps: all 2**k arrangements of the k differing units where k is at most
    EXACT_UNITS (exact: True), else `iters` random ones. Swapping a unit whose values agree changes nothing."""
    if len(differing) <= EXACT_UNITS:
        patterns = (np.arange(2 ** len(differing))[:, None] >> np.arange(len(differing))) & 1
        swaps = np.zeros((patterns.shape[0], n_units), dtype=bool)
        swaps[:, differing] = patterns.astype(bool)
        return swaps, True
    return rng.integers(0, 2, (iters, n_units)).astype(bool), False


def recorded_cluster(results: dict[str, Any], task: str) -> str | None:
    """The cluster column a results file says the task's uncertainty used (None: independent documents)."""
    clusters = (results.get("uncertainty") or {}).get("clusters") or {}
    return clusters.get(task) if isinstance(clusters, dict) else None


def _permutation_p(aggregation: str, aggregate: Callable, values_a: list, values_b: list, docs: list[dict],
                   observed: float, iters: int, rng: np.random.Generator,
                   cluster: str | None = None) -> float | None:
    """The share of unit-wise swaps of A and B whose |B' - A'| reaches the observed |B - A|: counted over every
    arrangement when few units differ, else over `iters` random ones with the observed one counted (p > 0);
    None where that would take random arrangements and `iters` is 0."""
    units = resampling_units(aggregation, docs, cluster)
    differing = [u for u, positions in enumerate(units) if any(values_a[i] != values_b[i] for i in positions)]
    if len(differing) > EXACT_UNITS and not iters:
        return None
    swaps, exact = _swaps(len(units), differing, iters, rng)
    if aggregation in MEAN_SCALES:  # vectorised: a swap flips the sign of that unit's summed difference
        differences = MEAN_SCALES[aggregation] * (np.asarray(values_b, float) - np.asarray(values_a, float))
        unit_sums = np.array([differences[positions].sum() for positions in units])
        signs = np.where(swaps, -1.0, 1.0)
        permuted = np.abs(signs @ unit_sums / differences.size)
        reached = int(np.count_nonzero(permuted >= abs(observed) - 1e-12))
        return reached / len(swaps) if exact else (reached + 1) / (len(swaps) + 1)
    reached = 0
    for swap in swaps:
        a_prime, b_prime = list(values_a), list(values_b)
        for unit in np.flatnonzero(swap).tolist():
            for position in units[unit]:
                a_prime[position], b_prime[position] = values_b[position], values_a[position]
        a_value, b_value = _finite(aggregate(a_prime, docs)), _finite(aggregate(b_prime, docs))
        if a_value is not None and b_value is not None and abs(b_value - a_value) >= abs(observed) - 1e-12:
            reached += 1
    return reached / len(swaps) if exact else (reached + 1) / (len(swaps) + 1)


def paired_comparison(aggregation: str, aggregate: Callable[[list, list[dict]], Any], values_a: list,
                      values_b: list, docs: list[dict], iters: int, rng: np.random.Generator,
                      cluster: str | None = None) -> PairedResult:
    """B - A over the same `docs` (values_a[i] and values_b[i] both belong to docs[i]); `cluster` names the
    column of documents that are resampled and swapped together."""
    a, b = _finite(aggregate(values_a, docs)), _finite(aggregate(values_b, docs))
    delta = None if a is None or b is None else b - a
    binary = _binary(values_a) and _binary(values_b)
    right_to_wrong = sum(1 for x, y in zip(values_a, values_b) if x == 1.0 and y == 0.0) if binary else None
    wrong_to_right = sum(1 for x, y in zip(values_a, values_b) if x == 0.0 and y == 1.0) if binary else None
    n_units = len(resampling_units(aggregation, docs, cluster))
    identical = all(x == y for x, y in zip(values_a, values_b))
    if delta is None:
        return PairedResult(a, b, None, None, None, "-", right_to_wrong, wrong_to_right, n_units, identical)
    ci95 = None
    if iters:
        draws = rng.integers(0, n_units, (iters, n_units), dtype=np.int32)
        deltas = replicates_for_draws(aggregation, aggregate, values_b, docs, draws, cluster) \
            - replicates_for_draws(aggregation, aggregate, values_a, docs, draws, cluster)
        kept = deltas[~np.isnan(deltas)]
        if kept.size >= 2:
            low, high = np.percentile(kept, [2.5, 97.5])
            ci95 = (float(low), float(high))
    if binary and aggregation in MEAN_SCALES and cluster is None:
        return PairedResult(a, b, delta, ci95, mcnemar_exact(right_to_wrong, wrong_to_right), "mcnemar-exact",
                            right_to_wrong, wrong_to_right, n_units, identical)
    if identical:
        p_value = 1.0  # every swap leaves the runs as they are
    else:
        p_value = _permutation_p(aggregation, aggregate, values_a, values_b, docs, delta, iters, rng, cluster)
    return PairedResult(a, b, delta, ci95, p_value, "permutation" if p_value is not None else "-", right_to_wrong,
                        wrong_to_right, n_units, identical)
