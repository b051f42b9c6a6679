"""The judge stage: items -> verdicts or failures, cache first, judge calls in a bounded thread pool.

A failure is data (JudgeFailure with its reason), never a zero: the scorer leaves it out of the metric and
reports the count. An unparsable verdict is asked again with a fresh call (the cache is bypassed) before it
becomes a failure; only replies that parse are cached.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Mapping, Union

from tqdm.auto import tqdm

from ov_eval.judges.cache import VerdictCache, cache_key
from ov_eval.openai_client import ChatClient, ChatError, TransportReason
from ov_eval.judges.prompts import JudgeInputError, JudgeKind, JudgePrompt, judge_kind
from ov_eval.judges.verdicts import VerdictParseError

log = logging.getLogger(__name__)

FailureReason = Union[TransportReason, Literal["unparsable_verdict"]]


@dataclass(frozen=True)
class JudgeItem:
    item_id: str
    kind: str
    fields: Mapping[str, str]


@dataclass(frozen=True)
class Verdict:
    item_id: str
    kind: str
    value: Any  # what the kind's parser returned
    reply: str  # the judge's raw reply, for the samples log
    cached: bool


@dataclass(frozen=True)
class JudgeFailure:
    item_id: str
    kind: str
    reason: FailureReason
    detail: str
    tries: int  # HTTP calls spent on the item


Outcome = Union[Verdict, JudgeFailure]


@dataclass
class JudgeRun:
    outcomes: dict[str, Outcome]  # by item id, in input order
    models: dict[str, str]  # judge kind -> judge model
    prompt_versions: dict[str, str]  # judge kind -> prompt version
    n_judged: int = 0
    n_judge_errors: int = 0
    n_cache_hits: int = 0
    n_http_calls: int = 0
    prompt_tokens: int = 0  # as the server's `usage` counts them, over every reply (unparsable ones too)
    completion_tokens: int = 0
    failures_by_reason: dict[str, int] = field(default_factory=dict)

    def failures(self) -> list[JudgeFailure]:
        return [o for o in self.outcomes.values() if isinstance(o, JudgeFailure)]

    def provenance(self) -> dict[str, Any]:
        """What a results file records about the judge stage."""
        return {"judge_models": dict(self.models), "judge_prompt_versions": dict(self.prompt_versions),
                "n_judged": self.n_judged, "n_judge_errors": self.n_judge_errors,
                "n_cache_hits": self.n_cache_hits, "n_http_calls": self.n_http_calls,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "judge_failures_by_reason": dict(self.failures_by_reason)}


@dataclass(frozen=True)
class _Job:
    item: JudgeItem
    kind: JudgeKind
    prompt: JudgePrompt
    model: str
    messages: list[dict[str, str]]
    key: str


def judge_all(items: Iterable[JudgeItem | tuple[str, str, Mapping[str, str]]], *,
              client: ChatClient | None = None, cache: VerdictCache | None = None, model: str | None = None,
              concurrency: int = 8, verdict_tries: int = 3, progress: bool = True,
              desc: str = "judging", progress_every_s: float = 30.0,
              prompts: Mapping[str, JudgePrompt] | None = None, identity: str | None = None) -> JudgeRun:
    """Judge every item. `model` None uses each prompt's reference model; `client` None reads the environment;
    `prompts` replaces the prompt of the judge kinds it names (e.g. the reference's own texts). `identity` (see
    judge_identity) replaces the model name in the cache key: a local server's verdicts are then never taken
    for a hosted model's of the same name.

    A step that runs longer than `progress_every_s` logs a line (items done, errors so far) at that interval,
    so a slow or hanging judge shows in the log and not only on a progress bar.

    Raises JudgeInputError (bad item) before any call, and EndpointConfigError (no credentials) at the first
    cache miss; every other failure of an item is returned as a JudgeFailure.
    """
    if concurrency < 1 or verdict_tries < 1:
        raise ValueError(f"concurrency and verdict_tries must be at least 1, got {concurrency}, {verdict_tries}")
    jobs = _prepare([i if isinstance(i, JudgeItem) else JudgeItem(*i) for i in items], model, prompts or {},
                    identity)
    run = JudgeRun(outcomes={}, models={j.kind.name: j.model for j in jobs},
                   prompt_versions={j.kind.name: j.prompt.version for j in jobs})
    own_client = client is None
    client = ChatClient() if client is None else client
    results: dict[str, tuple[Outcome, _Usage]] = {}
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="judge")
    try:
        with tqdm(total=len(jobs), desc=desc, unit="item", disable=not progress) as bar:
            pending = {pool.submit(_judge_one, job, client, cache, verdict_tries) for job in jobs}
            errors, last_report, reported = 0, time.monotonic(), False
            while pending:
                done, pending = wait(pending, timeout=progress_every_s, return_when=FIRST_COMPLETED)
                for future in done:
                    outcome, usage = future.result()  # raises a worker's unexpected error (e.g. no credentials)
                    results[outcome.item_id] = (outcome, usage)
                    errors += isinstance(outcome, JudgeFailure)
                    bar.update(1)
                    bar.set_postfix(errors=errors, refresh=False)
                if time.monotonic() - last_report >= progress_every_s or (reported and not pending):
                    log.info("%s: %d of %d items done, %d errors so far", desc, len(results), len(jobs), errors)
                    last_report, reported = time.monotonic(), True
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on an error or Ctrl-C, start no further judge calls
        if own_client:
            client.close()
    for job in jobs:
        outcome, usage = results[job.item.item_id]
        run.outcomes[job.item.item_id] = outcome
        run.n_http_calls += usage.calls
        run.prompt_tokens += usage.prompt_tokens
        run.completion_tokens += usage.completion_tokens
        if isinstance(outcome, Verdict):
            run.n_judged += 1
            run.n_cache_hits += outcome.cached
        else:
            run.n_judge_errors += 1
    run.failures_by_reason = dict(Counter(f.reason for f in run.failures()))
    if run.n_judge_errors:
        first = run.failures()[0]
        log.warning("judge: %d of %d item(s) failed %s and are left out of the metrics, e.g. %s (%s): %s",
                    run.n_judge_errors, len(jobs), run.failures_by_reason, first.item_id, first.kind, first.detail)
    return run


def judge_identity(client: ChatClient, model: str) -> tuple[str | None, str | None]:
    """(identity for the cache key, the model id the server reports) of `model` at the client's endpoint.

    The default hosted endpoint keeps the model name alone (caches made before endpoints were keyed stay
    valid). Any other endpoint is keyed by its base URL and the id its `/models` listing gives the model (vLLM:
    the weights it loaded); a server that cannot be asked (no key: rescoring from the cache) or does not list
    the model is keyed by the requested name."""
    base_url = (client.base_url or "").rstrip("/")
    if not base_url or base_url == DEFAULT_OPENAI_BASE_URL:
        return None, None
    served = None
    if client.configured:
        for entry in client.served_models() or []:
            if entry["id"] == model:
                served = entry.get("root", entry["id"])
    return f"{served or model}@{base_url}", served


DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"


def _prepare(items: list[JudgeItem], model: str | None, prompts: Mapping[str, JudgePrompt],
             identity: str | None = None) -> list[_Job]:
    jobs, seen = [], set()
    for item in items:
        if item.item_id in seen:
            raise JudgeInputError(f"judge item id {item.item_id!r} appears twice")
        seen.add(item.item_id)
        try:
            kind = judge_kind(item.kind)
            prompt = prompts.get(kind.name) or kind.prompt
            messages = prompt.render(item.fields)
        except JudgeInputError as exc:
            raise JudgeInputError(f"judge item {item.item_id!r}: {exc}") from None
        judge_model = model or prompt.reference_model
        key = cache_key(identity or judge_model, prompt.name, prompt.version, messages, prompt.temperature,
                        prompt.max_tokens)
        jobs.append(_Job(item, kind, prompt, judge_model, messages, key))
    return jobs


@dataclass
class _Usage:
    calls: int = 0  # HTTP calls made for the item
    prompt_tokens: int = 0
    completion_tokens: int = 0


def _judge_one(job: _Job, client: ChatClient, cache: VerdictCache | None, verdict_tries: int
               ) -> tuple[Outcome, _Usage]:
    """(outcome, HTTP calls and tokens spent) for one item; a cache hit spends nothing."""
    item, kind, prompt = job.item, job.kind, job.prompt
    usage = _Usage()
    cached = cache.get(job.key) if cache is not None else None
    if cached is not None:
        try:
            return Verdict(item.item_id, item.kind, kind.parse(cached), cached, cached=True), usage
        except VerdictParseError as exc:  # stored under an older parser: ask again and overwrite
            log.info("judge: cached reply for %s no longer parses (%s); asking again", item.item_id, exc)
    last_error = ""
    for attempt in range(1, verdict_tries + 1):
        try:
            reply = client.complete(job.model, job.messages, temperature=prompt.temperature,
                                    max_tokens=prompt.max_tokens)
        except ChatError as exc:
            usage.calls += exc.tries
            return JudgeFailure(item.item_id, item.kind, exc.reason, exc.detail, usage.calls), usage
        usage.calls += reply.tries
        usage.prompt_tokens += reply.prompt_tokens
        usage.completion_tokens += reply.completion_tokens
        try:
            value = kind.parse(reply.text)
        except VerdictParseError as exc:
            last_error = str(exc)
            log.info("judge: unparsable verdict for %s (try %d of %d): %s", item.item_id, attempt,
                     verdict_tries, exc)
            continue
        if cache is not None:
            cache.put(job.key, reply.text, model=job.model, prompt_version=prompt.version)
        return Verdict(item.item_id, item.kind, value, reply.text, cached=False), usage
    return JudgeFailure(item.item_id, item.kind, "unparsable_verdict", last_error, usage.calls), usage
