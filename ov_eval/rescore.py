"""`ov_eval rescore LOG_DIR`: score a finished run again from its logged samples, without the model.

Input: a run's `{date}_results.json` and the `{date}_samples_{task}.jsonl` beside it (written with
--log_samples). Each logged sample gives back the model's response (doc_id, resps, tokens, error) and the
document as logged (media removed): scoring uses that logged doc, so neither the dataset nor the model is
loaded. The task itself (YAML, hooks, metrics, judge prompts) is the current code, found by name in the
task registry (plus the run's --include_path); so a new metric, a fixed judge prompt or another judge model
applies. Judge verdicts come from the verdict cache first: a cache that holds every needed verdict scores
without any endpoint.

Output: a new `{new date}_results.json` with `{new date}_samples_{task}.jsonl` beside the old files, which are
left untouched; it holds the rescored tasks only and names the run it was rescored from.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import ov_eval
from ov_eval.reporting.run_files import read_results_json, warn_if_newest_covers_less
from ov_eval.reporting.validate import read_samples_file
from ov_eval.errors import OvEvalError, did_you_mean
from ov_eval.scoring.normalize import PROFILES

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ov_eval rescore", allow_abbrev=False,
                                     description="Score a run's logged samples again, without the model.")
    parser.add_argument("log_dir", type=Path, help="a run's model folder (its newest *_results.json) or a results file")
    parser.add_argument("--tasks", default=None, help="comma-separated tasks to rescore (default: every logged task)")
    parser.add_argument("--scoring_profile", default=None, choices=list(PROFILES),
                        help="scoring rules (default: the run's profile)")
    parser.add_argument("--judge_model", default=None, help="judge model for every judge task (default: the run's "
                        "--judge_model, else each task's YAML)")
    parser.add_argument("--judge_concurrency", type=int, default=8, help="judge requests in flight")
    parser.add_argument("--judge_prompts", default=None, metavar="PATH_OR_PACKAGE",
                        help="read the judge prompts from the reference harness's task files (an lmms-eval "
                             "checkout or installed package; default: ov_eval's paraphrases)")
    parser.add_argument("--judge_timeout", default=None,
                        help="seconds per judge HTTP request (default: $OV_EVAL_JUDGE_TIMEOUT, else 30)")
    parser.add_argument("--judge_tries", default=None,
                        help="HTTP tries per judge item, the first included (default: $OV_EVAL_JUDGE_TRIES, else 4)")
    parser.add_argument("--judge_price", default=None, metavar="in=X,out=Y",
                        help="judge price in USD per million prompt/completion tokens (default: the built-in "
                             "list price of the judge model, if known)")
    parser.add_argument("--judge_cache", type=Path, default=None,
                        help="verdict cache file (default: $OV_EVAL_JUDGE_CACHE, else ~/.cache/ov_eval)")
    parser.add_argument("--include_path", action="append", default=None,
                        help="extra folder of task YAMLs (default: the run's)")
    parser.add_argument("--bootstrap_iters", type=int, default=None,
                        help="bootstrap resamples for stderr and intervals (default: the run's, else 1000; 0 = off)")
    parser.add_argument("--verbosity", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    return parser


def find_results_file(path: Path) -> Path:
    """`path` itself when it is a file, else the newest *_results.json in the folder (or one level below)."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise OvEvalError(f"{path}: no such results file or folder")
    found = sorted(path.glob("*_results.json"))
    if not found:
        below = sorted(path.glob("*/*_results.json"))
        folders = sorted({p.parent for p in below})
        if len(folders) > 1:
            raise OvEvalError(f"{path}: results of several models ({', '.join(f.name for f in folders)}); "
                              "name one model folder or a results file")
        found = below
    if not found:
        raise OvEvalError(f"{path}: no *_results.json found")
    warn_if_newest_covers_less(found)
    return found[-1]  # names start with the date: the newest sorts last


def read_logged_samples(path: Path) -> list[dict[str, Any]]:
    return read_samples_file(path)


