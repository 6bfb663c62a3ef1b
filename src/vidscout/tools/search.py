"""The `search` tool: hybrid segment search (speech, on-screen text, visual tags, frames) over one video."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from vidscout.choices import option_distances, time_options
from vidscout.errors import ToolRetry
from vidscout.retrieval.search import Hit, HitKind
from vidscout.text import overlap
from vidscout.tools.registry import Seconds, ToolContext
from vidscout.types import TimeSpan, format_span

_KIND_LABEL: dict[HitKind, str] = {
    "speech": "speech",
    "ocr": "on-screen text",
    "visual": "objects seen",
    "frame": "a frame shows",
}


def resolve_window(ctx: ToolContext, start_s: float | None, end_s: float | None) -> TimeSpan | None:
    """The span the model asked for, clamped to the video; None when it gave neither bound.

    A missing start means the beginning of the video, a missing end its end.

    Raises:
        ToolRetry: The start is outside the video or the end is not after it.
    """
    if start_s is None and end_s is None:
        return None
    try:
        a, b = ctx.check_span(0.0 if start_s is None else start_s, ctx.duration_s if end_s is None else end_s)
    except ToolRetry as e:
        whole = format_span(TimeSpan(start_s=0.0, end_s=ctx.duration_s))
        raise ToolRetry(f"{e} Give a range inside {whole}, or omit start and end to cover the whole video.") from e
    return TimeSpan(start_s=a, end_s=b)


class SearchArgs(BaseModel):
    """Arguments of `search`."""

    query: str = Field(
        min_length=1,
        description="What to find, in a few plain words: a name, a phrase that is said, text on screen, "
        "or a thing or scene that is seen.",
    )
    top_k: int = Field(default=5, ge=1, le=20, description="How many results to return.")
    kind: Literal["speech", "ocr", "visual", "frame"] | None = Field(
        default=None,
        description="Only one kind of evidence: speech (what is said), ocr (text on screen), visual "
        "(objects recognised in a clip), frame (single images). Omit to search all.",
    )
    start: Seconds | None = Field(default=None, description="Only search after this time, HH:MM:SS.")
    end: Seconds | None = Field(default=None, description="Only search before this time, HH:MM:SS.")
    after: str | None = Field(
        default=None, description="Only search after this event: words said or shown then (e.g. 'the password')."
    )
    before: str | None = Field(default=None, description="Only search before this event (words said or shown).")


class SearchResult(BaseModel):
    """Ranked hits for one query."""

    query: str
    window: TimeSpan | None = None
    hits: list[Hit]
    options: list[tuple[str, str]] = Field(default_factory=list[tuple[str, str]])  # (letter, text) to point out

    def to_observation(self) -> str:
        """Numbered hits, best first: span, kind, how it matched, a snippet, and the options it bears on."""
        where = f" in {format_span(self.window)}" if self.window else ""
        lines = [f'Best matches for "{self.query}"{where}, best first:']
        for i, hit in enumerate(self.hits, start=1):
            label = _KIND_LABEL[hit.kind] + (", exact words" if "bm25" in (hit.sources or (hit.source,)) else "")
            text = f'"{hit.text}"' if hit.kind in ("speech", "ocr") and hit.text else hit.text
            where = format_span(hit.at) if hit.at is not None else format_span(hit.span)
            lines.append(f"{i}. {where} [{label}] {text}{option_note(hit, self.options)}".rstrip())
            for other in hit.others:  # the clip's words, when it ranked by another of its documents
                at, note = format_span(other.at or other.span), option_note(other, self.options)
                lines.append(f'   also {at} [{_KIND_LABEL[other.kind]}] "{other.text}"{note}')
        lines.append("Read a span with transcript or look at it with zoom_in.")
        return "\n".join(lines)


def option_note(hit: Hit, options: list[tuple[str, str]], *, near_s: float = 60.0) -> str:
    """The note naming the options a hit bears on, e.g. `` (mentions option B: C14)``; empty when none.

    An option is mentioned when all its words are in the hit's text; a clock-time option is noted as
    `` (near option A: 00:06:00)`` when the hit lies within ``near_s`` of it. Small planners see a matching
    quote and still pick another letter; naming the link makes it explicit.
    """
    if not options:
        return ""
    times = time_options([text for _, text in options])
    if times is not None:
        dist = option_distances(times, [hit.at or hit.span])
        i = dist.index(min(dist))
        return f" (near option {options[i][0]}: {options[i][1]})" if dist[i] <= near_s else ""
    found = [f"{letter}: {text}" for letter, text in options if overlap(text, hit.text or "") == 1.0]
    return f" (mentions option {'; '.join(found)})" if found else ""


def _event(ctx: ToolContext, words: str) -> TimeSpan:
    """When an event named by words happens: the located span of the best search hit for them."""
    hits = ctx.searcher.search(" ".join(words.split()), top_k=1)
    if not hits:
        raise ToolRetry(f'Could not find the event "{words}"; name it with words that are said or shown.')
    return hits[0].at or hits[0].span


def search(ctx: ToolContext, args: SearchArgs) -> SearchResult:
    """Find the moments that best match a description: words that are said, text on screen, or things seen.

    Returns numbered time spans, best first, each with a snippet of its evidence.
    """
    query = " ".join(args.query.split())
    if not query:
        raise ToolRetry("The query is empty; say in a few words what to look for.")
    start, end = args.start, args.end
    if args.after:
        start = max(start or 0.0, _event(ctx, args.after).end_s)
    if args.before:
        end = min(end if end is not None else ctx.duration_s, _event(ctx, args.before).start_s)
    if (args.after or args.before) and start is not None and end is not None and end <= start:
        raise ToolRetry("Nothing is left between the after and before moments; drop one of them.")
    window = resolve_window(ctx, start, end)
    kinds: tuple[HitKind, ...] | None = (args.kind,) if args.kind else None
    hits = ctx.searcher.search(query, top_k=args.top_k, kinds=kinds, window=window)
    if not hits:
        where = f" in {format_span(window)}" if window else ""
        only = f" among {args.kind} evidence" if args.kind else ""
        raise ToolRetry(
            f'Nothing matches "{query}"{only}{where}. Try fewer or different words (a name, an object, a '
            "phrase someone would say), drop kind or the time range, or call browse to skim the video."
        )
    return SearchResult(query=query, window=window, hits=hits, options=ctx.lettered_options)
