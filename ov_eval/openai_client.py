"""One chat-completions client for any OpenAI-compatible endpoint (or Azure OpenAI), with our own retries.

Shared by the judge stage and the `openai_compatible` model backend. The openai client (and the `openai`
module, most of a second to import) is loaded on the first call, never at import or construction, so
rescoring from a full cache needs no credentials. The library's retries are
off; ours follow RetryPolicy and Retry-After. The API key is held in a wrapper that prints as '***' and is
scrubbed from every message we raise or log.
"""
from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Sequence
from urllib.parse import urlsplit

from ov_eval.errors import OvEvalError
from ov_eval.retry import RetryPolicy, retry_after_s

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

ApiType = Literal["openai", "azure"]
# http_error: a 4xx/5xx status; malformed_response: a 2xx body that is not a chat completion.
TransportReason = Literal["http_error", "timeout", "connection_error", "malformed_response"]
_RETRY_STATUSES = frozenset({408, 409, 429})


class EndpointConfigError(OvEvalError):
    """The endpoint cannot be used as configured (missing key, endpoint or API version)."""


class ChatError(Exception):
    """A request that failed for good: not retryable, or still failing after the last try."""

    def __init__(self, reason: TransportReason, detail: str, tries: int) -> None:
        super().__init__(f"request failed after {tries} tr{'y' if tries == 1 else 'ies'} ({reason}): {detail}")
        self.reason = reason
        self.detail = detail
        self.tries = tries


@dataclass(frozen=True)
class ChatReply:
    text: str
    tries: int  # HTTP calls this reply took, the successful one included
    prompt_tokens: int = 0  # as the server counts them (0 when it does not say)
    completion_tokens: int = 0
    reasoning: str | None = None  # a reasoning model's separate field (`reasoning_content`, or `reasoning`)


class _Secret:
    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__


class _MalformedReply(Exception):
    pass


