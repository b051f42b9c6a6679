"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

It does what a real server cannot be made to do on demand: 500s, 429 with Retry-After, hangs, garbage.

A responder decides, per request, the status, headers, body and delay; the server records every request
(arrival and response times, the messages, the attempt number for the same messages) so a test can check
what really went over the wire.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


@dataclass(frozen=True)
class FakeResponse:
    status: int = 200
    body: dict[str, Any] | bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # sleep before answering (a slow server)


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any]
    attempt: int  # how many earlier requests carried the same messages
    received_at: float  # time.monotonic()
    status: int = 0
    responded_at: float = 0.0

    @property
    def user(self) -> str:
        """The last user message's content."""
        return next(m["content"] for m in reversed(self.body.get("messages", [])) if m.get("role") == "user")


def completion(content: str, model: str = "fake-judge") -> FakeResponse:
    """A 200 chat-completion response whose choices[0].message.content is `content`."""
    return FakeResponse(200, {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    })


Responder = Callable[[RecordedRequest], FakeResponse]


class FakeJudgeServer:
    """`with FakeJudgeServer(responder) as server:` then point a client at server.url."""

    def __init__(self, responder: Responder, *, latency_s: float = 0.0) -> None:
        self.responder = responder
        self.latency_s = latency_s
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-judge", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def endpoint(self) -> str:
        """The bare origin, as an Azure endpoint."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> FakeJudgeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _record(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> RecordedRequest:
        signature = json.dumps(body.get("messages"), sort_keys=True)
        with self._lock:
            attempt = self._seen.get(signature, 0)
            self._seen[signature] = attempt + 1
            request = RecordedRequest(path, headers, body, attempt, time.monotonic())
            self.requests.append(request)
        return request


def _handler_for(server: FakeJudgeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else headers and body go out as two segments and wait on delayed ACKs

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if not self.path.split("?")[0].endswith("/chat/completions"):
                self._send(FakeResponse(404, {"error": {"message": f"no route {self.path}"}}))
                return
            request = server._record(self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw))
            response = server.responder(request)
            time.sleep(server.latency_s + response.delay_s)
            request.status = response.status
            request.responded_at = time.monotonic()
            self._send(response)

        def _send(self, response: FakeResponse) -> None:
            body = response.body if isinstance(response.body, bytes) else json.dumps(response.body).encode()
            try:
                self.send_response(response.status)
                if "content-type" not in {name.lower() for name in response.headers}:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (timed out) before the answer came

    return Handler
