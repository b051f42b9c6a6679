"""`ov_eval compare RUN_A RUN_B`: per task and metric, B - A on the documents both runs scored, from run folders.

Reads each run's results file and its logged samples (`--log_samples`); never the model or the dataset.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ov_eval.errors import OvEvalError, did_you_mean
from ov_eval.reporting.run_files import metric_keys, read_results_json
from ov_eval.reporting.compare_verdict import RULE, Compared, summary, verdict, verdict_line
from ov_eval.reporting.html_page import Cell, page, path_text, q, run_legend, table
from ov_eval.reporting.run_files import load_run, run_facts
from ov_eval.scoring.paired import SIGNIFICANCE, PairedResult, paired_comparison, recorded_cluster
from ov_eval.scoring.uncertainty import MEAN_SCALES, BootstrapSettings

FORMATS = ("md", "csv", "html")
COLUMNS = ("task", "metric", "n", "left out", "A", "B", "B-A", "CI95 low", "CI95 high", "p", "test",
           "right->wrong", "wrong->right", f"p < {SIGNIFICANCE:g}", "verdict")
NUMERIC_COLUMNS = frozenset(COLUMNS[2:3] + COLUMNS[4:10] + COLUMNS[11:13])


@dataclass(frozen=True)
class LoggedRun:
    results_path: Path
    data: dict[str, Any]

    @property
    def date(self) -> str:
        return self.results_path.name.removesuffix("_results.json")

    @property
    def profile(self) -> str | None:
        return self.data.get("scoring_profile") or (self.data.get("config") or {}).get("scoring_profile")

    def provenance(self, task: str) -> dict[str, Any]:
        return ((self.data.get("provenance") or {}).get(task) or {})

    def config_hash(self, task: str) -> str | None:
        return self.provenance(task).get("task_config_hash")

    def samples(self, task: str, command: str = "compare") -> dict[int, dict[str, Any]]:
        """The task's logged samples by doc id; `command` (compare, browse) is named when there are none."""
        from ov_eval.rescore import read_logged_samples

        path = self.results_path.parent / f"{self.date}_samples_{task}.jsonl"
        if not path.is_file():
            raise OvEvalError(f"task '{task}': no logged samples {path} ({command} needs runs made with "
                              "--log_samples)")
        return {int(record["doc_id"]): record for record in read_logged_samples(path)}


def load_logged_run(spec: Path) -> LoggedRun:
    from ov_eval.rescore import find_results_file

    path = find_results_file(spec)
    return LoggedRun(path, read_results_json(path))


def config_differences(run_a: LoggedRun, run_b: LoggedRun, tasks: list[str]) -> list[str]:
    """One line per difference in scoring profile, task config or dataset between the runs."""
    lines = []
    if run_a.profile != run_b.profile:
        lines.append(f"scoring profile: A {run_a.profile}, B {run_b.profile}")
    for task in tasks:
        hash_a, hash_b = run_a.config_hash(task), run_b.config_hash(task)
        if hash_a != hash_b:
            config_a = (run_a.data.get("configs") or {}).get(task) or {}
            config_b = (run_b.data.get("configs") or {}).get(task) or {}
            keys = sorted(k for k in {*config_a, *config_b} if config_a.get(k) != config_b.get(k))
            lines.append(f"task '{task}': config hash A {hash_a}, B {hash_b}"
                         + (f" (differing: {', '.join(keys)})" if keys else ""))
        data_a, data_b = run_a.provenance(task), run_b.provenance(task)
        if data_a.get("fingerprint") != data_b.get("fingerprint"):  # documents are paired by doc_id
            lines.append(f"task '{task}': dataset fingerprint A {data_a.get('fingerprint')} "
                         f"({data_a.get('dataset')}), B {data_b.get('fingerprint')} ({data_b.get('dataset')})")
    return lines


def _aggregation(run: LoggedRun, task: str, key: str) -> tuple[str, Any]:
    """The key's aggregation from the task registry (the run's --include_path), else from the logged config."""
    from ov_eval.registry import task_index
    from ov_eval.scoring import registry as scoring
    from ov_eval.task import Task

    index = task_index(list((run.data.get("config") or {}).get("include_path") or []))
    if task in index.tasks:
        return Task.load(index.tasks[task], profile=run.profile or "published").aggregation(key)
    scoring.load_builtins()
    metric = key.partition(",")[0]
    specs = ((run.data.get("configs") or {}).get(task) or {}).get("metrics") or []
    name = next((s.get("aggregation", "mean") for s in specs if (s.get("name") or s.get("metric")) == metric), "mean")
    if name not in scoring.AGGREGATIONS:
        raise OvEvalError(f"task '{task}': aggregation '{name}' of '{key}' is not built in and the task is not in the "
                          "registry (add its folder with the run's --include_path)")
    return name, scoring.AGGREGATIONS[name]


