"""OpenAILLM / OpenAIVideoLLM against an in-process mock server (httpx.MockTransport): no network."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import numpy as np
import pytest

from vidscout.errors import BackendError
from vidscout.models.base import ChatMessage, GenerationOptions
from vidscout.models.openai import OpenAILLM
from vidscout.models.openai_video import OpenAIVideoLLM, VideoRequestOptions

Handler = Callable[[httpx.Request], httpx.Response]
MESSAGES = [ChatMessage(role="user", content="hi")]


def _llm(handler: Handler, sleeps: list[float] | None = None) -> OpenAILLM:
    return OpenAILLM(
        "m",
        "http://server/v1",
        api_key="k",
        transport=httpx.MockTransport(handler),
        sleep=(sleeps.append if sleeps is not None else lambda _s: None),
    )


def _reply(message: dict[str, object], finish: str = "stop") -> httpx.Response:
    body = {
        "choices": [{"message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3},
    }
    return httpx.Response(200, json=body)


def test_payload_schema_tools_and_tool_call_parsing() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url == "http://server/v1/chat/completions"
        assert request.headers["authorization"] == "Bearer k"
        seen.append(json.loads(request.content))
        call = {"id": "c1", "type": "function", "function": {"name": "search", "arguments": '{"q": "car"}'}}
        return _reply({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls")

    tools = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
    schema = {"type": "object"}
    reply = _llm(handler).complete(MESSAGES, GenerationOptions(tools=tools, json_schema=schema, stop=("END",)))
    assert reply.tool_calls[0].name == "search" and reply.tool_calls[0].arguments == '{"q": "car"}'
    assert reply.finish_reason == "tool_calls" and (reply.prompt_tokens, reply.completion_tokens) == (7, 3)
    body = seen[0]
    assert body["tools"] == tools and body["stop"] == ["END"] and body["stream"] is False
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "reply", "schema": schema, "strict": True},
    }
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_retries_429_and_5xx_then_succeeds() -> None:
    statuses = iter([429, 503])
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses, 200)
        if status != 200:
            return httpx.Response(status, headers={"retry-after": "2"} if status == 429 else {})
        return _reply({"role": "assistant", "content": '```json\n{"a": 1}\n```'})

    reply = _llm(handler, sleeps).complete(MESSAGES, GenerationOptions(json_schema={"type": "object"}))
    assert reply.text == '{"a": 1}'  # fences stripped for schema replies
    assert len(sleeps) == 2 and 2.0 <= sleeps[0] <= 2.2 and 1.0 <= sleeps[1] <= 1.1


def test_client_errors_and_unreachable_servers_are_backend_errors() -> None:
    with pytest.raises(BackendError, match=r"401.*VIDSCOUT_API_KEY"):
        _llm(lambda _r: httpx.Response(401, text="bad key")).complete(MESSAGES, GenerationOptions())

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    sleeps: list[float] = []
    with pytest.raises(BackendError, match="Cannot reach"):
        _llm(refuse, sleeps).complete(MESSAGES, GenerationOptions())
    assert len(sleeps) == 3


def test_stream_parses_server_sent_events() -> None:
    events = [{"choices": [{"delta": {"role": "assistant"}}]}, {"choices": [{"delta": {"content": "Hel"}}]},
              {"choices": [{"delta": {"content": "lo"}}]}]  # fmt: skip
    sse = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})

    assert list(_llm(handler).stream(MESSAGES, GenerationOptions())) == ["Hel", "lo"]


def test_video_llm_sends_timestamped_jpeg_frames() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return _reply({"role": "assistant", "content": " A red car. "})

    video = OpenAIVideoLLM(_llm(handler), VideoRequestOptions(mode="frames", max_frames=2))
    frames = [np.full((720, 1280, 3), i * 20, np.uint8) for i in range(4)]
    assert video.describe(frames, [0.0, 65.0, 130.0, 195.0], "What car?") == "A red car."
    parts = seen[0]["messages"][1]["content"]  # type: ignore[index]
    assert [p["text"] for p in parts if p["type"] == "text"] == [
        "Frame at 00:00:00:",
        "Frame at 00:03:15:",
        "These frames cover 00:00:00-00:03:15 of the video.\nWhat car?",
    ]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert len(urls) == 2 and all(u.startswith("data:image/jpeg;base64,") for u in urls)
    assert all(len(p["uuid"]) == 32 for p in parts if p["type"] == "image_url")
