"""The `recurrences` tool: every time the picture on screen at a given moment is shown, in time order, counted.

Image-to-image search (`vidscout.retrieval.images`) with the stored vectors of that moment's shot; each
appearance comes with what is shown right after it.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from vidscout.errors import StoreError, ToolRetry
from vidscout.memory.visual import span_phrases
from vidscout.retrieval.images import Appearance, ImageSearcher
from vidscout.tools.registry import Seconds, ToolContext
from vidscout.types import format_hms, format_span


class RecurrencesArgs(BaseModel):
    """Arguments of `recurrences`."""

    at: Seconds = Field(description="A time when the picture or shot of interest is on screen, HH:MM:SS.")


class Shown(BaseModel, frozen=True):
    """One appearance of the picture and what follows it."""

    appearance: Appearance
    then: str = ""  # what the next keyframe after it shows, in labels and facts


class RecurrencesResult(BaseModel):
    """Every appearance of the picture shown at one time."""

    at_s: float
    frame_s: float = Field(description="Time of the keyframe whose picture was looked for.")
    shows: str = Field(default="", description="What that keyframe shows, in labels and facts.")
    items: list[Shown]

    @property
    def count(self) -> int:
        """How many separate times the picture is shown."""
        return len(self.items)

    def to_observation(self) -> str:
        """A count line, then each appearance in time order with what comes after it."""
        what = f" ({self.shows})" if self.shows else ""
        times = "once" if self.count == 1 else f"{self.count} times"
        lines = [f"The picture on screen at {format_hms(self.at_s)}{what} is shown {times}, in time order:"]
        for n, item in enumerate(self.items, start=1):
            a = item.appearance
            here = " <- the one at " + format_hms(self.at_s) if a.span.start_s <= self.frame_s < a.span.end_s else ""
            then = f" | then: {item.then}" if item.then else ""
            lines.append(f"{n}. {format_span(a.span)} (similarity {a.score:.2f}){here}{then}")
        lines.append("Matching is by picture, not by meaning: a different photo of the same thing does not count.")
        return "\n".join(lines)


def recurrences(ctx: ToolContext, args: RecurrencesArgs) -> RecurrencesResult:
    """Find every time the picture on screen at a given time (the same photo, shot or slide) is shown again.

    Lists them in time order with a count and what comes right after each: for "how many times is X shown",
    "what is shown after X".
    """
    dur = ctx.duration_s
    if not 0 <= args.at < dur:
        raise ToolRetry(
            f"at {format_hms(args.at)} is outside the video (00:00:00 to {format_hms(dur)}). Give a time when "
            "the picture is on screen; search or browse can find one."
        )
    try:
        searcher = ImageSearcher.open(ctx.store, ctx.backends.image)
        frame_s, vecs = searcher.vectors_at(args.at)
    except StoreError as e:
        raise ToolRetry(
            f"Picture matching is not available for this video ({e}). Use search with a few words describing "
            "the picture instead."
        ) from e
    found = searcher.appearances(vecs, min_score=searcher.options.same_picture)
    period = searcher.sample_period_s
    items = [Shown(appearance=a, then=_described(ctx, a.span.end_s, period)) for a in found]
    return RecurrencesResult(at_s=args.at, frame_s=frame_s, shows=_described(ctx, frame_s, period), items=items)


def _described(ctx: ToolContext, t_s: float, period_s: float) -> str:
    """The first keyframe at or after ``t_s``: its two best labels and its visual facts."""
    found = ctx.store.keyframe_from(t_s - 1e-6)
    if found is None:
        return ""
    t, tags = found
    labels = [label for label, _ in tags[:2]] if tags else []
    facts = span_phrases(ctx.store, t, t + period_s)
    return ", ".join([*labels, *facts])
