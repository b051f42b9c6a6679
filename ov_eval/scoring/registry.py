"""Named filters, per-sample metrics and aggregations that task YAMLs refer to.

A metric returns a float, or None when the response cannot be resolved to an answer: that sample counts as
wrong (0) and is reported in `n_unresolved`, never replaced by a guess. A filter step that finds nothing to
extract returns its input as `NothingExtracted`: the metrics still score that text (as the published rules
do), and a sample they score 0 counts as unresolved too.
"""
from __future__ import annotations

import statistics
from typing import Any, Callable, Literal


class NothingExtracted(str):
    """The text an extracting filter step was given, passed on unchanged because it found nothing to extract."""


FilterStep = Callable[[str], str]
Metric = Callable[[str, Any, dict, str], "float | None"]  # (prediction, target, doc, profile)
Aggregation = Callable[[list[float], list[dict]], float]  # (values, docs)

FILTERS: dict[str, FilterStep] = {}
METRICS: dict[str, Metric] = {}
AGGREGATIONS: dict[str, Aggregation] = {}
# The target shape a metric reads, where it declares one: "answers" (a list of acceptable answers; one string is
# one answer) or "text" (one string or number). The task checks each document's target against it when the
# requests are built, so a target of the wrong shape is that document's error before anything is generated.
TargetShape = Literal["any", "text", "answers"]
METRIC_TARGETS: dict[str, TargetShape] = {}


def register_filter(name: str) -> Callable[[FilterStep], FilterStep]:
    def wrap(fn: FilterStep) -> FilterStep:
        FILTERS[name] = fn
        return fn
    return wrap


def register_metric(name: str, target: TargetShape = "any") -> Callable[[Metric], Metric]:
    def wrap(fn: Metric) -> Metric:
        METRICS[name] = fn
        METRIC_TARGETS[name] = target
        return fn
    return wrap


def register_aggregation(name: str) -> Callable[[Aggregation], Aggregation]:
    def wrap(fn: Aggregation) -> Aggregation:
        AGGREGATIONS[name] = fn
        return fn
    return wrap


@register_aggregation("mean")
def mean(values: list[float], docs: list[dict]) -> float:
    """The mean of the values (NaN when there are none)."""
    return statistics.fmean(values) if values else float("nan")


@register_aggregation("sum")
def total(values: list[float], docs: list[dict]) -> float:
    """The sum of the values."""
    return float(sum(values))


def load_builtins() -> None:
    """Import the modules whose decorators fill the registries."""
    from ov_eval.scoring import aggregations, benchmarks, builtin, judged, video_benchmarks  # noqa: F401
