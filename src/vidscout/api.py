"""The Python API: ``vidscout.open(path)`` gives a `Video` you can ask, search and browse.

import vidscout
with vidscout.open("movie.mp4") as video:          # ingests first if needed
    print(video.ask("Who directed the film?").answer)
    for hit in video.search("credits"):
        print(hit.span, hit.text)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from vidscout.agent.loop import AgentOptions
from vidscout.agent.trace import Step, final_answer, write_trajectory
from vidscout.answering import Question, make_strategy
from vidscout.memory.build import IngestOptions, ProgressFn, open_store
from vidscout.memory.store import VideoStore
from vidscout.models.registry import Backends
from vidscout.settings import Settings
from vidscout.tools.registry import ToolContext, ToolRegistry, VideoDeps
from vidscout.types import Answer, Segment
from vidscout.video.decode import VideoInfo

if TYPE_CHECKING:
    from vidscout.models.base import Image
    from vidscout.retrieval.hybrid import SegmentSearcher
    from vidscout.retrieval.images import Appearance
    from vidscout.retrieval.search import Hit


class Video:
    """One ingested video with its database, searcher, tools and planner."""

    def __init__(self, path: Path, settings: Settings, backends: Backends, store: VideoStore, info: VideoInfo) -> None:
        self.deps = VideoDeps.open(path, store, backends, info=info)
        if backends.settings is not settings:
            self.deps = replace(self.deps, settings=settings)

    @property
    def path(self) -> Path:
        """The video file."""
        return self.deps.path

    @property
    def info(self) -> VideoInfo:
        """What probing the file found (duration, size, streams)."""
        return self.deps.info

    @property
    def store(self) -> VideoStore:
        """The video's database."""
        return self.deps.store

    @property
    def backends(self) -> Backends:
        """The models this video is answered with."""
        return self.deps.backends

    @property
    def settings(self) -> Settings:
        """The settings it was opened with."""
        return self.deps.settings

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
        a layer built by other backends or an older recipe (its fingerprint differs), or whose files are
        missing or damaged, is rebuilt, so answers never come from a stale index. While another process
        ingests the video this waits for it. The open `Video` holds the store's shared lock until closed,
        so no ingest changes the database under it (one that must, waits).
        """
        video = Path(path)
        settings = settings or Settings()
        backends = backends or Backends(settings)
        report, store = open_store(video, settings.videos_dir, backends, options=ingest_options, progress=progress)
        try:
            return cls(video, settings, backends, store, report.video)
        except BaseException:
            store.close()
            raise

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    def __enter__(self) -> Video:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def context(self, *, question: str = "", options: Sequence[str] = ()) -> ToolContext:
        """The injected context the tools run with (for using the tools from other agents)."""
        return ToolContext(self.deps, question=question, options=tuple(options))

    def tools(self) -> ToolRegistry:
        """The default tool registry (browse, search, transcript, zoom_in, recurrences, finish)."""
        from vidscout.tools.default import default_tools

        return default_tools()

    def iter_ask(
        self,
        question: str,
        *,
        options: Sequence[str] = (),
        strategy: str = "agent",
        agent: AgentOptions | None = None,
        **strategy_options: Any,
    ) -> Iterator[Step]:
        """Stream the steps of answering ``question`` (multiple choice when ``options`` are given).

        Raises:
            ConfigError: An empty or over-long question, bad options, or an unknown strategy (before any step).
        """
        q = Question.make(question, options)
        yield from make_strategy(strategy, agent=agent, **strategy_options).iter_answer(self.deps, q)

    def ask(
        self,
        question: str,
        *,
        options: Sequence[str] = (),
        strategy: str = "agent",
        agent: AgentOptions | None = None,
        trajectory: Path | None = None,
        **strategy_options: Any,
    ) -> Answer:
        """Answer ``question`` with timestamped evidence and provenance; optionally save the steps as JSONL.

        Args:
            question: The question, in plain words.
            options: Multiple-choice options (``"A. red"`` or bare ``"red"``); empty for an open question.
            strategy: ``agent`` (default), ``retrieval``, ``kv`` or ``frames`` (see `vidscout.answering`).
            agent: Knobs of the agent strategy.
            trajectory: Save the steps here as JSONL.
            **strategy_options: Options of the chosen strategy (``max_steps``, ``top_k``, ``frames``).

        Raises:
            ConfigError: An empty or over-long question, bad options, or an unknown strategy.
        """
        q = Question.make(question, options)
        chosen = make_strategy(strategy, agent=agent, **strategy_options)
        steps = list(chosen.iter_answer(self.deps, q))
        if trajectory is not None:
            write_trajectory(trajectory, q.text, steps)
        return final_answer(q.text, steps, strategy=chosen.name)

    def search(self, query: str, *, top_k: int = 8) -> list[Hit]:
        """Hybrid search (speech, on-screen text, tags, frames) over the clips of the video."""
        return self.deps.searcher.search(query, top_k=top_k)

    def search_image(self, image: str | Path | Image, *, top_k: int = 5) -> list[Appearance]:
        """Where a picture appears in the video: stretches of keyframes that show it, best match first.

        Args:
            image: An image file, or an RGB uint8 array (H, W, 3), e.g. a frame of this or another video.
            top_k: Most appearances to return.

        Raises:
            ConfigError: The file is missing or not an image.
        """
        from vidscout.retrieval.images import ImageSearcher, read_image

        picture = read_image(Path(image)) if isinstance(image, str | Path) else image
        return ImageSearcher.open(self.store, self.backends.image).search(picture, top_k=top_k)

    @property
    def searcher(self) -> SegmentSearcher:
        """Hybrid search over the video's clips."""
        return self.deps.searcher

    def chapters(self) -> list[Segment]:
        """The chapter segments, in time order."""
        return self.store.segments("chapter")


def open(path: str | Path, *, settings: Settings | None = None, progress: ProgressFn | None = None) -> Video:
    """Open (ingesting if needed) a video; see `Video.open`."""
    return Video.open(path, settings=settings, progress=progress)
