"""Benchmark aggregations (docs/scoring_rules.md §1, §4): per-sample values + their docs -> one figure.

`values[i]` belongs to `docs[i]`; an unresolved sample arrives as 0.0. A metric key's `where` in the YAML
has already narrowed the docs (a category, a split), so these functions never filter by category themselves.
"""
from __future__ import annotations

import logging
import math
import statistics
from collections import defaultdict

from ov_eval.scoring.registry import register_aggregation

log = logging.getLogger(__name__)

MMBENCH_CIRCULAR_PERIOD = 1_000_000
OCRBENCH_SIZE = 1000


def _grouped(values: list[float], docs: list[dict], *fields: str) -> dict[tuple, list[float]]:
    groups: dict[tuple, list[float]] = defaultdict(list)
    for value, doc in zip(values, docs):
        groups[tuple(doc[f] for f in fields)].append(value)
    return groups


@register_aggregation("mme_category_sum")
def mme_category_sum(values: list[float], docs: list[dict]) -> float:
    """Per image: acc = 100·mean of its two answers, acc+ = 100 when both are right; a category scores the
    mean of acc + acc+ over its images; the result is the sum over the categories present.

    The reference asserts two rows per image; an image with another count (e.g. cut by --limit) is left out
    with a warning.
    """
    images = _grouped(values, docs, "category", "question_id")
    incomplete = [key for key, scores in images.items() if len(scores) != 2]
    if incomplete:
        log.warning("MME: %d image(s) without exactly two questions are left out of the score, e.g. %s",
                    len(incomplete), "/".join(incomplete[0]))
    categories: dict[str, list[float]] = defaultdict(list)
    for (category, _), scores in images.items():
        if len(scores) == 2:
            categories[category].append(100.0 * statistics.fmean(scores) + 100.0 * all(s == 1.0 for s in scores))
    if not categories:
        return math.nan
    return sum(statistics.fmean(scores) for scores in categories.values())


@register_aggregation("mmbench_circular")
def mmbench_circular(values: list[float], docs: list[dict]) -> float:
    """Circular evaluation: rows whose index mod 1e6 equals a main index (< 1e6) form its group, which scores
    1 only if every row is right; 100 × the mean over the main indices present."""
    groups: dict[int, list[float]] = {int(d["index"]): [] for d in docs if int(d["index"]) < MMBENCH_CIRCULAR_PERIOD}
    for value, doc in zip(values, docs):
        main = int(doc["index"]) % MMBENCH_CIRCULAR_PERIOD
        if main in groups:
            groups[main].append(value)
    if not groups:
        return math.nan
    return 100.0 * statistics.fmean(float(all(v == 1.0 for v in group)) for group in groups.values())


@register_aggregation("mean_of_l2_category_means")
def mean_of_l2_category_means(values: list[float], docs: list[dict]) -> float:
    """MMStar: the mean of the per-`l2_category` means."""
    return statistics.fmean(statistics.fmean(group) for group in _grouped(values, docs, "l2_category").values())


@register_aggregation("per_thousand")
def per_thousand(values: list[float], docs: list[dict]) -> float:
    """OCRBench: correct / 1000, however many rows were scored (the published normalisation)."""
    return sum(values) / OCRBENCH_SIZE


@register_aggregation("mmmu_accuracy")
def mmmu_accuracy(values: list[float], docs: list[dict]) -> float:
    """Instance-weighted accuracy over the subjects (= total correct / total), rounded to 5 decimals."""
    return round(sum(values) / len(values), 5)


@register_aggregation("mean_percent")
def mean_percent(values: list[float], docs: list[dict]) -> float:
    """100 × the mean."""
    return 100.0 * statistics.fmean(values)


@register_aggregation("percent_or_null")
def percent_or_null(values: list[float], docs: list[dict]) -> float | None:
    """MathVista / MathVerse: round(100·mean, 2), and null when that is 0 (as the reference reports it)."""
    score = round(100.0 * statistics.fmean(values), 2)
    return score or None
