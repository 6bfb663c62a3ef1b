"""The Python API: ``vidscout.open(path)`` gives a `Video` you can ask, search and browse.

import vidscout
with vidscout.open("movie.mp4") as video:          # ingests first if needed
    print(video.ask("Who directed the film?").answer)
    for hit in video.search("credits"):
        print(hit.span, hit.text)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from vidscout.agent.loop import AgentOptions, iter_steps
from vidscout.agent.trace import Answer, Step, final_answer, write_trajectory
from vidscout.memory.build import IngestOptions, ProgressFn, ingest
from vidscout.memory.store import VideoStore
from vidscout.models.registry import Backends
from vidscout.settings import Settings
from vidscout.tools.registry import ToolContext, ToolRegistry
from vidscout.types import Segment
from vidscout.video.decode import VideoInfo

if TYPE_CHECKING:
    from vidscout.retrieval.search import Hit


class Video:
    """One ingested video with its database, searcher, tools and planner."""

    def __init__(self, path: Path, settings: Settings, backends: Backends, store: VideoStore, info: VideoInfo) -> None:
        from vidscout.retrieval.hybrid import SegmentSearcher

        self.path = path
        self.settings = settings
        self.backends = backends
        self.store = store
        self.info = info
        self.searcher = SegmentSearcher.open(
            store, text_embedder=backends.text_embedder, image_text_embedder=backends.image_text
        )

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        settings: Settings | None = None,
        backends: Backends | None = None,
        ingest_options: IngestOptions | None = None,
        progress: ProgressFn | None = None,
    ) -> Video:
        """Open the database of ``path``, ingesting (or finishing or updating the ingest) first when needed.

        Ingest runs every time: on a complete, current database every layer is cached (about 0.1 s), and
        a layer built by other backends or an older recipe (its fingerprint differs) is rebuilt, so
        answers never come from a stale index.
        """
        video = Path(path)
        settings = settings or Settings()
        backends = backends or Backends(settings)
        report = ingest(video, settings.videos_dir, backends, options=ingest_options, progress=progress)
        return cls(video, settings, backends, VideoStore.open(Path(report.store)), report.video)

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    def __enter__(self) -> Video:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def context(self, *, question: str = "", options: Sequence[str] = ()) -> ToolContext:
        """The injected context the tools run with (for using the tools from other agents)."""
        return ToolContext(
            store=self.store,
            searcher=self.searcher,
            backends=self.backends,
            settings=self.settings,
            video=self.path,
            info=self.info,
            question=question,
            options=tuple(options),
        )

    def tools(self) -> ToolRegistry:
        """The default tool registry (browse, search, transcript, zoom_in, finish)."""
        from vidscout.tools.default import default_tools

        return default_tools()

    def iter_ask(
        self, question: str, *, options: Sequence[str] = (), agent: AgentOptions | None = None
    ) -> Iterator[Step]:
        """Stream the agent's steps for ``question`` (multiple choice when ``options`` are given)."""
        ctx = self.context(question=question, options=options)
        yield from iter_steps(question, ctx, self.backends.llm, self.tools(), options=agent)

    def ask(
        self,
        question: str,
        *,
        options: Sequence[str] = (),
        agent: AgentOptions | None = None,
        trajectory: Path | None = None,
    ) -> Answer:
        """Answer ``question`` with timestamped evidence; optionally save the steps as JSONL."""
        steps = list(self.iter_ask(question, options=options, agent=agent))
        if trajectory is not None:
            write_trajectory(trajectory, question, steps)
        return final_answer(question, steps)

    def search(self, query: str, *, top_k: int = 8) -> list[Hit]:
        """Hybrid search (speech, on-screen text, tags, frames) over the clips of the video."""
        return self.searcher.search(query, top_k=top_k)

    def chapters(self) -> list[Segment]:
        """The chapter segments, in time order."""
        return self.store.segments("chapter")


def open(path: str | Path, *, settings: Settings | None = None, progress: ProgressFn | None = None) -> Video:
    """Open (ingesting if needed) a video; see `Video.open`."""
    return Video.open(path, settings=settings, progress=progress)
