"""Clusters of documents that share an image or video (a task's `uncertainty: {cluster: COLUMN}`)."""
from __future__ import annotations

from typing import Any

import numpy as np


def cluster_methods(column: str) -> tuple[str, str]:
    """(analytic, bootstrap) method descriptions of a task clustered by `column`."""
    return (f"cluster-robust standard error (clusters: {column}, G/(G-1) correction), normal 95% interval",
            f"percentile bootstrap over clusters ({column})")


def cluster_labels(docs: list[dict], column: str) -> np.ndarray:
    """Each document's cluster number (0..G-1, in order of first appearance)."""
    numbers: dict[Any, int] = {}
    return np.array([numbers.setdefault(hashable(doc[column]), len(numbers)) for doc in docs], dtype=np.int64)


def hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def cluster_mean_replicates(values: np.ndarray, labels: np.ndarray, draws: np.ndarray, chunk: int = 100
                            ) -> np.ndarray:
    """The document mean over each resample of whole clusters (`draws[r]` lists the clusters drawn)."""
    n_clusters = int(labels.max()) + 1
    sums = np.bincount(labels, weights=values, minlength=n_clusters)
    sizes = np.bincount(labels, minlength=n_clusters).astype(float)
    out = np.empty(len(draws))
    for start in range(0, len(draws), chunk):
        block = draws[start:start + chunk]
        offsets = block + np.arange(len(block), dtype=np.int64)[:, None] * n_clusters
        counts = np.bincount(offsets.ravel(), minlength=len(block) * n_clusters).reshape(len(block), n_clusters)
        out[start:start + len(block)] = (counts @ sums) / (counts @ sizes)
    return out
