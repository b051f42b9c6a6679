"""`--model openai_compatible` against the scripted fake server: what a real server cannot be made to do."""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import REPO, read_results, read_samples, run_ov_eval
from fake_openai_server import FakeJudgeServer, FakeResponse, RecordedRequest, completion
from ov_eval.errors import OvEvalError
from ov_eval.models.openai_compatible import OpenAICompatibleAdapter, chat_content
from ov_eval.types import EncodedImage, GenerationSettings, ModelInput

KEY = "sk-LEAK-CANARY-d41e8b0c77"
COLOURS = REPO / "tasks" / "demo" / "data" / "colours.parquet"


def image_urls(request: RecordedRequest) -> list[str]:
    return [part["image_url"]["url"] for message in request.body["messages"] if isinstance(message["content"], list)
            for part in message["content"] if part["type"] == "image_url"]


def doc_of_image() -> dict[str, int]:
    """The data URL of each demo_colours document's image (its PNG bytes, sent as they are) -> doc id."""
    frame = pd.read_parquet(COLOURS)
    return {"data:image/png;base64," + base64.b64encode(row["image"]["bytes"]).decode(): doc_id
            for doc_id, row in frame.iterrows()}


def faulty(request: RecordedRequest, docs: dict[str, int]) -> FakeResponse:
    doc = docs[image_urls(request)[0]]
    if doc == 0:  # a server error whose body echoes the Authorization header
        return FakeResponse(500, {"error": {"message": f"boom, auth was {request.headers['authorization']}"}})
    if doc == 1 and request.attempt == 0:
        return FakeResponse(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "0"})
    if doc == 2:
        return FakeResponse(200, b"<html>not a completion</html>")
    if doc == 3:
        return FakeResponse(200, completion(f"doc {doc}").body, delay_s=3.0)  # longer than timeout=0.5
    return completion(f"doc {doc}")


def run(server: FakeJudgeServer, out: Path) -> tuple[int, str]:
    result = run_ov_eval(["--model", "openai_compatible", "--model_args",
                          f"model=served-tiny,base_url={server.url},timeout=0.5,max_retries=1,max_concurrency=4",
                          "--tasks", "demo_colours", "--limit", "5", "--output_path", str(out), "--log_samples"],
                         OPENAI_API_KEY=KEY)
    return result.returncode, result.stdout + result.stderr


def test_failed_requests_are_sample_errors_retried_by_the_next_run_and_never_leak_the_key(tmp_path):
    docs, out = doc_of_image(), tmp_path / "out"
    with FakeJudgeServer(lambda r: faulty(r, docs)) as server:
        status, output = run(server, out)
        assert status == 0, output[-3000:]
        attempts = sorted((docs[image_urls(r)[0]], r.attempt) for r in server.requests)
        assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {KEY}"}
        # max_retries=1: two tries for each failing document; the 429 is answered on its second try.
        assert attempts == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1), (3, 0), (3, 1), (4, 0)]
        entry = read_results(out)["results"]["demo_colours"]
        assert (entry["n_samples"], entry["n_errors"]) == (5, 3)
        samples = {s["doc_id"]: s for s in read_samples(out, "demo_colours")}
        assert (samples[1]["resps"], samples[4]["resps"]) == ([["doc 1"]], [["doc 4"]])
        assert "(http_error): HTTP 500: boom, auth was Bearer ***" in samples[0]["error"]
        assert "(malformed_response)" in samples[2]["error"]
        assert "(timeout): no response within 0.5 s" in samples[3]["error"]
        assert [p for p in out.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()] == []
        assert KEY not in output

        # The next run against the same server asks again for the three failed documents only.
        server.responder = lambda r: completion(f"doc {docs[image_urls(r)[0]]}")
        first_run = len(server.requests)
        status, output = run(server, out)
        assert status == 0, output[-3000:]
        assert sorted(docs[image_urls(r)[0]] for r in server.requests[first_run:]) == [0, 2, 3]
    latest = sorted(out.glob("*/*_samples_demo_colours.jsonl"))[-1]
    samples = [json.loads(line) for line in latest.read_text().splitlines()]
    assert [(s["doc_id"], s["resps"], s["error"]) for s in samples] == \
        [(d, [[f"doc {d}"]], None) for d in range(5)]


