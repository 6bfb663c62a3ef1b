"""Pure reply parsing: fences, JSON extraction, tool-call tags."""

from __future__ import annotations

import json

import pytest

from vidscout.models.replies import extract_json, parse_tool_calls, strip_code_fences


def test_strip_code_fences() -> None:
    assert strip_code_fences('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert strip_code_fences('```\n{"a": 1}```  ') == '{"a": 1}'
    assert strip_code_fences("plain ```not a fence``` text") == "plain ```not a fence``` text"


def test_extract_json() -> None:
    assert extract_json('Sure! ```json\n{"tool": "x", "args": {}}\n```') == {"tool": "x", "args": {}}
    assert extract_json('Here: {"a": [1, 2]} and more {"b": 2}') == {"a": [1, 2]}
    assert extract_json("[1, 2]") == [1, 2]
    with pytest.raises(ValueError, match="No JSON"):
        extract_json("no json {here")


def test_parse_tool_calls_tags_bare_json_and_unknown_names() -> None:
    text = 'Let me look.\n<tool_call>\n{"name": "search", "arguments": {"q": "car"}}\n</tool_call>'
    rest, calls = parse_tool_calls(text, ["search"])
    assert rest == "Let me look." and calls[0].name == "search" and json.loads(calls[0].arguments) == {"q": "car"}
    rest, calls = parse_tool_calls('<tool_call>{"name": "a", "arguments": {}}</tool_call><tool_call>{"name": "b"')
    assert [c.name for c in calls] == ["a"] and rest.startswith("<tool_call>")
    rest, calls = parse_tool_calls('```json\n{"name": "search", "arguments": {"q": 1}}\n```', ["search"])
    assert rest == "" and calls[0].id == "call_0"
    assert parse_tool_calls('{"name": "rm", "arguments": {}}', ["search"]) == (
        '{"name": "rm", "arguments": {}}',
        (),
    )
    assert parse_tool_calls("just prose") == ("just prose", ())


def test_parse_tool_calls_accepts_one_doubled_brace_pair() -> None:
    # Seen from the 1.5B planner behind `vidscout serve` (tools mode): the template's braces copied twice.
    raw = '{{"name": "finish", "arguments": {"answer": "Mr. John Dashwood", "evidence": []}}}'
    rest, calls = parse_tool_calls(raw, ["finish", "search"])
    assert rest == "" and calls[0].name == "finish"
    assert json.loads(calls[0].arguments) == {"answer": "Mr. John Dashwood", "evidence": []}
    assert parse_tool_calls("{{not json}}", ["finish"]) == ("{{not json}}", ())
