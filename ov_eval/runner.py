"""Orchestration only: tasks -> requests -> generation (journaled) -> gather -> score -> write."""
from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ov_eval.disk import DiskFull
from ov_eval.distributed import DEFAULT_PROGRESS_INTERVAL_S, DEFAULT_TIMEOUT_S, ProcessLayout, ProgressLog
from ov_eval.errors import OvEvalError, RunInterrupted, TasksNotScored, did_you_mean
from ov_eval.generate import run_requests
from ov_eval.journal import Journal, journaled_responses, reuse_summary
from ov_eval.judges.reference_prompts import ReferencePrompts
from ov_eval.judges.pricing import JudgePrice
from ov_eval.models.base import adapter_class, parse_model_args
from ov_eval.models.sticky_pad import ordered_samples, sticky_pad_keys
from ov_eval.pipeline import SampleFailure
from ov_eval.registry import task_index
from ov_eval.run_folder import claim_output_folder
from ov_eval.reporting.submissions import write_submissions
from ov_eval.reporting.results import build_results, model_folder_name, new_run_date, write_outputs
from ov_eval.reporting.leaderboard import comparison_table
from ov_eval.reporting.judge_usage import judge_usage, judge_usage_table
from ov_eval.reporting.table import results_table
from ov_eval.scoring.judge_step import JudgeSettings, check_judge_endpoint, judge_endpoint_configured
from ov_eval.scoring.score import score_task_or_fault
from ov_eval.scoring.uncertainty import BootstrapSettings
from ov_eval.task import Task
from ov_eval.throughput import StageClock, TaskGeneration, run_throughput, task_throughput
from ov_eval.types import Request, Response

log = logging.getLogger(__name__)


@dataclass
class RunConfig:
    model: str
    model_args: str
    tasks: list[str]
    batch_size: int = 1
    limit: int | float | None = None
    log_samples: bool = False
    log_samples_suffix: str = "model_outputs"
    output_path: str = "./logs"
    gen_kwargs: dict[str, Any] = field(default_factory=dict)
    predict_only: bool = False
    seed: list[int] = field(default_factory=lambda: [0, 1234, 1234])
    include_path: list[str] = field(default_factory=list)
    dataset_overrides: dict[str, str] = field(default_factory=dict)
    scoring_profile: str = "published"
    workers: int = 2
    judge_model: str | None = None  # replaces every judge task's judge model
    judge_concurrency: int = 8
    dist_timeout: float = DEFAULT_TIMEOUT_S  # seconds a rank waits for the others at the gather
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL_S  # seconds between each rank's progress lines
    judge_timeout: float | None = None  # seconds per judge HTTP request (None: $OV_EVAL_JUDGE_TIMEOUT, else 30)
    judge_tries: int | None = None  # HTTP tries per judge item (None: $OV_EVAL_JUDGE_TRIES, else 4)
    bootstrap_iters: int = 1000  # resamples for stderr and intervals of non-mean metrics (0 = off)
    run_name: str | None = None  # default: the model folder + the date
    judge_prompts: str | None = None  # the reference's lmms_eval folder or package: its judge texts, not paraphrases
    reasoning_tags: list[list[str]] = field(default_factory=list)  # (opening, closing) pairs, e.g. <think>
    judge_price: JudgePrice | None = None  # --judge_price (USD per million tokens); None: the list price, if known
    wandb_args: dict[str, Any] | None = None  # --wandb_args: wandb.init's arguments (None: no tracker)
    arguments: dict[str, Any] = field(default_factory=dict)  # every flag as resolved (run file + command line)
    working_directory: str | None = None  # where relative paths were resolved (rerun goes back there)


def _seed_everything(seeds: list[int]) -> None:
    random.seed(seeds[0])
    np.random.seed(seeds[1 % len(seeds)])
    torch.manual_seed(seeds[2 % len(seeds)])