def _scored(record: dict[str, Any] | None, key: str) -> bool:
    return record is not None and record.get(key) is not None


def _left_out(ids_a: set[int], ids_b: set[int], samples_a: dict, samples_b: dict, key: str) -> str:
    reasons = {"only in A": len(ids_a - ids_b), "only in B": len(ids_b - ids_a),
               "not scored in A (error, judge error or excluded)":
                   sum(1 for d in ids_a & ids_b if not _scored(samples_a[d], key)),
               "not scored in B (error, judge error or excluded)":
                   sum(1 for d in ids_a & ids_b if _scored(samples_a[d], key) and not _scored(samples_b[d], key))}
    total = sum(reasons.values())
    return f"{total}: " + ", ".join(f"{why} {n}" for why, n in reasons.items() if n) if total else "0"


def _higher_is_better(run: LoggedRun, task: str, key: str) -> bool:
    return ((run.data.get("higher_is_better") or {}).get(task) or {}).get(key.partition(",")[0], True) is not False


POINTS_AGGREGATIONS = frozenset(["mme_category_sum", "per_thousand"])


def _scale_and_unit(aggregation: str, values: list[Any]) -> tuple[float, str]:
    """How a difference reads: a mean of 0-1 values x 100 in percentage points; a percentage or a sum of
    points as it is, in points; anything else as it is."""
    fractions = all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in values)
    if MEAN_SCALES.get(aggregation) == 1.0 and fractions:
        return 100.0, " points"
    return 1.0, " points" if MEAN_SCALES.get(aggregation) == 100.0 or aggregation in POINTS_AGGREGATIONS else ""


def compare_runs(run_a: LoggedRun, run_b: LoggedRun, tasks: list[str], settings: BootstrapSettings) -> list[Compared]:
    rows = []
    for task in tasks:
        samples_a, samples_b = run_a.samples(task), run_b.samples(task)
        entry_a, entry_b = run_a.data["results"][task], run_b.data["results"][task]
        keys = [k for k in metric_keys(entry_a) if k in entry_b]
        for key in keys:
            common = sorted(d for d in samples_a.keys() & samples_b.keys()
                            if _scored(samples_a[d], key) and _scored(samples_b[d], key))
            left_out = _left_out(set(samples_a), set(samples_b), samples_a, samples_b, key)
            name = task if len(keys) == 1 else f"{task} ({key})"
            base = Compared(task, key, len(common), PairedResult(None, None, None, None, None, "-", None, None),
                            higher_is_better=_higher_is_better(run_a, task, key), name=name, left_out=left_out)
            if not common:
                rows.append(base)
                continue
            aggregation, aggregate = _aggregation(run_a, task, key)
            values_a, values_b = [samples_a[d][key] for d in common], [samples_b[d][key] for d in common]
            result = paired_comparison(aggregation, aggregate, values_a, values_b,
                                       [samples_a[d]["doc"] for d in common], settings.iters,
                                       settings.rng(task, key), cluster=recorded_cluster(run_a.data, task))
            scale, unit = _scale_and_unit(aggregation, values_a + values_b)
            rows.append(replace(base, result=result, scale=scale, unit=unit))
    return rows


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _cells(row: Compared) -> list[str]:
    r = row.result
    low, high = r.ci95 if r.ci95 is not None and not r.too_few else (None, None)
    p_value = "-" if r.p_value is None else f"{r.p_value:.4g}"
    return [row.task, row.metric, str(row.n), row.left_out, _number(r.a), _number(r.b),
            _number(r.delta, signed=True), _number(low, signed=True), _number(high, signed=True), p_value, r.test,
            "-" if r.right_to_wrong is None else str(r.right_to_wrong),
            "-" if r.wrong_to_right is None else str(r.wrong_to_right), "*" if r.significant else "", verdict(row)]


def _findings(rows: list[Compared]) -> list[str]:
    """The summary line, then one verdict line per row."""
    return [summary(rows), *(verdict_line(row) for row in rows)]


