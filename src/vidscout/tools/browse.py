"""The `browse` tool: a chapter-level (or, for short ranges, clip-level) overview with times and evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from vidscout.errors import ToolRetry
from vidscout.memory.documents import summarise_tags
from vidscout.memory.store import VideoStore
from vidscout.memory.visual import span_phrases
from vidscout.models.base import Word
from vidscout.retrieval.search import in_window
from vidscout.text import join_words
from vidscout.tools.options import BrowseOptions
from vidscout.tools.registry import Seconds, ToolContext
from vidscout.tools.search import resolve_window
from vidscout.types import Segment, TimeSpan, format_hms, format_span


class RangeItem(BaseModel, frozen=True):
    """One listed chapter or clip (or a run of consecutive ones) with its evidence."""

    span: TimeSpan
    count: int = 1  # segments merged into this item
    speech: str = ""  # the first words said in it
    ocr: tuple[str, ...] = ()  # on-screen text lines
    tags: tuple[str, ...] = ()  # visual labels
    looks: tuple[str, ...] = ()  # visual facts in words: people, faces, colours, light, motion


class BrowseArgs(BaseModel):
    """Arguments of `browse`."""

    start: Seconds | None = Field(
        default=None, description="Start of the range to skim, HH:MM:SS. Omit both to skim the whole video."
    )
    end: Seconds | None = Field(default=None, description="End of the range to skim, HH:MM:SS.")


class BrowseResult(BaseModel):
    """The segments overlapping a range, each with a compact evidence line."""

    span: TimeSpan
    video_s: float
    level: Literal["chapter", "clip"]
    items: list[RangeItem]
    max_chars: int = 1500

    def to_observation(self) -> str:
        """One line per item; every line gets an equal share of ``max_chars`` and is cut to it."""
        noun = "chapters" if self.level == "chapter" else "clips"
        head = f"{noun.capitalize()} of {format_span(self.span)} (video length {format_hms(self.video_s)}):"
        tail = (
            "Browse a chapter's range to see its clips; use search to find a moment, zoom_in to look closer."
            if self.level == "chapter"
            else "Use transcript to read a clip's speech, zoom_in to look closer."
        )
        if not self.items:
            return f"{head}\n(nothing indexed in this range)\n{tail}"
        budget = max(60, (self.max_chars - len(head) - len(tail) - 2) // len(self.items) - 1)
        lines = [head]
        for i, item in enumerate(self.items, start=1):
            lines.append(_shorten(_item_line(i, item, noun, budget), budget))
        lines.append(tail)
        return "\n".join(lines)


def _item_line(n: int, item: RangeItem, noun: str, budget: int) -> str:
    """``n. HH:MM:SS-HH:MM:SS | said: "..." | text: "..." | seen: a, b``; speech takes the room left."""
    prefix = f"{n}. {format_span(item.span)}" + (f" ({item.count} {noun})" if item.count > 1 else "")
    rest: list[str] = []
    if item.ocr:
        rest.append("text: " + _shorten("; ".join(f'"{t}"' for t in item.ocr), 60))
    if item.tags:
        rest.append("seen: " + ", ".join(item.tags))
    if item.looks:
        rest.append("looks: " + ", ".join(item.looks))
    if item.speech:
        room = budget - len(prefix) - sum(len(r) + 3 for r in rest) - 13
        rest.insert(0, f'said: "{_shorten(item.speech, max(room, 30))}"')
    return " | ".join([prefix, *rest]) if rest else f"{prefix} | (no speech, text or labels)"


def _shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    cut = cut if cut > limit // 2 else limit - 1
    return text[:cut].rstrip(" ,;|") + "…"


def _groups(segments: Sequence[Segment], max_items: int) -> list[list[Segment]]:
    """Consecutive segments in at most ``max_items`` runs of near-equal count."""
    n = len(segments)
    k = min(n, max_items)
    return [list(segments[i * n // k : (i + 1) * n // k]) for i in range(k)]


def range_item(store: VideoStore, segments: Sequence[Segment], options: BrowseOptions) -> RangeItem:
    """The evidence of consecutive segments: first words said, frequent on-screen text, labels, visual facts."""
    a, b = segments[0].span.start_s, segments[-1].span.end_s
    words = [w for u in store.utterances(a, b) for w in _words_within(u.text, u.words, a, b)]
    speech = " ".join(words[: options.speech_words]) + (" …" if len(words) > options.speech_words else "")
    ocr = store.frequent_ocr_texts(a, b, limit=options.ocr_lines)
    labels = summarise_tags([row.labels for row in store.tag_rows(a, b)], top=options.tags)
    return RangeItem(
        span=TimeSpan(start_s=a, end_s=b),
        count=len(segments),
        speech=speech,
        ocr=tuple(ocr),
        tags=tuple(t for t in labels.split(", ") if t),
        looks=tuple(p for p in span_phrases(store, a, b) if p != "text on screen")[: options.looks],
    )


def _words_within(text: str, timed: Sequence[Word], start_s: float, end_s: float) -> list[str]:
    """The words of an utterance said in [start_s, end_s) (all of them when it has no word times)."""
    inside = [w.text.strip() for w in timed if start_s <= w.start_s < end_s]
    if not timed or len(inside) == len(timed):
        return text.split()
    return join_words(inside).split()


def browse_range(
    store: VideoStore, window: TimeSpan, video_s: float, options: BrowseOptions | None = None
) -> BrowseResult:
    """Chapters (or clips, for short ranges) overlapping ``window``, grouped to at most ``max_items``."""
    o = options or BrowseOptions()
    chapters = [s for s in store.segments("chapter") if in_window(s.span, window)]
    level: Literal["chapter", "clip"] = "chapter"
    segments = chapters
    if window.duration_s < o.clips_below_s or len(chapters) < o.min_chapters:
        clips = [s for s in store.segments("clip") if in_window(s.span, window)]
        if clips:
            level, segments = "clip", clips
    items = [range_item(store, group, o) for group in _groups(segments, o.max_items)] if segments else []
    return BrowseResult(span=window, video_s=video_s, level=level, items=items, max_chars=o.max_chars)


def browse(ctx: ToolContext, args: BrowseArgs) -> BrowseResult:
    """Skim the video: chapters (clips, for ranges under 5 min) with what is said, written and seen in each.

    Call it without arguments first for an overview of the whole video, then on a range for detail.
    """
    window = resolve_window(ctx, args.start, args.end) or TimeSpan(start_s=0.0, end_s=ctx.duration_s)
    if window.duration_s <= 0:
        raise ToolRetry("The video has no indexed time yet; it must be ingested first.")
    return browse_range(ctx.store, window, ctx.duration_s, ctx.tool_options.browse)