def _load_tasks(config: RunConfig) -> tuple[list[Task], dict[str, list[str]]]:
    index = task_index(config.include_path)
    names = index.expand(config.tasks)
    for name in config.dataset_overrides:
        if name not in names:
            raise OvEvalError(f"--dataset_override: task '{name}' is not among the tasks of this run"
                              f"{did_you_mean(name, names)}")
    tasks = [Task.load(index.tasks[name], config.dataset_overrides.get(name), config.scoring_profile)
             for name in names]
    judge_available = judge_endpoint_configured()
    if judge_available and not config.predict_only and any(task.config.judge for task in tasks):
        check_judge_endpoint()
    for task in tasks:  # fail before the model loads: bad dataset paths, judge tasks without a judge
        task.check_scorable(config.predict_only, judge_available)
        task.check_columns()
    return tasks, index.scored_groups(config.tasks)


def _task_requests(task: Task, config: RunConfig, adapter: Any,
                   layout: ProcessLayout) -> tuple[list[Request], list[Response]]:
    """This rank's requests of a task, and an error response for each document that cannot become one."""
    generation = task.generation(config.gen_kwargs)
    requests, unusable = [], []
    for doc_id in layout.shard(task.doc_ids(config.limit)):
        try:
            requests.append(task.request(doc_id, generation, adapter.identity))
        except SampleFailure as failure:  # e.g. a prompt field that is not text: that sample's error
            unusable.append(Response(f"{task.name}:{doc_id}", task.name, doc_id, None, error=str(failure)))
    return requests, unusable


def _sticky_pad_keys(tasks: list[Task], config: RunConfig, adapter: Any, layout: ProcessLayout) -> set[str]:
    """The single-image requests of this rank that the release-era adapter encodes as pad (with sticky_pad=true;
    none otherwise), decided from the whole run's requests before any is generated."""
    if not getattr(adapter, "sticky_pad", False):
        return set()
    samples = [s for task in tasks for s in ordered_samples(_task_requests(task, config, adapter, layout)[0])]
    return sticky_pad_keys(samples, adapter.context_tokens)


def _generate_task(task: Task, config: RunConfig, adapter: Any, layout: ProcessLayout, journal: Journal,
                   finished: dict[str, Response], pad_keys: set[str], progress: ProgressLog,
                   clock: StageClock) -> tuple[list[Response], TaskGeneration]:
    requests, unusable = _task_requests(task, config, adapter, layout)
    requests = [r.with_pad_images() if r.key in pad_keys else r for r in requests]
    todo = [r for r in requests if r.key not in finished]
    unreused = journal.unreused(todo)
    if unreused:  # journaled answers exist for these documents, made otherwise: never regenerate silently
        log.warning("task %s: %s", task.name, reuse_summary(requests, len(requests) - len(todo), unreused))
    elif len(todo) < len(requests):
        log.info("task %s: %d of %d samples taken from the journal", task.name, len(requests) - len(todo),
                 len(requests))
    facets = {r.key: r.facets for r in todo}
    fresh: dict[str, Response] = {}
    progress.start_task(task.name, len(requests), len(requests) - len(todo))
    start = time.perf_counter()
    with tqdm(total=len(requests), initial=len(requests) - len(todo), desc=task.name, unit="sample",
              disable=not layout.is_main, dynamic_ncols=True) as bar:
        for response in run_requests(adapter, todo, config.batch_size, config.workers, clock=clock):
            if response.error is None:
                journal.append(response, facets.get(response.key))
            fresh[response.key] = response
            bar.update()
            progress.advance()
    generation = TaskGeneration(time.perf_counter() - start, list(fresh.values()), len(requests) - len(todo))
    return [finished.get(r.key) or fresh[r.key] for r in requests] + unusable, generation


def evaluate(config: RunConfig) -> dict[str, Any] | None:
    """Run the evaluation; rank 0 returns the results (other ranks None). Ctrl-C raises RunInterrupted."""
    started = time.perf_counter()
    layout = ProcessLayout.from_environment(config.dist_timeout, config.progress_interval)
    tasks, groups = _load_tasks(config)
    judge_prompts = None
    if config.judge_prompts is not None:  # every text read now: a missing one fails before the model loads
        judge_prompts = ReferencePrompts(config.judge_prompts)
        judge_prompts.check((task.name, task.config.judge.kind) for task in tasks if task.config.judge)
    _seed_everything(config.seed)
    model_args = parse_model_args(config.model_args)
    out_dir = Path(config.output_path) / model_folder_name(config.model, model_args)
    try:
        with claim_output_folder(out_dir, config.output_path, hold_lock=layout.is_main):
            journal = Journal(out_dir / ".journal", layout.rank)
            try:
                return _evaluate_in(out_dir, journal, config, layout, tasks, groups, model_args, started,
                                    judge_prompts)
            finally:
                journal.close()
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (the CLI turns it into a KeyboardInterrupt)
        raise RunInterrupted(journaled_responses(out_dir / ".journal"), getattr(stop, "exit_status", 130)) from None
    except DiskFull as full:
        raise OvEvalError(f"{full} ({journaled_responses(out_dir / '.journal')} samples journaled; free space and "
                          "run again)") from None


