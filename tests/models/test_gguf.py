"""The embedded planner (Qwen2.5-Coder-0.5B GGUF via cyllama): schema-constrained JSON, tools, streaming."""

from __future__ import annotations

import json

import pytest

from vidscout.errors import BackendError
from vidscout.models.base import LLM, ChatMessage, GenerationOptions
from vidscout.models.gguf import GGUFLLM, _until_stop  # pyright: ignore[reportPrivateUsage]
from vidscout.models.registry import Backends, make_llm
from vidscout.settings import Settings

TOOLS = ["search_segments", "get_transcript", "ask_video_llm", "final_answer"]
SYSTEM = (
    "You are a video QA planner. Tools:\n"
    "- search_segments(query: str, k: int): find segments matching a query\n"
    "- get_transcript(start_s: float, end_s: float): transcript between two times\n"
    "- ask_video_llm(segment_id: int, question: str): ask a vision model about a segment\n"
    "- final_answer(answer: str): give the final answer\n"
    'Reply with ONLY a JSON object {"tool": <name>, "args": {...}}.'
)
QUESTION = "What colour is the car that appears right after the narrator mentions the kitchen?"
SCHEMA = {
    "type": "object",
    "required": ["tool", "args"],
    "additionalProperties": False,
    "properties": {"tool": {"type": "string", "enum": TOOLS}, "args": {"type": "object"}},
}


def test_schema_constrained_reply_is_valid_json(backends: Backends) -> None:
    llm = backends.llm
    assert isinstance(llm, LLM) and isinstance(llm, GGUFLLM) and llm.runtime == "cyllama"
    messages = [ChatMessage(role="system", content=SYSTEM), ChatMessage(role="user", content=QUESTION)]
    reply = llm.complete(messages, GenerationOptions(max_tokens=96, json_schema=SCHEMA))
    data = json.loads(reply.text)
    assert set(data) == {"tool", "args"} and data["tool"] in TOOLS and isinstance(data["args"], dict)
    assert reply.finish_reason == "stop" and reply.prompt_tokens > 100 and reply.completion_tokens > 5
    # Same conversation again: decoding now starts from the cached prompt prefix and must not change.
    again = llm.complete(messages, GenerationOptions(max_tokens=96, json_schema=SCHEMA))
    assert again.text == reply.text


def test_tool_calls_are_parsed(backends: Backends) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "search_segments",
            "description": "Find video segments matching a query.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}, "k": {"type": "integer"}},
                "required": ["query"],
            },
        },
    }
    messages = [ChatMessage(role="user", content="Find the moment where a red car appears in the video.")]
    reply = backends.llm.complete(messages, GenerationOptions(max_tokens=96, tools=[tool]))
    assert reply.finish_reason == "tool_calls", reply
    assert reply.tool_calls[0].name == "search_segments"
    assert "car" in json.loads(reply.tool_calls[0].arguments)["query"]


def test_stream_honours_stop_strings(backends: Backends) -> None:
    messages = [ChatMessage(role="user", content="Count from 1 to 10, separated by commas. Digits only.")]
    text = "".join(backends.llm.stream(messages, GenerationOptions(max_tokens=40, stop=("5",))))
    assert text.replace(" ", "").startswith("1,2,3,4") and "5" not in text


def test_stop_strings_spanning_deltas() -> None:
    stopped: list[bool] = []
    out = list(_until_stop(iter(["ab", "cE", "ND", "zz"]), ("END",), lambda: stopped.append(True)))
    assert "".join(out) == "abc" and stopped == [True]
    assert "".join(_until_stop(iter(["no", " stop"]), ("END",), lambda: None)) == "no stop"


def test_prompt_longer_than_the_context_is_a_clear_error(models_settings: Settings) -> None:
    small = make_llm("gguf:qwen2.5-coder-0.5b?n_ctx=64", models_settings)
    with pytest.raises(BackendError, match="n_ctx"):
        small.complete([ChatMessage(role="user", content="word " * 200)], GenerationOptions(max_tokens=8))
