"""The tools in library mode: the default tools, each with a ``video`` argument; `search` without one searches all.

A call with ``video`` looks at that video from then on (`ToolContext.focus`), so the planner searches across
the library, then zooms into one video; `finish`'s evidence is in the video looked at last. The single-video
tools and their schemas are unchanged: these are separate argument models over the same functions.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from vidscout.errors import ToolRetry
from vidscout.retrieval.library import LibraryHit
from vidscout.retrieval.search import HitKind
from vidscout.tools.browse import BrowseArgs, browse
from vidscout.tools.default import default_tools
from vidscout.tools.registry import Observation, Tool, ToolContext, ToolFn, ToolRegistry
from vidscout.tools.search import SearchArgs, SearchResult, search
from vidscout.tools.transcript import TranscriptArgs, transcript
from vidscout.tools.zoom import ZoomArgs, zoom_in
from vidscout.types import format_span

_VIDEO = (
    "The video to look in, by the name search results show; it stays selected for later calls. "
    "Omit to stay with the current video"
)


class LibrarySearchArgs(SearchArgs):
    """Arguments of `search` in library mode."""

    video: str | None = Field(
        default=None,
        description="The video to search, by the name results show; it stays selected for later calls. Omit to "
        "search every video (with start or end: the current one).",
    )


class LibraryBrowseArgs(BrowseArgs):
    """Arguments of `browse` in library mode."""

    video: str | None = Field(default=None, description=_VIDEO + ".")


class LibraryTranscriptArgs(TranscriptArgs):
    """Arguments of `transcript` in library mode."""

    video: str | None = Field(default=None, description=_VIDEO + ".")


class LibraryZoomArgs(ZoomArgs):
    """Arguments of `zoom_in` in library mode."""

    video: str | None = Field(default=None, description=_VIDEO + ".")


class LibrarySearchResult(BaseModel):
    """Hits across the videos of a library, best first."""

    query: str
    hits: list[LibraryHit]

    def to_observation(self) -> str:
        """Numbered hits naming their video, then how to look closer."""
        lines = [f'Best matches for "{self.query}" across the library, best first:']
        for i, hit in enumerate(self.hits, start=1):
            text = f'"{hit.text}"' if hit.kind in ("speech", "ocr") and hit.text else hit.text
            lines.append(f"{i}. video={hit.video_name} {format_span(hit.span)} [{hit.kind}] {text}".rstrip())
        lines.append("Look closer with search, transcript or zoom_in and that video=...")
        return "\n".join(lines)


def library_search(ctx: ToolContext, args: LibrarySearchArgs) -> SearchResult | LibrarySearchResult:
    """Find the moments that best match a description, in every video of the library or in one.

    Returns numbered time spans, best first, each naming its video, with a snippet of its evidence.
    """
    if args.video is not None:
        ctx.focus(args.video)
    if args.video is not None or ctx.library is None or args.start is not None or args.end is not None:
        return search(ctx, args)  # one video: the one named, or for a time range the one looked at
    query = " ".join(args.query.split())
    kinds: tuple[HitKind, ...] | None = (args.kind,) if args.kind else None
    hits = ctx.library.search(query, top_k=args.top_k, kinds=kinds)
    if not hits:
        raise ToolRetry(
            f'Nothing in the library matches "{query}". Try fewer or different words (a name, an object, a phrase '
            "someone would say), or drop kind."
        )
    return LibrarySearchResult(query=query, hits=hits)


def _in_video(fn: ToolFn) -> ToolFn:
    """``fn`` after looking at the call's ``video`` (when given)."""

    def call(ctx: ToolContext, args: Any) -> Observation:
        video: str | None = getattr(args, "video", None)
        if video is not None:
            ctx.focus(video)
        return fn(ctx, args)

    return call


def library_tools() -> ToolRegistry:
    """The default tools for a library: the same names and order, each taking a ``video`` argument."""
    single = default_tools()
    models: dict[str, tuple[type[BaseModel], ToolFn]] = {
        "browse": (LibraryBrowseArgs, _in_video(browse)),
        "search": (LibrarySearchArgs, library_search),
        "transcript": (LibraryTranscriptArgs, _in_video(transcript)),
        "zoom_in": (LibraryZoomArgs, _in_video(zoom_in)),
    }
    tools: list[Tool] = []
    for tool in single:
        if tool.name in models:
            args, fn = models[tool.name]
            note = " Searches every video of the library unless video is given." if tool.name == "search" else ""
            tools.append(Tool(tool.name, tool.description + note, args, fn, tool.terminal))
        else:
            tools.append(tool)
    return ToolRegistry(tools)
