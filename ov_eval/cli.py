"""Command line: the reference harness's flags (`python -m ov_eval --model ... --tasks ...`) and subcommands."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ov_eval.disk import DiskFull
from ov_eval.errors import OvEvalError, RunInterrupted, TasksNotScored, Terminated, did_you_mean

# name -> (one line for --help, "module:function" taking the remaining argv); main() dispatches from here
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "rescore": ("score a run's logged samples again, without the model (other profile or judge)",
                "ov_eval.rescore:rescore_main"),
    "leaderboard": ("compare runs' headline metrics with the published scores (md, csv or html)",
                    "ov_eval.reporting.leaderboard:leaderboard_main"),
    "submit": ("regenerate the submission files (mmmu_test, egoschema) from a run's logged samples",
               "ov_eval.cli:run_submit"),
    "compare": ("compare two runs task by task: paired intervals, p-values, flipped samples",
                "ov_eval.reporting.compare:compare_main"),
    "browse": ("one self-contained HTML page to read a run's samples (optionally against another run)",
               "ov_eval.reporting.browse:browse_main"),
    "journal": ("list what a run folder's journal holds per task and configuration; --prune removes unusable answers",
                "ov_eval.journal_report:journal_main"),
    "prepare": ("download and prepare tasks' datasets and videos for offline runs; prints sizes, checks offline",
                "ov_eval.prepare:prepare_main"),
    "rerun": ("repeat a run exactly from its results file (answers from the journal where it has them)",
              "ov_eval.cli:run_rerun"),
    "tiny-checkpoint": ("write a tiny random-weight OneVision checkpoint for experiments and tests",
                        "ov_eval.cli:run_tiny_checkpoint"),
}


def _subcommands_help() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    lines = [f"  {name:<{width}}  {summary}" for name, (summary, _) in SUBCOMMANDS.items()]
    return "subcommands (python -m ov_eval NAME --help):\n" + "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """argparse's own errors (a missing value, a bad choice) as one `ov_eval: error:` line, no usage block."""

    def error(self, message: str):  # type: ignore[override]
        raise OvEvalError(message)


def _eval_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ov_eval", allow_abbrev=False, epilog=_subcommands_help(),
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description="Evaluate LLaVA-OneVision models (reference-compatible flags).")
    parser.add_argument("--model", default="llava_onevision", help="model adapter name, or package.module:Class")
    parser.add_argument("--model_args", default="", help="k=v,k=v, e.g. pretrained=DIR,conv_template=qwen_1_5")
    parser.add_argument("--tasks", default=None, help="comma-separated tasks or groups; `list` lists them")
    parser.add_argument("--batch_size", default="1", help="samples per model call")
    parser.add_argument("--limit", default=None, help="first N documents of each task, or a share in (0, 1)")
    parser.add_argument("--log_samples", action="store_true", help="write samples_<task>.jsonl")
    parser.add_argument("--log_samples_suffix", default="model_outputs", help="recorded with the run")
    parser.add_argument("--output_path", default="./logs", help="output folder (results, samples, journal)")
    parser.add_argument("--gen_kwargs", default="", help="k=v,k=v overriding the tasks' generation settings")
    parser.add_argument("--predict_only", action="store_true", help="generate and log, do not score")
    parser.add_argument("--seed", default="0,1234,1234", help="python,numpy,torch seeds (one value sets all)")
    parser.add_argument("--include_path", action="append", default=[], help="extra folder of task YAMLs")
    parser.add_argument("--verbosity", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument("--dataset_override", action="append", default=[], metavar="TASK=PATH",
                        help="replace a task's dataset by a local parquet file/folder or saved dataset")
    parser.add_argument("--scoring_profile", default="published", choices=["published", "corrected"],
                        help="scoring rules: as published (default) or with the reference's later fixes")
    parser.add_argument("--workers", default="2", help="media/preprocessing workers (0 = inline)")
    parser.add_argument("--judge_model", default=None,
                        help="LLM judge model for every judge task (default: each task's YAML)")
    parser.add_argument("--judge_concurrency", default="8", help="judge requests in flight (default 8)")
    parser.add_argument("--judge_prompts", default=None, metavar="PATH_OR_PACKAGE",
                        help="read the judge prompts from the reference harness's task files (an lmms-eval "
                             "checkout or installed package) instead of ov_eval's paraphrases")
    parser.add_argument("--dist_timeout", default=os.environ.get("OV_EVAL_DIST_TIMEOUT", "1800"), metavar="SECONDS",
                        help="how long a rank waits for the others at the gather, and the process group's "
                             "timeout (default 1800, or $OV_EVAL_DIST_TIMEOUT)")
    parser.add_argument("--progress_interval", default=os.environ.get("OV_EVAL_PROGRESS_INTERVAL", "60"),
                        metavar="SECONDS", help="seconds between each rank's progress line in the log "
                                            "(default 60, or $OV_EVAL_PROGRESS_INTERVAL)")
    parser.add_argument("--judge_timeout", default=None, help="seconds per judge HTTP request (default: "
                        "$OV_EVAL_JUDGE_TIMEOUT, else 30)")
    parser.add_argument("--judge_tries", default=None, help="HTTP tries per judge item, the first included "
                        "(default: $OV_EVAL_JUDGE_TRIES, else 4)")
    parser.add_argument("--bootstrap_iters", default="1000",
                        help="bootstrap resamples for metric stderr and 95%% intervals (default 1000; 0 = off)")
    parser.add_argument("--run_name", default=None,
                        help="the run's name in tables and leaderboards (default: model folder + date)")
    # --- issue 23 (thinking models, judge cost, run files, trackers) ---
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="a run file (YAML: any of these flags, optionally several `runs`) or a results file "
                             "to repeat; flags given here override it")
    parser.add_argument("--reasoning_tags", default=None, metavar="OPEN,CLOSE[;OPEN,CLOSE]",
                        help="take a thinking model's reasoning (e.g. '<think>,</think>') out of its answers "
                             "before filters and metrics; unclosed reasoning is unresolved")
    parser.add_argument("--judge_price", default=None, metavar="in=X,out=Y",
                        help="judge price in USD per million prompt/completion tokens, for the cost estimate "
                             "(default: the built-in list price of the judge model, if known)")
    parser.add_argument("--wandb_args", default=None, metavar="project=P,name=N,...",
                        help="log config, metrics with intervals, throughput and samples to Weights & Biases "
                             "(pip install 'ov_eval[wandb]')")
    parser.add_argument("--list-vocabulary", action="store_true",
                        help="list the filters, target transforms, metrics and aggregations a task YAML can name")
    return parser