def test_one_message_places_images_at_their_placeholders_else_first():
    assert chat_content("Compare <image> with <image>, which is red?", ["u1", "u2"], []) == [
        {"type": "text", "text": "Compare "}, {"type": "image_url", "image_url": {"url": "u1"}},
        {"type": "text", "text": " with "}, {"type": "image_url", "image_url": {"url": "u2"}},
        {"type": "text", "text": ", which is red?"}]
    assert chat_content("What is shown?", ["u1"], ["f1", "f2"]) == [
        {"type": "image_url", "image_url": {"url": "f1"}}, {"type": "image_url", "image_url": {"url": "f2"}},
        {"type": "image_url", "image_url": {"url": "u1"}}, {"type": "text", "text": "What is shown?"}]
    with pytest.raises(OvEvalError, match="the prompt has 2 image placeholders for 1 images"):
        chat_content("<image> and <image>", ["u1"], [])


def test_requests_carry_the_settings_the_system_prompt_and_encoded_frames(tmp_path):
    with FakeJudgeServer(lambda r: completion(" answer ")) as server:
        adapter = OpenAICompatibleAdapter({"model": "m", "base_url": server.url, "system_prompt": "Be brief.",
                                           "image_format": "jpeg", "api_key_env": "MY_KEY"}, env={"MY_KEY": KEY})
        frames = (Image.new("RGB", (4, 2), (255, 0, 0)), Image.new("RGB", (4, 2), (0, 0, 255)))
        png = io.BytesIO()
        frames[0].save(png, format="PNG")
        video = np.stack([np.asarray(f) for f in frames])
        item = ModelInput("Q?", images=(frames[0], frames[1]), videos=(video,),
                          generation=GenerationSettings(max_new_tokens=7, until=("\n\n",)),
                          encoded_images=(EncodedImage(png.getvalue(), "image/png"), None))
        generation = adapter.complete(adapter.prepare(item))
        [request] = server.requests
    assert generation.text == "answer" and (generation.input_tokens, generation.output_tokens) == (1, 1)
    body = request.body
    assert (body["model"], body["max_tokens"], body["temperature"], body["stop"]) == ("m", 7, 0.0, ["\n\n"])
    assert "top_p" not in body
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    urls = image_urls(request)
    # the two frames, the first image's original PNG bytes, the second image (no original bytes) encoded
    assert [u.split(",")[0] for u in urls] == ["data:image/jpeg;base64"] * 2 + ["data:image/png;base64",
                                                                                "data:image/jpeg;base64"]
    assert urls[2] == "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()  # original bytes
    assert Image.open(io.BytesIO(base64.b64decode(urls[3].split(",")[1]))).size == (4, 2)
    assert json.dumps(body).count(KEY) == 0


def test_identity_names_base_url_model_and_output_settings(tmp_path):
    with FakeJudgeServer(lambda r: completion("x")) as server:
        def identity(**args: str) -> str:
            return OpenAICompatibleAdapter({"model": "m", "base_url": server.url, **args}, env={}).identity

        base = identity()
        assert identity(max_concurrency="1", timeout="5", max_retries="0") == base  # transport only
        assert len({base, identity(model="other"), identity(system_prompt="Hi"), identity(image_format="jpeg"),
                    identity(max_frames_num="8")}) == 5


@pytest.mark.parametrize("model_args, error", [
    ("model=m,base_url=http://127.0.0.1:9/v1,max_concurency=4",
     "ov_eval: error: --model_args: unknown argument 'max_concurency' for model 'openai_compatible' "
     "(did you mean 'max_concurrency'?)"),
    ("base_url=http://127.0.0.1:9/v1",
     "ov_eval: error: --model_args: model=NAME is required for openai_compatible (the served model's name)"),
])
def test_bad_model_args_are_one_line_errors(tmp_path, model_args, error):
    result = run_ov_eval(["--model", "openai_compatible", "--model_args", model_args, "--tasks", "demo_colours",
                          "--output_path", str(tmp_path)])
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith(error)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("model_args, error", [
    ({"model": "m", "image_format": "webp"}, "--model_args: image_format must be png or jpeg, not 'webp'"),
    ({"model": "m", "max_concurrency": "0"}, "--model_args: max_concurrency must be a positive integer, not '0'"),
    ({"model": "m", "timeout": "x"}, "--model_args: timeout must be a positive number, not 'x'"),
    ({"model": "m", "max_retries": "-1"}, "--model_args: max_retries must be a non-negative integer, not '-1'"),
])
def test_bad_model_arg_values_name_the_argument(model_args, error):
    with pytest.raises(OvEvalError) as raised:  # the base URL, when needed, comes from the environment
        OpenAICompatibleAdapter(model_args, env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert str(raised.value) == error
    with pytest.raises(OvEvalError, match=r"give base_url=URL \(or set OPENAI_BASE_URL\)"):
        OpenAICompatibleAdapter({"model": "m"}, env={})