def _evaluate_in(out_dir: Path, journal: Journal, config: RunConfig, layout: ProcessLayout, tasks: list[Task],
                 groups: dict[str, list[str]], model_args: dict[str, str], started: float,
                 judge_prompts: ReferencePrompts | None = None) -> dict[str, Any] | None:
    adapter = adapter_class(config.model)(model_args, batch_size=config.batch_size, device=layout.device)
    finished = journal.load()
    pad_keys = _sticky_pad_keys(tasks, config, adapter, layout)
    clock = StageClock()
    with ProgressLog(layout) as progress:
        local = {task.name: _generate_task(task, config, adapter, layout, journal, finished, pad_keys, progress,
                                           clock) for task in tasks}
    journal.close()
    gathered = layout.gather((local, clock.seconds["media_preparation_s"]))
    if not layout.is_main:
        return None
    throughput = {task.name: task_throughput([rank[0][task.name][1] for rank in gathered]) for task in tasks}
    clock = StageClock()
    clock.add("media_preparation_s", sum(rank[1] for rank in gathered))
    clock.add("generation_s", sum(entry["generation_s"] for entry in throughput.values()))
    scores, generation = {}, {}
    judge = JudgeSettings(model=config.judge_model, concurrency=config.judge_concurrency,
                          timeout_s=config.judge_timeout, max_tries=config.judge_tries,
                          reference_prompts=judge_prompts, price=config.judge_price)
    bootstrap = BootstrapSettings(iters=config.bootstrap_iters, seed=config.seed[1 % len(config.seed)])
    for task in tasks:
        responses = [r for rank in gathered for r in rank[0][task.name][0]]
        generation[task.name] = task.generation(config.gen_kwargs).to_dict()
        judging_before, start = clock.seconds["judging_s"], time.perf_counter()
        scores[task.name] = score_task_or_fault(task, responses, generation[task.name], config.scoring_profile,
                                                config.predict_only, judge, bootstrap=bootstrap, clock=clock,
                                                reasoning_tags=config.reasoning_tags)
        clock.add("scoring_s", time.perf_counter() - start - (clock.seconds["judging_s"] - judging_before))
    date = new_run_date(out_dir)
    run_name = config.run_name or f"{out_dir.name}_{date}"
    run_config = asdict(config) | {"num_processes": layout.world_size, "model_args": model_args,
                                   "run_name": run_name}
    results = build_results(tasks, scores, groups, generation, run_config, adapter.describe(), date, bootstrap,
                            throughput)
    results["throughput"] = run_throughput(time.perf_counter() - started, clock.seconds, throughput)
    usage = judge_usage(results["provenance"])
    if usage is not None:
        results["judge_usage"] = usage
    path = write_outputs(out_dir, date, results, scores, config.log_samples)
    for task in tasks:
        for submission in write_submissions(Path(config.output_path), task.name, scores[task.name].samples,
                                            config.scoring_profile):
            print(f"Submission file for {task.name}: {submission}")
    print(results_table(results))
    if usage is not None:
        print("\n" + judge_usage_table(usage))
    print(f"\nResults written to {path}\n")
    if config.wandb_args is not None:
        from ov_eval.reporting.wandb_logger import log_run

        log_run(results, {name: s.samples for name, s in scores.items()}, config.wandb_args)
    print(comparison_table(path))
    faults = {name: s.scoring_error for name, s in scores.items() if s.scoring_error is not None}
    if faults:  # after every other task's results are written
        raise TasksNotScored(faults, str(path))
    return results