def response_from_record(task: str, record: dict[str, Any]) -> Any:
    from ov_eval.types import Response

    resps = record.get("resps") or [[]]
    text = resps[0][0] if resps and resps[0] else None
    return Response(key=str(record.get("key", "")), task=task, doc_id=int(record["doc_id"]), text=text,
                    input_tokens=int(record.get("input_tokens") or 0),
                    output_tokens=int(record.get("output_tokens") or 0),
                    image_tokens=int(record.get("image_tokens") or 0), error=record.get("error"),
                    reasoning=record.get("reasoning_content"))


def rescore(results_path: Path, *, tasks: list[str] | None = None, profile: str | None = None,
            judge: Any = None, include_path: list[str] | None = None, bootstrap_iters: int | None = None) -> Path:
    """Rescore the run of `results_path`; returns the new results file."""
    from ov_eval.registry import task_index
    from ov_eval.reporting.judge_usage import judge_usage
    from ov_eval.reporting.results import git_commit, group_entries, new_run_date, task_entry, \
        uncertainty_provenance, write_outputs
    from ov_eval.scoring.judge_step import JudgeSettings
    from ov_eval.scoring.score import score_task
    from ov_eval.scoring.uncertainty import BootstrapSettings
    from ov_eval.task import Task

    old = read_results_json(results_path)
    folder = results_path.parent
    old_date = results_path.name.removesuffix("_results.json")
    config = old.get("config") if isinstance(old.get("config"), dict) else {}
    profile = profile or old.get("scoring_profile") or config.get("scoring_profile") or "published"
    include_path = include_path if include_path is not None else list(config.get("include_path") or [])
    index = task_index(include_path)
    logged_tasks = list(old["results"])
    names = tasks or logged_tasks
    for name in names:
        if name not in logged_tasks:
            raise OvEvalError(f"--tasks: task '{name}' is not in {results_path.name}{did_you_mean(name, logged_tasks)}")
        if name not in index.tasks:
            raise OvEvalError(f"task '{name}' of {results_path.name} is not in the task registry"
                              f"{did_you_mean(name, index.tasks)} (add its folder with --include_path)")
    judge = judge or JudgeSettings(model=config.get("judge_model"))
    old_bootstrap = old.get("uncertainty") if isinstance(old.get("uncertainty"), dict) else {}
    bootstrap = BootstrapSettings(
        iters=bootstrap_iters if bootstrap_iters is not None else int(old_bootstrap.get("bootstrap_iters", 1000)),
        seed=int(old_bootstrap.get("bootstrap_seed", config.get("bootstrap_seed", 1234))))

    loaded, scores, generation = [], {}, {}
    for name in names:
        samples_path = folder / f"{old_date}_samples_{name}.jsonl"
        if not samples_path.is_file():
            raise OvEvalError(f"task '{name}': no logged samples {samples_path.name} beside {results_path.name} "
                              "(rescoring needs a run made with --log_samples)")
        records = read_logged_samples(samples_path)
        task = Task.load(index.tasks[name], profile=profile)
        responses = [response_from_record(name, r) for r in records]
        logged = {int(r["doc_id"]): r for r in records}
        generation[name] = (records[0]["arguments"].get("generation") if records else None) or \
            (old.get("provenance") or {}).get(name, {}).get("generation") or {}
        try:
            scores[name] = score_task(task, responses, generation[name], profile, predict_only=False, judge=judge,
                                      logged=logged, bootstrap=bootstrap,
                                      reasoning_tags=config.get("reasoning_tags") or ())
        except KeyError as exc:
            raise OvEvalError(f"task '{name}': the logged docs in {samples_path.name} lack the field {exc} that "
                              "scoring needs (it was not JSON-serialisable, or the task changed)") from None
        loaded.append(task)

    entries = {task.name: task_entry(task, scores[task.name]) for task in loaded}
    groups = index.scored_groups(config.get("tasks") or [])
    old_provenance = old.get("provenance") or {}
    old_counts = old.get("n-samples") or {}
    date = new_run_date(folder)
    results = dict(old)
    results.update({
        "results": entries,
        "groups": group_entries(groups, entries, scores),
        "configs": {task.name: task.config.model_dump() for task in loaded},
        "versions": {task.name: task.config.version for task in loaded},
        "n-samples": {task.name: {"original": (old_counts.get(task.name) or {}).get("original",
                                                                                  scores[task.name].n_samples),
                                  "effective": scores[task.name].n_samples} for task in loaded},
        "higher_is_better": {task.name: {m.key_name: m.higher_is_better for m in task.config.metrics}
                             for task in loaded},
        "config": config | {"scoring_profile": profile, "predict_only": False,
                            "judge_model": judge.model, "tasks": config.get("tasks") or names,
                            "judge_prompts": judge.reference_prompts.spec if judge.reference_prompts else None,
                            **dict(zip(("judge_timeout", "judge_tries"), judge.transport()))},
        "provenance": {task.name: _provenance(old_provenance.get(task.name) or {}, task, generation[task.name],
                                              scores[task.name].judge) for task in loaded},
        "scoring_profile": profile,
        "uncertainty": uncertainty_provenance(bootstrap, {task.name: task.cluster_column for task in loaded}),
        "ov_eval_version": ov_eval.__version__,
        "git_hash": git_commit(),
        "date": date,
        "rescored_from": {"results": results_path.name, "date": old.get("date", old_date)},
    })
    results.pop("judge_usage", None)  # the old run's; this rescoring's own replaces it
    usage = judge_usage(results["provenance"])
    if usage is not None:
        results["judge_usage"] = usage
    return write_outputs(folder, date, results, scores, log_samples=True)


