"""The default tools end to end: one real video ingested with the real embedded models, called via the registry."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vidscout.media import samples
from vidscout.memory.build import IngestOptions, ingest, store_dir
from vidscout.memory.store import VideoStore
from vidscout.models.gguf_runtime import json_schema_grammar
from vidscout.models.registry import Backends
from vidscout.settings import Settings
from vidscout.tools.browse import browse_range
from vidscout.tools.default import default_tools
from vidscout.tools.finish import FinishResult
from vidscout.tools.options import BrowseOptions, ToolOptions, TranscriptOptions, ZoomOptions
from vidscout.tools.registry import ToolContext, ToolRegistry, VideoDeps
from vidscout.tools.search import SearchResult
from vidscout.tools.zoom import ZoomResult
from vidscout.types import Evidence, TimeSpan
from vidscout.video.segment import SegmentOptions

Truth = list[tuple[float, float, str]]
SPAN = re.compile(r"\d\d:\d\d:\d\d-\d\d:\d\d:\d\d")


@pytest.fixture(scope="module")
def speech(media_cache: Path) -> tuple[Path, Truth]:
    """Pedestrian footage with three LibriVox utterances at known times (about 1-8 s, 10-13 s, 15-20 s)."""
    clips = samples.librivox_clips()[:3]
    return samples.speech_video(samples.vtest(media_cache), clips, media_cache / "tools_speech.mp4")


@pytest.fixture(scope="module")
def ctx(speech: tuple[Path, Truth], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolContext]:
    video, _ = speech
    backends = Backends(Settings(data_dir=tmp_path_factory.mktemp("tools-data")))
    videos = tmp_path_factory.mktemp("videos")
    # Short clips and chapters, so a 22 s video has several of each to tell apart.
    segments = SegmentOptions(max_clip_s=8.0, chapter_min_s=7.0, chapters_target=3)
    ingest(video, videos, backends, options=IngestOptions(segments=segments))
    with VideoStore.open(store_dir(videos, video)) as store:
        yield ToolContext(VideoDeps.open(video, store, backends))


@pytest.fixture(scope="module")
def tools() -> ToolRegistry:
    return default_tools()


def _call(tools: ToolRegistry, ctx: ToolContext, name: str, args: dict[str, Any] | str) -> tuple[bool, str, Any]:
    outcome = tools.call(name, json.dumps(args) if isinstance(args, dict) else args, ctx)
    return outcome.ok, outcome.observation, outcome.result


# --- schemas ----------------------------------------------------------------------------------------

_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}


def _check_schema_node(node: Any) -> None:
    """A structural check of the JSON-schema subset the tools use (no jsonschema package here)."""
    if isinstance(node, list):
        for item in node:
            _check_schema_node(item)
        return
    if not isinstance(node, dict):
        return
    assert "$ref" not in node and "$defs" not in node
    if "type" in node:
        assert node["type"] in _TYPES, node
    if "anyOf" in node:
        assert isinstance(node["anyOf"], list) and node["anyOf"]
    if "properties" in node:
        assert isinstance(node["properties"], dict)
        assert set(node.get("required", [])) <= set(node["properties"])
    if "pattern" in node:
        re.compile(node["pattern"])
    for key, value in node.items():
        if key not in ("enum", "const", "default", "required", "pattern", "description"):
            _check_schema_node(value)


def test_schemas_are_flat_and_one_call_schema_variant_per_tool(tools: ToolRegistry) -> None:
    assert tools.names == [
        "browse", "search", "transcript", "occurrences", "shown_while", "order", "zoom_in", "recurrences", "finish"
    ]  # fmt: skip
    assert [t.name for t in tools if t.terminal] == ["finish"]
    for tool in tools:
        schema = tool.openai_schema()
        text = json.dumps(schema)
        assert "$ref" not in text and "$defs" not in text
        assert 20 < len(schema["function"]["description"]) < 300
        for name, prop in schema["function"]["parameters"]["properties"].items():
            assert prop.get("description"), (tool.name, name)
    call = tools.call_schema()
    _check_schema_node(call)
    variants = call["properties"]["call"]["anyOf"]
    assert [v["properties"]["tool"]["const"] for v in variants] == tools.names
    json_schema_grammar(call)  # the embedded planner's grammar can be built from it
    # Times are advertised as HH:MM:SS strings, the format every observation uses.
    zoom = tools.get("zoom_in").parameters()["properties"]
    assert zoom["start"]["type"] == "string" and re.fullmatch(zoom["start"]["pattern"], "00:12:30")


# --- browse -----------------------------------------------------------------------------------------


def test_browse_lists_the_clips_of_a_short_video_with_times_and_evidence(tools: ToolRegistry, ctx: ToolContext) -> None:
    ok, text, _ = _call(tools, ctx, "browse", {})
    assert ok, text
    lines = text.splitlines()
    assert lines[0] == "Clips of 00:00:00-00:00:22 (video length 00:00:22):"
    assert lines[1].startswith("1. 00:00:00-00:00:07 | said: ") and "john dashwood" in lines[1].lower()
    assert len([ln for ln in lines if SPAN.match(ln.split(" ", 1)[-1])]) == len(ctx.store.segments("clip"))
    assert "seen: " in text and len(text) <= 1500
    ok, part, _ = _call(tools, ctx, "browse", {"start": "00:00:09", "end": "00:00:13"})
    assert (
        ok and part.splitlines()[1].startswith("1. 00:00:07-00:00:14 | said: ") and "He was not an ill-disposed" in part
    )


def test_browse_chapters_and_the_length_bound(ctx: ToolContext) -> None:
    whole = TimeSpan(start_s=0.0, end_s=ctx.duration_s)
    result = browse_range(ctx.store, whole, ctx.duration_s, BrowseOptions(clips_below_s=0, min_chapters=1))
    chapters = ctx.store.segments("chapter")
    assert result.level == "chapter" and len(result.items) == len(chapters) >= 2
    assert result.to_observation().startswith("Chapters of 00:00:00-00:00:22")
    # More segments than max_items are grouped; a tiny budget still bounds every line.
    tight = browse_range(ctx.store, whole, ctx.duration_s, BrowseOptions(max_items=1, max_chars=200))
    assert len(tight.items) == 1 and tight.items[0].count == len(ctx.store.segments("clip"))
    text = tight.to_observation()
    assert len(text) <= 260 and "clips)" in text and "…" in text


# --- search -----------------------------------------------------------------------------------------


def test_search_finds_the_spoken_name_first(tools: ToolRegistry, ctx: ToolContext, speech: tuple[Path, Truth]) -> None:
    said_at = speech[1][0][0]  # "and mister john dashwood had then leisure ..."
    ok, text, result = _call(tools, ctx, "search", {"query": "John Dashwood"})
    assert ok, text
    assert isinstance(result, SearchResult)
    assert result.hits[0].span.start_s <= said_at < result.hits[0].span.end_s
    first = text.splitlines()[1]
    # The line is said from 1.0 s: its start prints as 00:00:00 or 00:00:01 within the ASR's 0.3 s.
    assert re.match(r"1\. 00:00:0[01]-00:00:07 \[speech, exact words\] ", first) and "dashwood" in first.lower()


def test_search_points_out_the_options_a_hit_bears_on(tools: ToolRegistry, ctx: ToolContext) -> None:
    try:
        ctx.options = ("A. Marianne Brandon", "B. John Dashwood", "C. Edward Ferrars")
        ok, text, _ = _call(tools, ctx, "search", {"query": "John Dashwood"})
        assert ok and text.splitlines()[1].endswith("(mentions option B: John Dashwood)"), text
        assert "option A" not in text and "option C" not in text
        ctx.options = ("00:00:03", "00:10:00")
        ok, text, _ = _call(tools, ctx, "search", {"query": "John Dashwood"})
        assert ok and text.splitlines()[1].endswith("(near option A: 00:00:03)"), text
        assert "option B" not in text
    finally:
        ctx.options = ()


def test_search_window_and_kind(tools: ToolRegistry, ctx: ToolContext) -> None:
    ok, text, result = _call(
        tools, ctx, "search", {"query": "ill disposed young man", "kind": "speech", "start": "00:00:09"}
    )
    assert ok, text
    assert isinstance(result, SearchResult) and all(h.kind == "speech" for h in result.hits)
    assert all(h.span.end_s > 9.0 for h in result.hits)
    assert "in 00:00:09-00:00:22" in text.splitlines()[0]


def test_search_fix_it_messages(tools: ToolRegistry, ctx: ToolContext) -> None:
    ok, text, _ = _call(tools, ctx, "search", {"query": "John Dashwood", "start": "00:05:00"})
    assert not ok and "outside the video (00:00:00 to 00:00:22)" in text
    ok, text, _ = _call(tools, ctx, "search", {"query": "John Dashwood", "start": "00:00:22", "end": "00:00:22"})
    assert not ok and "must be after start" in text and "omit start and end to cover the whole video" in text
    ok, text, _ = _call(tools, ctx, "search", {"query": "zebra xylophone", "kind": "ocr"})
    assert not ok and "Nothing matches" in text and "browse" in text
    ok, text, _ = _call(tools, ctx, "search", {"query": "man", "top_k": 50})
    assert not ok and "top_k" in text
    ok, text, _ = _call(tools, ctx, "search", {"query": "man", "start": "noon"})
    assert not ok and "HH:MM:SS" in text
    ok, text, _ = _call(tools, ctx, "search", '{"query": "man", ')
    assert not ok and "not valid JSON" in text and '"query"' in text
    ok, text, _ = _call(tools, ctx, "watch_video", {})
    assert not ok and "there is no tool 'watch_video'" in text and "zoom_in" in text


# --- transcript -------------------------------------------------------------------------------------


def test_transcript_reads_a_window(tools: ToolRegistry, ctx: ToolContext) -> None:
    ok, text, _ = _call(tools, ctx, "transcript", {"start": "00:00:09", "end": "00:00:14"})
    assert ok, text
    lines = text.splitlines()
    assert lines[0] == "Speech in 00:00:09-00:00:14:"
    assert lines[1].startswith("[00:00:10] ") and "not an ill" in lines[1].lower().replace("-", " ")
    assert "dashwood" not in text.lower() and "selfish" not in text.lower()


def test_transcript_query_gives_when_the_words_are_said(
    tools: ToolRegistry, ctx: ToolContext, speech: tuple[Path, Truth]
) -> None:
    start, end, _ = speech[1][0]
    ok, text, result = _call(tools, ctx, "transcript", {"query": "Dashwood"})
    assert ok, text
    match = result.utterances[0].match
    assert match is not None and start <= match.start_s < match.end_s <= end
    assert re.match(r"1\. \[00:00:0\d\] \(words said at 00:00:0\d(-00:00:0\d)?\) \"And", text.splitlines()[1])
    ok, text, _ = _call(tools, ctx, "transcript", {"query": "spaceship"})
    assert not ok and "No speech contains" in text


def test_transcript_fix_its_and_the_per_call_cap(tools: ToolRegistry, ctx: ToolContext) -> None:
    ok, text, _ = _call(tools, ctx, "transcript", {"start": "00:01:00", "end": "00:02:00"})
    assert not ok and "outside the video (00:00:00 to 00:00:22)" in text
    ok, text, _ = _call(tools, ctx, "transcript", {})
    assert not ok and "start and end" in text
    capped = dataclasses.replace(ctx, tool_options=ToolOptions(transcript=TranscriptOptions(max_read_s=9.0)))
    ok, text, result = _call(tools, capped, "transcript", {"start": "00:00:00", "end": "00:00:22"})
    assert ok and result.window.end_s == 9.0 and "selfish" not in text
    assert "call transcript with start=00:00:09" in text.splitlines()[-1]


# --- zoom_in ----------------------------------------------------------------------------------------


def test_zoom_in_reanalyses_the_span_on_the_embedded_profile(tools: ToolRegistry, ctx: ToolContext) -> None:
    ok, text, result = _call(
        tools, ctx, "zoom_in", {"start": "00:00:09", "end": "00:00:14", "question": "What are the people doing?"}
    )
    assert ok, text
    assert isinstance(result, ZoomResult)
    assert len(result.frames) == 5 and all(9.0 <= f.t_s < 14.0 for f in result.frames)
    assert any(f.tags for f in result.frames) and result.seen
    assert result.model == "composite" and "[00:00:1" in result.description
    assert [u.span.start_s for u in result.speech] and "ill" in result.speech[0].text.lower()
    assert text.startswith('zoom_in 00:00:09-00:00:14: 5 frames, about 1.0 s apart; question "What are')
    assert "Per-time evidence" in text and "Speech in the span:\n[00:00:10] " in text


def test_zoom_in_rejects_long_spans(tools: ToolRegistry, ctx: ToolContext) -> None:
    narrow = dataclasses.replace(ctx, tool_options=ToolOptions(zoom=ZoomOptions(max_span_s=10.0)))
    ok, text, _ = _call(tools, narrow, "zoom_in", {"start": "00:00:00", "end": "00:00:20", "question": "Who?"})
    assert not ok and "at most 00:00:10" in text and "00:00:00-00:00:20" in text
    ok, text, _ = _call(tools, ctx, "zoom_in", {"start": "00:00:20", "end": "00:00:10", "question": "Who?"})
    assert not ok and "must be after start" in text


# --- finish -----------------------------------------------------------------------------------------


def test_finish_checks_the_option_letter_and_evidence(tools: ToolRegistry, ctx: ToolContext) -> None:
    mc = dataclasses.replace(ctx, options=("red", "blue", "green", "yellow"))
    ok, text, _ = _call(tools, mc, "finish", {"answer": "Blue.", "option": "E"})
    assert not ok and "A, B, C, D" in text and "B: blue" in text
    ok, text, _ = _call(tools, mc, "finish", {"answer": "The door's colour is not shown."})
    assert not ok and "option is missing" in text
    ok, _, result = _call(tools, mc, "finish", {"answer": "It is painted blue."})  # names exactly one option
    assert ok and (result.option, result.option_text) == ("B", "blue")
    bad_span = {"answer": "Blue.", "option": "B", "evidence": [{"start": "00:01:00", "end": "00:01:05"}]}
    ok, text, _ = _call(tools, mc, "finish", bad_span)
    assert not ok and text.startswith("Error: evidence 1: start 00:01:00 is outside the video")
    assert text.endswith("Cite spans inside 00:00:00-00:00:22.")
    args = {"answer": "Blue.", "option": "b", "evidence": [{"start": "00:00:01", "end": "00:00:30", "note": "said"}]}
    outcome = tools.call("finish", json.dumps(args), mc)
    assert outcome.ok and tools.get(outcome.name).terminal
    result = outcome.result
    assert isinstance(result, FinishResult) and (result.option, result.option_text) == ("B", "blue")
    assert result.evidence == [Evidence(span=TimeSpan(start_s=1.0, end_s=ctx.duration_s), note="said")]
    assert outcome.observation == "Final answer: (B) Blue.\n- evidence 00:00:01-00:00:22: said"


def test_finish_open_question_ignores_letters(tools: ToolRegistry, ctx: ToolContext) -> None:
    ok, text, result = _call(tools, ctx, "finish", {"answer": "  Two people   walk by. ", "option": "A"})
    assert ok and result.option is None and text == "Final answer: Two people walk by."
