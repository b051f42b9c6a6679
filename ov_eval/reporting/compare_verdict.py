"""What `compare` found, in words: one verdict per task and metric, and a summary above the table.

The one rule (scoring/paired.py): B differs from A when the paired test's p-value is below 0.05; the star of
the table is the same rule, so the two never disagree. The interval only sizes the difference.
"""
from __future__ import annotations

from dataclasses import dataclass

from ov_eval.scoring.paired import MIN_UNITS, SIGNIFICANCE, PairedResult

BETTER, WORSE, NO_DIFFERENCE, SAME, TOO_FEW, NOTHING, NO_TEST = (
    "B better", "B worse", "no reliable difference", "no difference", "too few documents", "nothing to compare",
    "no test")
RULE = (f"Verdict rule: B differs from A when the paired test gives p < {SIGNIFICANCE:g} (McNemar's exact test for "
        "0/1 scores, else a paired permutation test); '*' marks the same rows. The 95 % interval (paired bootstrap) "
        f"sizes the difference and does not decide it. Fewer than {MIN_UNITS} documents (MME: images; MMBench: "
        f"circular groups) cannot reach p < {SIGNIFICANCE:g} however they fall: too few documents to tell.")


@dataclass(frozen=True)
class Compared:
    task: str
    metric: str
    n: int  # documents both runs scored
    result: PairedResult
    scale: float = 1.0  # 100 where per-document values are 0-1 fractions: differences read in points
    unit: str = ""  # " points" where the metric is a percentage or a sum of points
    higher_is_better: bool = True
    name: str = ""  # how the lines name it: the task, with the metric where the task has several
    left_out: str = "0"  # how many documents only one run scored, and why


def verdict(row: Compared) -> str:
    r = row.result
    if row.n == 0 or r.delta is None:
        return NOTHING
    if r.too_few:
        return TOO_FEW
    if r.identical:
        return SAME
    if r.p_value is None:
        return NO_TEST
    if not r.significant:
        return NO_DIFFERENCE
    return BETTER if (r.delta > 0) == row.higher_is_better else WORSE


def _number(value: float, scale: float) -> str:
    scaled = value * scale
    return f"{scaled:.1f}" if scale != 1 or abs(scaled) >= 10 else f"{scaled:.2f}"


def p_text(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


def _facts(row: Compared) -> str:
    r = row.result
    parts = [] if r.ci95 is None else [f"95 % interval {_number(r.ci95[0], row.scale)} to "
                                       f"{_number(r.ci95[1], row.scale)}"]
    parts += [] if r.p_value is None else [p_text(r.p_value)]
    return ", ".join(parts + [f"{row.n} documents"])


def verdict_line(row: Compared) -> str:
    found, r = verdict(row), row.result
    unit = row.unit
    if found == NOTHING:
        return f"nothing to compare on {row.name}: no document was scored in both runs"
    if found == TOO_FEW:
        return f"too few documents to tell on {row.name} ({row.n})"
    if found == SAME:
        return f"no difference on {row.name}: both runs scored all {row.n} documents the same"
    if found == NO_TEST:
        return f"no test on {row.name} (--bootstrap_iters 0): B-A {_number(r.delta, row.scale)}{unit}"
    if found == NO_DIFFERENCE:
        return f"no reliable difference on {row.name} (B-A {_number(r.delta, row.scale)}{unit}, {_facts(row)})"
    lower = "" if row.higher_is_better else ", lower is better"
    word = "better" if found == BETTER else "worse"
    return f"B is {word} on {row.name} by {_number(abs(r.delta), row.scale)}{unit} ({_facts(row)}{lower})"


def summary(rows: list[Compared]) -> str:
    counts = {kind: [row.name for row in rows if verdict(row) == kind] for kind in
              (BETTER, WORSE, NO_DIFFERENCE, SAME, TOO_FEW, NOTHING, NO_TEST)}
    parts = [f"B is better on {len(counts[BETTER])}", f"worse on {len(counts[WORSE])}"]
    parts += [f"no reliable difference on {len(counts[NO_DIFFERENCE]) + len(counts[SAME])}"]
    parts += [f"too few documents on {len(counts[TOO_FEW])}"] if counts[TOO_FEW] else []
    parts += [f"nothing to compare on {len(counts[NOTHING])}"] if counts[NOTHING] else []
    parts += [f"no test on {len(counts[NO_TEST])}"] if counts[NO_TEST] else []
    return f"Of {len(rows)} task metric(s) compared, {', '.join(parts)}."
