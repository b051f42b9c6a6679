"""The demo_colours task answered by a scripted OpenAI-compatible server (tests/fake_openai_server.py): each
document's reply is chosen by its image, which the served-model backend sends as the original PNG bytes."""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Callable

import pandas as pd

from fake_openai_server import FakeResponse, RecordedRequest

REPO = Path(__file__).resolve().parents[1]
COLOURS = REPO / "tasks" / "demo" / "data" / "colours.parquet"


def doc_of_image() -> dict[str, int]:
    """The base64 of each demo_colours image -> its doc id."""
    frame = pd.read_parquet(COLOURS)
    return {base64.b64encode(cell["bytes"]).decode("ascii"): doc for doc, cell in enumerate(frame["image"])}


def reply(content: str, prompt_tokens: int, completion_tokens: int, reasoning: str | None = None) -> FakeResponse:
    message = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return FakeResponse(200, {
        "id": "chatcmpl-scripted", "object": "chat.completion", "created": 1_700_000_000, "model": "scripted",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens}})


def by_document(answer: Callable[[int], FakeResponse]) -> Callable[[RecordedRequest], FakeResponse]:
    """A responder that answers each demo_colours request with `answer(doc_id)`."""
    docs = doc_of_image()

    def respond(request: RecordedRequest) -> FakeResponse:
        [image] = [part["image_url"]["url"] for part in request.user if part["type"] == "image_url"]
        return answer(docs[image.partition("base64,")[2]])

    return respond


def served_args(url: str, out: Path, limit: int = 4, tasks: str = "demo_colours") -> list[str]:
    return ["--model", "openai_compatible", "--model_args", f"model=scripted,base_url={url},max_concurrency=2",
            "--tasks", tasks, "--limit", str(limit), "--output_path", str(out), "--log_samples",
            "--verbosity", "WARNING"]
