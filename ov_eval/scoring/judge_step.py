"""The judge step of the scoring stage, between the filters and the metrics.

A task whose YAML has a `judge:` block runs its judge kinds in the listed order, as a chain (MathVerse:
extract, then judge the extraction). For each kind a JudgeStep says
  - `fields(ctx)`: the prompt fields of the sample's judge item, or None when this sample needs no judge
    for this kind (MathVista's quick extraction worked, MMBench's rules resolved the letter);
  - `prediction(ctx, verdict)`: the metric's input once the verdict is in (the extraction, the grade, the
    (reference, model) review pair...).
Steps are registered per judge kind (`register_judge_step`, see ov_eval/scoring/judged.py), or a task's
hooks file defines `judge_fields(kind, ctx)` and/or `judge_prediction(kind, ctx, verdict)`, which then take
precedence for that task (e.g. cross-sample items: `ctx.samples` holds every sample of the task).

A sample whose verdict cannot be obtained is a judge error: left out of the metrics (required judge) or left
to the rules and counted unresolved (`judge.required: false`, MMBench); never a zero averaged in.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ov_eval.errors import OvEvalError
from ov_eval.judges import JudgeFailure, JudgeItem, VerdictCache, default_cache_path
from ov_eval.judges import JudgePrompt, judge_all, judge_identity, judge_kind
from ov_eval.judges.pricing import JudgePrice, judge_cost
from ov_eval.openai_client import ChatClient, EndpointConfigError, check_endpoint_url
from ov_eval.retry import RetryPolicy

if TYPE_CHECKING:
    from ov_eval.judges.reference_prompts import ReferencePrompts
    from ov_eval.task import Task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JudgeSettings:
    """How the judge is asked during scoring (run-wide; the task's YAML gives its kinds and default model)."""

    model: str | None = None  # --judge_model: replaces every task's judge model
    concurrency: int = 8  # --judge_concurrency
    timeout_s: float | None = None  # --judge_timeout, else $OV_EVAL_JUDGE_TIMEOUT, else 30 s per HTTP request
    max_tries: int | None = None  # --judge_tries, else $OV_EVAL_JUDGE_TRIES, else 4 (tries x timeout ~ 2 min)
    cache_path: Path | None = None  # None: default_cache_path() ($OV_EVAL_JUDGE_CACHE, else ~/.cache/ov_eval)
    client: ChatClient | None = None  # None: a client from the environment (OPENAI_API_KEY / OPENAI_BASE_URL)
    env: Mapping[str, str] | None = None  # None: os.environ
    progress: bool = True
    progress_every_s: float = 30.0  # a log line (items done, errors) at this interval during a long judge step
    reference_prompts: ReferencePrompts | None = None  # --judge_prompts: the reference's texts, not paraphrases
    price: JudgePrice | None = None  # --judge_price; None: the built-in list price of the judge model, if known

    def prompt_for(self, task: str, kind: str) -> tuple[JudgePrompt, list[dict[str, str]] | None]:
        """The prompt a task's judge kind uses, and the texts read from the reference (None: the default)."""
        judge = judge_kind(kind)
        if self.reference_prompts is None:
            return judge.prompt, None
        resolved = self.reference_prompts.prompt(task, judge.prompt_name)
        return resolved.prompt, resolved.provenance()

    def resolved_cache_path(self) -> Path:
        return Path(self.cache_path) if self.cache_path is not None else default_cache_path(self.env)

    def transport(self) -> tuple[float, int]:
        """(per-request timeout in seconds, HTTP tries per item): flag, else environment, else default."""
        env = os.environ if self.env is None else self.env
        timeout = judge_number("--judge_timeout", self.timeout_s, env, "OV_EVAL_JUDGE_TIMEOUT", float,
                               DEFAULT_JUDGE_TIMEOUT_S)
        tries = judge_number("--judge_tries", self.max_tries, env, "OV_EVAL_JUDGE_TRIES", int, DEFAULT_JUDGE_TRIES)
        return timeout, tries

    def new_client(self) -> ChatClient:
        timeout, tries = self.transport()
        return ChatClient(env=self.env, timeout_s=timeout, retry=RetryPolicy(max_tries=tries, max_retry_after_s=timeout))


DEFAULT_JUDGE_TIMEOUT_S = 30.0
DEFAULT_JUDGE_TRIES = 4


def judge_number(flag: str, value: Any, env: Mapping[str, str], variable: str, kind: type, default: Any) -> Any:
    """A positive judge setting from its flag, else its environment variable, else the default."""
    source, raw = (flag, value) if value is not None else (variable, env.get(variable))
    if raw is None or raw == "":
        return default
    try:
        number = kind(raw)
    except (TypeError, ValueError):
        number = None
    if number is None or not number > 0 or number == float("inf"):
        raise OvEvalError(f"{source}: must be a positive {'integer' if kind is int else 'number'}, got '{raw}'")
    return number


def judge_endpoint_configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether the environment names a usable judge endpoint (a key; for Azure also endpoint and version)."""
    return ChatClient(env=os.environ if env is None else env).configured


def check_judge_endpoint(env: Mapping[str, str] | None = None) -> None:
    """A judge endpoint named in the environment must be an http(s) URL (checked before the model loads)."""
    client = ChatClient(env=os.environ if env is None else env)
    if client.base_url:
        check_endpoint_url(client.base_url, "AZURE_OPENAI_ENDPOINT" if client.api_type == "azure" else
                           "OPENAI_BASE_URL")


@dataclass
class JudgeContext:
    doc_id: int
    doc: dict[str, Any]
    response: str  # the filtered response
    profile: str
    samples: Mapping[int, tuple[dict[str, Any], str]]  # every judged sample of the task: doc_id -> (doc, response)
    verdicts: dict[str, Any] = field(default_factory=dict)  # earlier kinds of the chain -> parsed verdict
    prediction: Any = None  # the metric input so far (starts as the response)


class MetricInputs(dict):
    """A prediction that differs per metric: metric name (the YAML's `name`, else `metric`) -> its input;
    the entry "*" serves the metrics not named. E.g. ActivityNetQA's verdict feeds `pred` to the accuracy
    and `score` to the mean score."""


@dataclass(frozen=True)
class Excluded:
    """What a step's `fields` returns for a sample that must not be scored at all (not a judge error), e.g. the
    second row of a VideoChatGPT consistency pair, or a row without a partner."""

    reason: str


FieldsFn = Callable[[JudgeContext], "Mapping[str, str] | Excluded | None"]
PredictionFn = Callable[[JudgeContext, Any], Any]


def _verdict_as_prediction(ctx: JudgeContext, verdict: Any) -> Any:
    return verdict


@dataclass(frozen=True)
class JudgeStep:
    fields: FieldsFn
    prediction: PredictionFn = _verdict_as_prediction


JUDGE_STEPS: dict[str, JudgeStep] = {}


def register_judge_step(kind: str, prediction: PredictionFn | None = None) -> Callable[[FieldsFn], FieldsFn]:
    """Decorate a `fields(ctx)` function as the step of judge kind `kind`."""
    def wrap(fn: FieldsFn) -> FieldsFn:
        JUDGE_STEPS[kind] = JudgeStep(fn, prediction or _verdict_as_prediction)
        return fn
    return wrap


@dataclass
class SampleJudgement:
    prediction: Any = None  # the metric input; None: the filtered response (no verdict was needed)
    judged: bool = False  # at least one verdict was obtained
    error: str | None = None  # why a verdict could not be obtained
    excluded: str | None = None  # why the sample is not scored (Excluded), not an error
    record: dict[str, Any] = field(default_factory=dict)  # per kind: verdict, reply, cached (or the failure)


@dataclass
class TaskJudgement:
    samples: dict[int, SampleJudgement]
    n_judged: int
    n_judge_errors: int
    provenance: dict[str, Any]


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _step_functions(task: Task, kind: str) -> tuple[FieldsFn, PredictionFn]:
    hooks = task.hooks
    hook_fields = getattr(hooks, "judge_fields", None) if hooks else None
    hook_prediction = getattr(hooks, "judge_prediction", None) if hooks else None
    registered = JUDGE_STEPS.get(kind)
    if hook_fields is None and registered is None:
        raise OvEvalError(f"task '{task.name}': no judge step for kind '{kind}': register one with "
                          "ov_eval.scoring.judge_step.register_judge_step, or define judge_fields(kind, ctx) "
                          "in the task's hooks file")
    fields_fn = (lambda ctx: hook_fields(kind, ctx)) if hook_fields else registered.fields
    if hook_prediction is not None:
        prediction_fn: PredictionFn = lambda ctx, verdict: hook_prediction(kind, ctx, verdict)
    else:
        prediction_fn = registered.prediction if registered is not None else _verdict_as_prediction
    return fields_fn, prediction_fn


def judge_task(task: Task, samples: Mapping[int, tuple[dict[str, Any], str]], profile: str,
               settings: JudgeSettings) -> TaskJudgement | None:
    """Judge every sample (doc_id -> (doc, filtered response)) of a judge task; None when the task has no
    judge, or its judge is optional and no endpoint is configured (its rows then stay with the rules)."""
    spec = task.config.judge
    if spec is None:
        return None
    client = settings.client or settings.new_client()
    if not spec.required and not client.configured:
        log.info("task %s: no judge endpoint configured; rows the rules leave unresolved count as wrong",
                 task.name)
        return None
    model = settings.model or spec.model
    steps = [(kind, *_step_functions(task, kind)) for kind in spec.kind]
    contexts = {doc_id: JudgeContext(doc_id, doc, response, profile, samples, prediction=response)
                for doc_id, (doc, response) in samples.items()}
    outcomes: dict[int, SampleJudgement] = {doc_id: SampleJudgement() for doc_id in samples}
    totals = {"n_items": 0, "n_cache_hits": 0, "n_http_calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
    failures_by_reason: dict[str, int] = {}
    models = {kind: model for kind in spec.kind}
    chosen = {kind: settings.prompt_for(task.name, kind) for kind in spec.kind}
    prompts = {kind: prompt for kind, (prompt, _) in chosen.items()}
    versions = {kind: prompt.version for kind, prompt in prompts.items()}
    texts = {kind: used for kind, (_, used) in chosen.items() if used is not None}
    cache_path = settings.resolved_cache_path()
    identity, served_model = None, None
    try:
        identity, served_model = judge_identity(client, model)
        with VerdictCache(cache_path) as cache:
            for kind, fields_fn, prediction_fn in steps:
                items = {}
                for doc_id, ctx in contexts.items():
                    if outcomes[doc_id].error is not None or outcomes[doc_id].excluded is not None:
                        continue
                    fields = fields_fn(ctx)
                    if isinstance(fields, Excluded):
                        outcomes[doc_id].excluded = fields.reason
                        outcomes[doc_id].record[kind] = {"excluded": fields.reason}
                    elif fields is not None:
                        items[doc_id] = JudgeItem(f"{task.name}/{doc_id}/{kind}", kind,
                                                  {k: str(v) for k, v in fields.items()})
                if not items:
                    continue
                run = judge_all(list(items.values()), client=client, cache=cache, model=model,
                                concurrency=settings.concurrency, progress=settings.progress,
                                desc=f"judging {task.name} ({kind})", progress_every_s=settings.progress_every_s,
                                prompts={kind: prompts[kind]}, identity=identity)
                totals["n_items"] += len(items)
                totals["n_cache_hits"] += run.n_cache_hits
                totals["n_http_calls"] += run.n_http_calls
                totals["prompt_tokens"] += run.prompt_tokens
                totals["completion_tokens"] += run.completion_tokens
                for reason, count in run.failures_by_reason.items():
                    failures_by_reason[reason] = failures_by_reason.get(reason, 0) + count
                for doc_id, item in items.items():
                    outcome, ctx, judgement = run.outcomes[item.item_id], contexts[doc_id], outcomes[doc_id]
                    if isinstance(outcome, JudgeFailure):
                        judgement.error = f"{kind}: {outcome.reason}: {outcome.detail}"
                        judgement.record[kind] = {"error": outcome.reason, "detail": outcome.detail,
                                                  "tries": outcome.tries}
                        continue
                    ctx.verdicts[kind] = outcome.value
                    ctx.prediction = prediction_fn(ctx, outcome.value)
                    judgement.prediction = ctx.prediction
                    judgement.judged = True
                    judgement.record[kind] = {"verdict": _jsonable(outcome.value), "reply": outcome.reply,
                                              "cached": outcome.cached}
    except EndpointConfigError as exc:
        raise OvEvalError(f"task '{task.name}': a judge verdict it needs is not in the verdict cache {cache_path} "
                          f"and the judge cannot be called: {exc}") from None
    finally:
        if settings.client is None:
            client.close()
    n_errors = sum(o.error is not None for o in outcomes.values())
    n_excluded = sum(o.excluded is not None for o in outcomes.values())
    n_judged = sum(o.judged and o.error is None and o.excluded is None for o in outcomes.values())
    if n_errors:
        first = next(f"doc {d}: {o.error}" for d, o in outcomes.items() if o.error is not None)
        left = "left out of its metrics" if spec.required else "left to the rules (unresolved counts as wrong)"
        log.warning("task %s: %d sample(s) got no judge verdict and are %s, e.g. %s", task.name, n_errors, left,
                    first)
    provenance = {
        "judge_models": models,
        "judge_prompt_versions": versions,
        **({"judge_prompt_texts": texts, "judge_prompts_from": str(settings.reference_prompts.folder)}
           if texts and settings.reference_prompts is not None else {}),
        "required": spec.required,
        "n_judged": n_judged, "n_judge_errors": n_errors,
        "n_excluded": n_excluded,  # not scored by the task's rule (e.g. unpaired rows)
        "n_without_judge": len(samples) - n_judged - n_errors - n_excluded,  # settled by rules, no item needed
        "judge_failures_by_reason": failures_by_reason,
        "judge_endpoint": (client.base_url or "").rstrip("/") or "default",  # with the model: the judge's identity
        "judge_served_model": served_model,  # the id the endpoint's /models gives the judge model (None: not listed)
        "judge_cache_identity": identity or model,
        "judge_timeout_s": client.timeout_s, "judge_max_tries": client.retry.max_tries,
        **totals,
        "cost": judge_cost(model, settings.price, totals["prompt_tokens"], totals["completion_tokens"]),
    }
    return TaskJudgement(outcomes, n_judged, n_errors, provenance)
