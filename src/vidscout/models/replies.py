"""Pure helpers that turn an LLM's raw text into JSON or tool calls (fences, ``<tool_call>`` tags)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from vidscout.models.base import ToolCall

_FENCE = re.compile(r"^\s*```[\w+-]*[ \t]*\n?(.*?)\n?```\s*$", re.DOTALL)
_TOOL_TAG = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)


def strip_code_fences(text: str) -> str:
    """Remove one Markdown code fence that wraps the whole reply (```` ```json ... ``` ````)."""
    match = _FENCE.match(text)
    return match.group(1).strip() if match else text.strip()


def extract_json(text: str) -> Any:
    """Parse the first JSON object or array in ``text`` (fences and surrounding prose are ignored).

    Raises:
        ValueError: No parseable JSON value is present.
    """
    body = strip_code_fences(text)
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        pass
    decoder = json.JSONDecoder()
    for i, ch in enumerate(body):
        if ch in "{[":
            try:
                value, _end = decoder.raw_decode(body, i)
            except json.JSONDecodeError:
                continue
            return value
    raise ValueError(f"No JSON value in reply: {text[:200]!r}")


def _tool_call(payload: Any, index: int, tool_names: Collection[str]) -> ToolCall | None:
    if not isinstance(payload, dict):
        return None
    fields: dict[str, Any] = {str(k): v for k, v in payload.items()}  # pyright: ignore[reportUnknownVariableType]
    name = fields.get("name")
    args = fields.get("arguments", fields.get("parameters", {}))
    if not isinstance(name, str) or (tool_names and name not in tool_names):
        return None
    arguments = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    return ToolCall(id=f"call_{index}", name=name, arguments=arguments)


def _loads(text: str) -> Any:
    """``json.loads`` that also accepts one doubled outer brace pair, ``{{"name": ...}}``.

    Small planners make that slip when they copy a tool-call template.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        body = text.strip()
        if body.startswith("{{") and body.endswith("}}"):
            return json.loads(body[1:-1])
        raise


def parse_tool_calls(text: str, tool_names: Collection[str] = ()) -> tuple[str, tuple[ToolCall, ...]]:
    """Split a reply into free text and Hermes/Qwen-style tool calls.

    Recognises ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks (an unclosed last
    block too) and, failing that, a reply that is a bare such JSON object. Calls to names outside a
    non-empty ``tool_names`` are left in the text.

    Returns:
        The text outside the calls, and the calls in order.
    """
    calls: list[ToolCall] = []
    kept: list[str] = []
    last = 0
    for match in _TOOL_TAG.finditer(text):
        try:
            call = _tool_call(_loads(strip_code_fences(match.group(1))), len(calls), tool_names)
        except json.JSONDecodeError:
            call = None
        if call is not None:
            calls.append(call)
            kept.append(text[last : match.start()])
            last = match.end()
    kept.append(text[last:])
    if calls:
        return "".join(kept).strip(), tuple(calls)
    try:
        call = _tool_call(_loads(strip_code_fences(text)), 0, tool_names)
    except json.JSONDecodeError:
        call = None
    return ("", (call,)) if call is not None else (text.strip(), ())
