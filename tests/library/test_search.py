"""Search and answers across a library of ten real short videos, one holding a planted needle."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import vidscout
from tests.library.conftest import NEEDLE_AT, NEEDLE_WORD, copy_videos
from vidscout.agent.loop import AgentOptions
from vidscout.cli.app import app
from vidscout.library import VideoLibrary
from vidscout.memory.build import IngestOptions
from vidscout.models.base import LLM
from vidscout.models.registry import Backends
from vidscout.models.testing import ScriptedLLM
from vidscout.settings import Settings
from vidscout.tools.default import default_tools
from vidscout.tools.library import LibrarySearchResult, library_tools
from vidscout.tools.registry import ToolContext
from vidscout.tools.search import SearchResult
from vidscout.tools.transcript import TranscriptResult

NAME = "ten"
NEEDLE_NAME = f"video_{NEEDLE_AT:02d}.mp4"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("library-data"))


@pytest.fixture(scope="module")
def library(
    short_set: list[Path], needle_video: Path, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VideoLibrary]:
    folder = tmp_path_factory.mktemp("ten")
    videos = [needle_video if i == NEEDLE_AT else v for i, v in enumerate(short_set)]
    copy_videos(videos, folder, names=[f"video_{i:02d}.mp4" for i in range(len(videos))])
    # Keyframes every 3 s keep ten ingests quick; the text needle (1-5 s) is on the one at 3 s.
    lib = VideoLibrary.named(NAME, settings, ingest_options=IngestOptions(sample_every_s=3.0))
    report = lib.update([folder])
    assert [r.status for r in report.rows] == ["ingested"] * 10, report.rows
    yield lib
    lib.close()


def test_cross_video_search_finds_the_needle_in_its_video(library: VideoLibrary) -> None:
    hits = library.search(f"secret password {NEEDLE_WORD}", top_k=5)
    assert hits[0].video_name == NEEDLE_NAME, [(h.video_name, h.text) for h in hits]
    assert hits[0].video.name == NEEDLE_NAME and hits[0].span.start_s < 5.0 < hits[0].span.end_s + 1.0
    assert NEEDLE_WORD in hits[0].text.lower()
    assert "bm25" in hits[0].sources  # FTS5 found the exact word
    # Only the needle's video says or shows the word: every exact-word hit is in it.
    exact = library.searcher.rank_bm25(NEEDLE_WORD)
    assert exact and {library.searcher.videos[h.doc_id >> 32].name for h in exact if h.doc_id} == {NEEDLE_NAME}
    ocr = library.search(NEEDLE_WORD, kinds=["ocr"])
    assert ocr and ocr[0].video_name == NEEDLE_NAME and ocr[0].kind == "ocr"


def test_search_and_ask_on_the_command_line_name_each_hit_s_video_and_span(
    library: VideoLibrary, settings: Settings
) -> None:
    runner = CliRunner()
    args = ["--library", NAME, "--data-dir", str(settings.data_dir), "--json"]
    assert vidscout.library(NAME, settings=settings).video_names() == library.video_names()  # the Python API
    r = runner.invoke(app, ["search", NEEDLE_WORD, "-k", "3", *args])
    assert r.exit_code == 0, r.output
    hits = json.loads(r.stdout)
    assert Path(hits[0]["video"]).name == NEEDLE_NAME and hits[0]["video_name"] == NEEDLE_NAME
    assert set(hits[0]["span"]) == {"start_s", "end_s"}
    r = runner.invoke(app, ["ask", "What is the secret password?", "--strategy", "retrieval", *args])
    assert r.exit_code == 0, r.output
    answer = json.loads(r.stdout)
    assert NEEDLE_WORD in answer["answer"].lower()
    assert Path(answer["evidence"][0]["video"]).name == NEEDLE_NAME
    r = runner.invoke(app, ["search", "some", "words", *args])
    assert r.exit_code == 2 and "only the QUERY" in r.output


def test_tools_search_across_then_zoom_into_one_video(library: VideoLibrary) -> None:
    tools = library_tools()
    assert tools.names == default_tools().names
    assert "video" in tools.get("search").parameters()["properties"]
    assert "video" not in default_tools().get("search").parameters()["properties"]  # single-video schemas unchanged
    first = library.deps("video_00.mp4")
    ctx = ToolContext(first, question="What is the password?", library=library)
    across = tools.call("search", {"query": f"password {NEEDLE_WORD}"}, ctx)
    assert across.ok and isinstance(across.result, LibrarySearchResult)
    assert f"1. video={NEEDLE_NAME}" in across.observation
    read = tools.call("transcript", {"video": NEEDLE_NAME, "start": "00:00:00", "end": "00:00:06"}, ctx)
    assert read.ok and isinstance(read.result, TranscriptResult) and NEEDLE_WORD in read.observation.lower()
    assert ctx.deps.path.name == NEEDLE_NAME  # the call switched the video the tools look at
    inside = tools.call("search", {"query": NEEDLE_WORD, "start": "00:00:00", "end": "00:00:05"}, ctx)
    assert inside.ok and isinstance(inside.result, SearchResult)  # no video: stays in the one looked at
    wrong = tools.call("transcript", {"video": "nope.mp4", "start": 0, "end": 2}, ctx)
    assert not wrong.ok and "video_00.mp4" in wrong.observation
    ranged = ToolContext(first, library=library)
    assert isinstance(tools.call("search", {"query": "grass", "start": 0}, ranged).result, SearchResult)
    assert ranged.deps.path.name == "video_00.mp4"  # a time range without a video searches the current one


class _Scripted(Backends):
    """The library's models, with a scripted planner."""

    def __init__(self, settings: Settings, llm: LLM) -> None:
        super().__init__(settings)
        self._llm = llm

    @property
    def llm(self) -> LLM:
        return self._llm


def test_agent_answer_names_the_video_it_zoomed_into(library: VideoLibrary, settings: Settings) -> None:
    def call(tool: str, args: dict[str, object]) -> str:
        return json.dumps({"thought": "look there", "call": {"tool": tool, "args": args}})

    llm = ScriptedLLM(
        [
            json.dumps({"line": 0, "answer": ""}),  # the reader finds no line that answers it,
            json.dumps({"line": 0, "answer": ""}),  # nor among the lines naming the secret password
            call("transcript", {"video": NEEDLE_NAME, "start": "00:00:00", "end": "00:00:06"}),
            call("finish", {"answer": NEEDLE_WORD, "evidence": [{"start": "00:00:01", "end": "00:00:05"}]}),
            json.dumps({"supported": True, "reason": "it is said"}),
        ],
        name="gguf:test",
        call_mode="json",
    )
    scripted = _Scripted(settings, llm)
    with VideoLibrary.named(NAME, settings, backends=scripted) as lib:  # opens videos as they were built
        answer = lib.ask("What is the secret password?", agent=AgentOptions(max_steps=4), videos=3)
    assert answer.error is None and answer.answer == NEEDLE_WORD, answer
    assert [Path(e.video or "").name for e in answer.evidence] == [NEEDLE_NAME]
    assert answer.evidence[0].label().startswith(str(answer.evidence[0].video))
    first_look = llm.calls[2][0][-1].content
    assert f"video={NEEDLE_NAME}" in first_look  # the free first search ran across the library