def _provenance(old: dict[str, Any], task: Any, generation: dict[str, Any], judge: dict[str, Any] | None
                ) -> dict[str, Any]:
    entry = {k: v for k, v in old.items() if k != "judge"}  # dataset identity stays the run's
    entry.update(task_config_hash=task.hash, task_file=str(task.source_path), generation=generation)
    if judge is not None:
        entry["judge"] = judge
    return entry


def rescore_main(argv: list[str]) -> int:
    args, unknown = _parser().parse_known_args(argv)
    if unknown:
        raise OvEvalError(f"rescore: unknown argument '{unknown[0]}'")
    from ov_eval.cli import configure_logging

    level = configure_logging(args.verbosity)
    if args.bootstrap_iters is not None and args.bootstrap_iters < 0:
        raise OvEvalError(f"--bootstrap_iters: must be 0 or more, got {args.bootstrap_iters}")
    if args.judge_concurrency < 1:
        raise OvEvalError(f"--judge_concurrency: must be positive, got {args.judge_concurrency}")
    from ov_eval.judges.pricing import parse_judge_price
    from ov_eval.reporting.judge_usage import judge_usage_table
    from ov_eval.reporting.table import results_table
    from ov_eval.scoring.judge_step import JudgeSettings

    results_path = find_results_file(args.log_dir)
    config = read_results_json(results_path).get("config") or {}
    judge_prompts = None
    if args.judge_prompts is not None:
        from ov_eval.judges.reference_prompts import ReferencePrompts

        judge_prompts = ReferencePrompts(args.judge_prompts)
    judge = JudgeSettings(model=args.judge_model or config.get("judge_model"), concurrency=args.judge_concurrency,
                          cache_path=args.judge_cache, progress=level <= logging.INFO, timeout_s=args.judge_timeout,
                          max_tries=args.judge_tries, reference_prompts=judge_prompts,
                          price=parse_judge_price(args.judge_price) if args.judge_price else None)
    judge.transport()  # a bad --judge_timeout / --judge_tries (or environment value) fails before any work
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    path = rescore(results_path, tasks=tasks, profile=args.scoring_profile, judge=judge,
                   include_path=args.include_path, bootstrap_iters=args.bootstrap_iters)
    rescored = json.loads(path.read_text(encoding="utf-8"))
    print(results_table(rescored))
    if rescored.get("judge_usage"):
        print("\n" + judge_usage_table(rescored["judge_usage"]))
    print(f"\nRescored {results_path.name} with the '{rescored['scoring_profile']}' scoring profile; "
          f"results written to {path}\n")
    return 0
