"""The tools through LangChain's own tool interface, on a real ingested video."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vidscout.api import Video
from vidscout.media import samples
from vidscout.settings import Settings

langchain_core = pytest.importorskip("langchain_core")


@pytest.fixture(scope="module")
def video(media_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Video]:
    clip, _ = samples.speech_video(samples.vtest(media_cache), samples.librivox_clips()[:2],
                                   media_cache / "speech_vtest.mp4")  # fmt: skip
    with Video.open(clip, settings=Settings(data_dir=tmp_path_factory.mktemp("lc"))) as v:
        yield v


def test_tools_run_through_langchain_and_keep_fix_it_messages(video: Video) -> None:
    from langchain_core.tools import BaseTool

    from vidscout.integrations.langchain import langchain_tools

    tools = {t.name: t for t in langchain_tools(video)}
    assert set(tools) == {
        "browse", "search", "transcript", "occurrences", "shown_while", "order", "zoom_in", "recurrences", "finish"
    }  # fmt: skip
    assert all(isinstance(t, BaseTool) for t in tools.values())
    assert "query" in tools["search"].args
    found = tools["search"].invoke({"query": "John Dashwood"})
    assert "John Dashwood" in found and "00:00:0" in found
    words = tools["transcript"].invoke({"start": "00:00:00", "end": "00:00:10"})
    assert "Dashwood" in words
    late = tools["transcript"].invoke({"start": "01:00:00", "end": "01:00:10"})
    assert "outside the video" in late