def _html(rows: list[Compared], run_a: LoggedRun, run_b: LoggedRun) -> str:
    facts = [run_facts(load_run(run.results_path), label) for run, label in ((run_a, "A"), (run_b, "B"))]
    findings = _findings(rows)
    body = (f"<p><b>{q(findings[0])}</b></p>\n<ul class=\"verdicts\">"
            + "".join(f"<li>{q(line)}</li>" for line in findings[1:]) + "</ul>\n"
            + run_legend(facts, coloured=False)
            + "".join(f"\n<p>{label}: {path_text(run.results_path)}</p>"
                      for label, run in (("A", run_a), ("B", run_b)))
            + "\n<h2>Per task and metric</h2>\n"
            + table(list(COLUMNS), [[Cell(text, numeric=column in NUMERIC_COLUMNS)
                                     for column, text in zip(COLUMNS, _cells(row))] for row in rows])
            + f"\n<p>{q(RULE)}</p>")
    return page(f"ov_eval compare: {facts[0].name} (A) against {facts[1].name} (B)", body)


def render(rows: list[Compared], fmt: str, run_a: LoggedRun, run_b: LoggedRun) -> str:
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(_cells(row) for row in rows)
        return out.getvalue()
    if fmt == "html":
        return _html(rows, run_a, run_b)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" if c not in NUMERIC_COLUMNS else "---:"
                                                              for c in COLUMNS) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(row)) + " |" for row in rows]
    findings = _findings(rows)
    return (findings[0] + "\n" + "".join(f"- {line}\n" for line in findings[1:]) + "\n" + "\n".join(lines)
            + f"\n\nA: {run_a.results_path}\nB: {run_b.results_path}\n{RULE}\n")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise OvEvalError(f"ov_eval compare: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ov_eval compare", allow_abbrev=False,
                     description="Compare two runs sample by sample: a verdict in words per task and metric (B differs "
                                 "from A when the paired test gives p < 0.05), B - A, its paired interval, p-value, "
                                 "flips.")
    parser.add_argument("run_a", type=Path, help="run A: a model folder (its newest results) or a results file")
    parser.add_argument("run_b", type=Path, help="run B, likewise")
    parser.add_argument("--tasks", default=None, help="comma-separated tasks (default: every task both runs hold)")
    parser.add_argument("--format", choices=FORMATS, default=None, help="md (default), csv or html")
    parser.add_argument("--output", type=Path, default=None, help="file to write instead of stdout")
    parser.add_argument("--allow_config_mismatch", action="store_true",
                        help="compare runs whose task configs, datasets or scoring profiles differ (the differences are "
                             "printed)")
    parser.add_argument("--bootstrap_iters", type=int, default=1000, help="resamples and permutations (default 1000)")
    parser.add_argument("--seed", type=int, default=1234, help="seed of the resampling")
    return parser


def compare_main(argv: list[str]) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        flag = unknown[0].split("=", 1)[0]
        hint = did_you_mean(flag, [o for a in parser._actions for o in a.option_strings])
        raise OvEvalError(f"ov_eval compare: unknown flag '{flag}'{hint}")
    if args.bootstrap_iters < 0:
        raise OvEvalError(f"--bootstrap_iters: must be 0 or more, got {args.bootstrap_iters}")
    run_a, run_b = load_logged_run(args.run_a), load_logged_run(args.run_b)
    shared = [t for t in run_a.data["results"] if t in run_b.data["results"]]
    tasks = shared
    if args.tasks:
        tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
        for task in tasks:
            if task not in shared:
                raise OvEvalError(f"--tasks: task '{task}' is not in both runs{did_you_mean(task, shared)}")
    if not tasks:
        raise OvEvalError(f"{run_a.results_path} and {run_b.results_path} have no task in common")
    differences = config_differences(run_a, run_b, tasks)
    if differences and not args.allow_config_mismatch:
        raise OvEvalError(f"the runs differ in {differences[0]}"
                          + (f" and {len(differences) - 1} more" if len(differences) > 1 else "")
                          + "; pass --allow_config_mismatch to compare them anyway")
    for line in differences:
        print(f"config mismatch: {line}")
    rows = compare_runs(run_a, run_b, tasks, BootstrapSettings(iters=args.bootstrap_iters, seed=args.seed))
    fmt = args.format or (args.output.suffix.lstrip(".") if args.output else "")
    text = render(rows, fmt if fmt in FORMATS else "md", run_a, run_b)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OvEvalError(f"--output: cannot write {args.output}: {exc.strerror}") from None
    print(f"comparison written to {args.output}")
    return 0