def _judge_transport(args: argparse.Namespace) -> dict[str, Any]:
    """The judge's timeout and tries as the run will use them (flag, else environment, else default)."""
    from ov_eval.scoring.judge_step import JudgeSettings

    timeout, tries = JudgeSettings(timeout_s=args.judge_timeout, max_tries=args.judge_tries).transport()
    return {"judge_timeout": timeout, "judge_tries": tries}


def _tiny_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ov_eval tiny-checkpoint", allow_abbrev=False,
                                     description="Write a tiny random-weight OneVision checkpoint.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=["hf", "original"], default="hf",
                        help="transformers (llava-hf) layout, or the original lmms-lab layout")
    parser.add_argument("--tower_cache", action="store_true",
                        help="with --format original: also write the SigLIP tower its config names into the "
                             "Hugging Face hub cache (under HF_HOME), so the original LLaVA-NeXT code loads it "
                             "offline (ov_eval itself does not need it)")
    return parser


def _parse_known(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        flag = unknown[0].split("=", 1)[0]
        hint = did_you_mean(flag, [o for a in parser._actions for o in a.option_strings])
        raise OvEvalError(f"unknown flag '{flag}'{hint}")
    return args


def _integer(flag: str, text: str, minimum: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise OvEvalError(f"{flag}: '{text}' is not an integer") from None
    if value < minimum:
        raise OvEvalError(f"{flag}: must be {'positive' if minimum == 1 else f'at least {minimum}'}, got {text}")
    return value


def _seconds(flag: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise OvEvalError(f"{flag}: '{text}' is not a float") from None
    if not value > 0:
        raise OvEvalError(f"{flag}: must be positive, got {text}")
    return value


def _bootstrap_iters(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise OvEvalError(f"--bootstrap_iters: '{text}' is not an int") from None
    if value < 0:
        raise OvEvalError(f"--bootstrap_iters: must be 0 (off) or more, got {text}")
    return value


def _limit(text: str | None) -> int | float | None:
    """A count (a positive integer) or a share of each task's documents (strictly between 0 and 1)."""
    if text is None:
        return None
    try:
        return _integer("--limit", text)
    except OvEvalError:
        pass
    try:
        share = float(text)
    except ValueError:
        share = None
    if share is None or not 0 < share < 1:
        raise OvEvalError(f"--limit: '{text}' is neither a positive whole number of documents nor a share "
                          "between 0 and 1")
    return share


def _seeds(text: str) -> list[int]:
    """One seed for python, numpy and torch, or three; numpy accepts 0 to 2**32 - 1."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (1, 3):
        raise OvEvalError(f"--seed: '{text}' must be one integer or three (python,numpy,torch)")
    seeds = [_integer("--seed", p, minimum=0) for p in parts]
    if any(seed >= 2**32 for seed in seeds):
        raise OvEvalError(f"--seed: '{text}': each seed must be below 2**32")
    return seeds


def _key_values(flag: str, text: str) -> dict[str, Any]:
    import yaml

    values: dict[str, Any] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = pair.partition("=")
        if not sep:
            raise OvEvalError(f"{flag}: '{pair}' is not of the form key=value")
        values[key.strip()] = yaml.safe_load(raw)
    return values


def _overrides(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        task, sep, path = item.partition("=")
        if not sep or not task or not path:
            raise OvEvalError(f"--dataset_override: '{item}' is not of the form TASK=PATH")
        out[task] = path
    return out


def _gen_kwargs(text: str) -> dict[str, Any]:
    from ov_eval.types import GenerationSettings

    values = _key_values("--gen_kwargs", text)
    known = GenerationSettings.__dataclass_fields__
    for key in values:
        if key not in known:
            raise OvEvalError(f"--gen_kwargs: unknown setting '{key}'{did_you_mean(key, known)}")
    try:
        GenerationSettings.from_values(values)
    except ValueError as exc:
        raise OvEvalError(f"--gen_kwargs: {exc}") from None
    return values


def _modern_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The checked values of the flags of issue 23 (kept together so they merge as one block)."""
    from ov_eval.judges.pricing import parse_judge_price

    from ov_eval.reporting.wandb_logger import parse_wandb_args
    from ov_eval.scoring.reasoning import parse_reasoning_tags

    return {"judge_price": parse_judge_price(args.judge_price) if args.judge_price else None,
            "reasoning_tags": parse_reasoning_tags(args.reasoning_tags) if args.reasoning_tags is not None else [],
            "wandb_args": parse_wandb_args(args.wandb_args) if args.wandb_args else None}


def _run_record(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """Every flag's resolved value and the working directory, recorded so that `rerun` can repeat the run."""
    from ov_eval.run_file import resolved_arguments

    return {"arguments": resolved_arguments(args, parser), "working_directory": os.getcwd()}


def configure_logging(verbosity: str) -> int:
    """The log level of --verbosity (an unknown one is an error); returns it."""
    level = getattr(logging, verbosity.upper(), None)
    if not isinstance(level, int):
        raise OvEvalError(f"--verbosity: '{verbosity}' is not one of DEBUG, INFO, WARNING, ERROR")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level > logging.DEBUG:  # library progress bars and chatter would drown the run's own
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per judge or served-model request
        import datasets
        import transformers

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        transformers.logging.set_verbosity_error()
    return level


def run_eval(argv: list[str]) -> int:
    parser = _eval_parser()
    args = _parse_known(parser, argv)
    if args.config is None:
        return _run_parsed(args, parser)
    from ov_eval.run_file import enter_working_directory, read_run_file, resolve

    runs = read_run_file(Path(args.config), parser)
    for values in runs:  # a sweep runs one after another; the first failure stops it
        enter_working_directory(values)
        _run_parsed(resolve(parser, argv, values), parser)
    return 0


def _rerun_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ov_eval rerun", allow_abbrev=False,
                     description="Repeat a run exactly from its results file, in its working directory: answers "
                                 "from the run's journal where it has them, generated again where not.",
                     epilog="Any flag of the evaluation (python -m ov_eval --help) after the file overrides the "
                            "recorded value.")
    parser.add_argument("results", help="a *_results.json written by ov_eval")
    return parser


def run_rerun(argv: list[str]) -> int:
    """`ov_eval rerun RESULTS.json [flags]`: the recorded run again, in its working directory."""
    if argv and argv[0].startswith("-"):
        _rerun_parser().parse_args(argv[:1])  # --help (or a flag before the file: an error)
    if not argv or argv[0].startswith("-"):
        raise OvEvalError("rerun: give the results file of the run to repeat (ov_eval rerun RESULTS.json [flags])")
    if Path(argv[0]).suffix != ".json":
        raise OvEvalError(f"rerun: {argv[0]} is not a results file (*_results.json)")
    return run_eval(["--config", str(Path(argv[0]).resolve()), *argv[1:]])


def _run_parsed(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.list_vocabulary:
        from ov_eval.scoring.vocabulary import vocabulary_table

        print(vocabulary_table())
        return 0
    checked = {} if args.tasks in (None, "", "list") else dict(  # every flag checked before anything heavy loads
        batch_size=_integer("--batch_size", args.batch_size), limit=_limit(args.limit),
        gen_kwargs=_gen_kwargs(args.gen_kwargs), seed=_seeds(args.seed),
        dataset_overrides=_overrides(args.dataset_override), workers=_integer("--workers", args.workers, minimum=0),
        judge_concurrency=_integer("--judge_concurrency", args.judge_concurrency),
        dist_timeout=_seconds("--dist_timeout", args.dist_timeout),
        progress_interval=_seconds("--progress_interval", args.progress_interval),
        bootstrap_iters=_bootstrap_iters(args.bootstrap_iters), **_modern_flags(args))
    configure_logging(args.verbosity)
    from ov_eval.registry import task_index

    if args.tasks in (None, "", "list"):
        if args.tasks is None:
            raise OvEvalError("--tasks is required (`--tasks list` shows every task and group)")
        print(task_index(args.include_path).listing())
        return 0
    from ov_eval.runner import RunConfig, evaluate

    config = RunConfig(
        model=args.model, model_args=args.model_args, tasks=[t.strip() for t in args.tasks.split(",") if t.strip()],
        log_samples=args.log_samples, log_samples_suffix=args.log_samples_suffix, output_path=args.output_path,
        predict_only=args.predict_only, include_path=args.include_path, scoring_profile=args.scoring_profile,
        judge_model=args.judge_model, run_name=args.run_name, judge_prompts=args.judge_prompts, **checked,
        **_judge_transport(args), **_run_record(args, parser))
    evaluate(config)
    return 0


def run_tiny_checkpoint(argv: list[str]) -> int:
    args = _parse_known(_tiny_parser(), argv)
    if args.tower_cache and args.format != "original":
        raise OvEvalError("--tower_cache: only with --format original (an hf checkpoint holds its tower)")
    from ov_eval.models.tiny import TINY_TOWER_ID, write_tiny_checkpoint, write_tower_cache

    path = write_tiny_checkpoint(args.out_dir, seed=args.seed, format=args.format)
    print(f"tiny OneVision checkpoint ({args.format} format, random weights, seed {args.seed}) written to {path}")
    if args.tower_cache:
        print(f"vision tower {TINY_TOWER_ID} written to the hub cache: {write_tower_cache(args.seed)}")
    return 0


def _submit_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ov_eval submit", allow_abbrev=False,
                                     description="Regenerate leaderboard submission files from a logged run.")
    parser.add_argument("run_dir", type=Path, help="the run folder: {output_path}/{model}")
    parser.add_argument("--task", action="append", default=[], help="mmmu_test, egoschema, ... (default: all)")
    parser.add_argument("--output_path", type=Path, default=None,
                        help="write under OUTPUT_PATH/submissions/ (default: the run's own output path)")
    return parser


def run_submit(argv: list[str]) -> int:
    args = _parse_known(_submit_parser(), argv)
    from ov_eval.reporting.submissions import submissions_from_log

    for path in submissions_from_log(args.run_dir, args.output_path, args.task or None):
        print(path)
    return 0


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            module, _, function = SUBCOMMANDS[argv[0]][1].partition(":")
            return getattr(importlib.import_module(module), function)(argv[1:])
        return run_eval(argv)
    except OvEvalError as exc:
        print(f"ov_eval: error: {exc}", file=sys.stderr)
        return 2
    except DiskFull as exc:  # outside a run (submit): the run itself adds what is journaled
        print(f"ov_eval: error: {exc}", file=sys.stderr)
        return 2
    except RunInterrupted as exc:
        print(exc, file=sys.stderr)
        return exc.exit_status
    except TasksNotScored as exc:
        for line in exc.lines:
            print(f"ov_eval: error: {line}", file=sys.stderr)
        print(f"ov_eval: the other tasks' results are in {exc.results_path}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        print("interrupted", file=sys.stderr)
        return getattr(exc, "exit_status", 130)