def check_endpoint_url(url: str, source: str) -> None:
    """An http(s) URL with a host, or an error naming where the URL came from: refused before anything runs,
    instead of every request failing later with "Connection error"."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise OvEvalError(f"{source}: '{url}' is not an http(s) URL with a host (e.g. http://localhost:8000/v1)")


class ChatClient:
    """Chat completions against one endpoint; thread-safe (one openai client shared by all threads)."""

    def __init__(self, *, api_key: str | None = None, base_url: str | None = None, api_type: ApiType | None = None,
                 api_version: str | None = None, timeout_s: float = 60.0, retry: RetryPolicy = RetryPolicy(),
                 env: Mapping[str, str] | None = None, seed: int | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        env = os.environ if env is None else env
        self.api_type: ApiType = api_type or ("azure" if env.get("AZURE_OPENAI_ENDPOINT") else "openai")
        if self.api_type == "azure":
            key = api_key or env.get("AZURE_OPENAI_API_KEY")
            self.base_url = base_url or env.get("AZURE_OPENAI_ENDPOINT")
            self.api_version = api_version or env.get("OPENAI_API_VERSION")
        else:
            key = api_key or env.get("OPENAI_API_KEY")
            self.base_url = base_url or env.get("OPENAI_BASE_URL")
            self.api_version = None
        self._key = _Secret(key) if key else None
        self.timeout_s = timeout_s
        self.retry = retry
        self._rng = random.Random(seed)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None
        self.http_calls = 0

    def __repr__(self) -> str:
        return (f"ChatClient(api_type={self.api_type!r}, base_url={self.base_url!r}, "
                f"timeout_s={self.timeout_s}, max_tries={self.retry.max_tries})")

    @property
    def configured(self) -> bool:
        """Whether calls can be made: a key (and, for Azure, an endpoint and API version). Cache hits need none."""
        if self.api_type == "azure":
            return bool(self._key and self.base_url and self.api_version)
        return self._key is not None

    def _openai(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                self._client = self._build()
            return self._client

    def _build(self) -> openai.OpenAI:
        import openai

        if self.api_type == "azure":
            missing = [name for name, value in (("AZURE_OPENAI_API_KEY", self._key),
                                                ("AZURE_OPENAI_ENDPOINT", self.base_url),
                                                ("OPENAI_API_VERSION", self.api_version)) if not value]
            if missing:
                raise EndpointConfigError(f"the Azure judge needs {', '.join(missing)} (environment or arguments)")
            return openai.AzureOpenAI(api_key=self._key.reveal(), azure_endpoint=self.base_url,
                                      api_version=self.api_version, max_retries=0, timeout=self.timeout_s)
        if self._key is None:
            raise EndpointConfigError("the LLM judge needs OPENAI_API_KEY (or AZURE_OPENAI_* for Azure); "
                                   "set it, or rescore from a verdict cache that holds every verdict")
        return openai.OpenAI(api_key=self._key.reveal(), base_url=self.base_url, max_retries=0,
                             timeout=self.timeout_s)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def complete(self, model: str, messages: Sequence[Mapping[str, Any]], *, temperature: float, max_tokens: int,
                 top_p: float | None = None, stop: Sequence[str] | None = None) -> ChatReply:
        """The reply of one chat completion, retried per the policy; raises ChatError when it gives up."""
        options: dict[str, Any] = {}
        if top_p is not None:
            options["top_p"] = top_p
        if stop:
            options["stop"] = list(stop)
        client = self._openai()
        for tries in range(1, self.retry.max_tries + 1):
            with self._lock:
                self.http_calls += 1
            try:
                completion = client.chat.completions.create(
                    model=model, messages=list(messages), temperature=temperature, max_tokens=max_tokens,
                    timeout=self.timeout_s, **options)
                usage = getattr(completion, "usage", None)
                return ChatReply(_content(completion), tries, getattr(usage, "prompt_tokens", 0) or 0,
                                 getattr(usage, "completion_tokens", 0) or 0, _reasoning(completion))
            except Exception as exc:  # noqa: BLE001 - sorted into retryable or not just below
                reason, detail, retryable, wait_hint = self._classify(exc)
            if not retryable or tries == self.retry.max_tries:
                raise ChatError(reason, detail, tries) from None
            delay = self.retry.wait_s(tries, wait_hint, self._rng)
            log.info("chat request failed (%s: %s); try %d of %d in %.2f s", reason, detail, tries + 1,
                     self.retry.max_tries, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")

    def _classify(self, exc: Exception) -> tuple[TransportReason, str, bool, float | None]:
        """(reason, redacted detail, retryable, server-requested wait) for one failed call."""
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return "timeout", f"no response within {self.timeout_s} s", True, None
        if isinstance(exc, openai.APIConnectionError):
            return "connection_error", self._redact(str(exc)), True, None
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            retryable = status in _RETRY_STATUSES or status >= 500
            wait = retry_after_s(exc.response.headers) if status == 429 else None
            message = re.sub(r"^Error code: \d+ - ", "", exc.message)
            return "http_error", self._redact(f"HTTP {status}: {message}"), retryable, wait
        if isinstance(exc, json.JSONDecodeError):  # a body sent as JSON that is not (an HTML page, often)
            return "malformed_response", self._redact(text_reply_problem(exc.doc)), True, None
        if isinstance(exc, _MalformedReply):
            return "malformed_response", self._redact(str(exc)), True, None
        if isinstance(exc, (ValueError, openai.APIResponseValidationError)):
            return "malformed_response", self._redact(f"{type(exc).__name__}: {exc}"), True, None
        raise exc

    def _redact(self, text: str) -> str:
        if self._key is not None and len(self._key.reveal()) >= 6:
            text = text.replace(self._key.reveal(), "***")
        return text if len(text) <= 300 else text[:297] + "..."


    def served_models(self) -> list[dict[str, Any]] | None:
        """The server's `/models` listing (id, and `root` where vLLM gives it), one try; None if it has none."""
        import openai

        try:
            listing = self._openai().models.list(timeout=min(self.timeout_s, 30.0))
            return [{"id": m.id, **({"root": m.root} if isinstance(getattr(m, "root", None), str) else {})}
                    for m in listing.data]
        except openai.AuthenticationError as exc:
            raise EndpointConfigError(f"{self.base_url} rejected the API key: "
                                      f"{self._redact(f'HTTP {exc.status_code}: {exc.message}')}") from None
        except Exception as exc:  # noqa: BLE001 - a server without the listing is fine; the reason is logged
            log.info("the server gives no model listing: %s", self._redact(f"{type(exc).__name__}: {exc}"))
            return None


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def text_reply_problem(text: str) -> str:
    """What a reply that is text instead of a chat completion is: an HTML page (a proxy's login or error page, a
    web server at the wrong path) says so, with its title."""
    head = text.lstrip()[:1000].lower()
    if head.startswith(("<!doctype html", "<html")) or "<html" in head or "<body" in head:
        title = _TITLE.search(text)
        shown = f" titled '{' '.join(title[1].split())[:80]}'" if title else ""
        return (f"the reply is an HTML page{shown}, not a chat completion (is the base URL the API's, ending in "
                "/v1?)")
    return f"the reply is not a chat completion: {text.strip()[:80]!r}"


def _reasoning(completion: Any) -> str | None:
    message = getattr(completion.choices[0], "message", None)
    for name in ("reasoning_content", "reasoning"):  # vLLM and SGLang name it one way or the other
        value = getattr(message, name, None)
        if isinstance(value, str) and value:
            return value
    return None


def _content(completion: Any) -> str:
    if isinstance(completion, str):  # the SDK hands over the body as it is when the server does not send JSON
        raise _MalformedReply(text_reply_problem(completion))
    choices = getattr(completion, "choices", None)
    if not choices:
        raise _MalformedReply("the response has no choices")
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None)
    if not isinstance(content, str):
        raise _MalformedReply("choices[0].message.content is not a string")
    return content
