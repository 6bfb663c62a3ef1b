"""The `shown_while` tool: what was on screen and said at a moment.

The moment is when some words are said or shown, a time, or the video's first or last words. It lists the
on-screen text and visual labels then, what is said then (at a time), the new text shown right after and what is
said next; asked with ``before``, also what was on screen in the seconds before and what was said just before.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from vidscout.errors import ToolRetry
from vidscout.memory.documents import summarise_tags
from vidscout.memory.text_regions import text_blocks
from vidscout.text import tokenize
from vidscout.tools.registry import Seconds, ToolContext
from vidscout.types import TimeSpan, format_hms, format_span

AFTER_S = 20.0
"""How far past the moment the "right after" part looks (seconds)."""
BEFORE_S = 20.0
"""How far back from the moment the "right before" part looks (seconds)."""
NEXT_SAID_S = 60.0
"""How far past (or, asked for before, back from) the moment the "said next" part looks for speech (seconds)."""
SHOWN_REACH_S = 30.0
"""How far either side of where the search located on-screen words (``shown``) the tool follows them (seconds)."""
NEXT_SAID_MAX = 2
"""How many utterances "said next" (and "said just before") lists: a sentence cut in two by a pause still shows the
one after (or before) it."""


class ShownWhileArgs(BaseModel):
    """Arguments of `shown_while`."""

    said: str | None = Field(default=None, description="Words someone says; the tool finds when they are said.")
    at: Seconds | None = Field(default=None, description="Or a time, HH:MM:SS, instead of words.")
    shown: str | None = Field(
        default=None, description="Or words shown on screen; the tool finds when they are shown and what is said then."
    )
    edge: Literal["first", "last"] | None = Field(
        default=None, description="Or first / last: the moment the video's first (or last) words are said."
    )
    before: bool = Field(
        default=False, description="Also list the on-screen text of the 20 s before the moment, and what was said."
    )


class Moment(BaseModel, frozen=True):
    """On-screen text and visual labels over one stretch of time."""

    span: TimeSpan
    text: list[str]
    visual: str


class ShownWhileResult(BaseModel):
    """The moment found, what was on screen then, and what appeared next."""

    said: str | None
    spoken: str
    """The utterance the words were found in; at a time, while words are shown, or at the first or last words, what
    is said then ("" when nothing is)."""
    shown: str | None = None
    """The on-screen text found for ``shown`` (the moment is while it is on screen)."""
    edge: Literal["first", "last"] | None = None
    """Which of the video's utterances the moment is, when asked for the first or last words."""
    during: Moment
    after: list[tuple[float, str]] = Field(default_factory=list[tuple[float, str]])  # (time, new on-screen text)
    before: list[tuple[float, str]] | None = None
    """(last time seen, on-screen text) of the seconds before the moment, nearest first; None when not asked."""
    said_next: list[tuple[TimeSpan, str]] = Field(default_factory=list[tuple[TimeSpan, str]])
    """(span, text) of the first utterances that begin after the moment, within `NEXT_SAID_S`."""
    said_before: list[tuple[TimeSpan, str]] | None = None
    """(span, text) of the last utterances that end before the moment, nearest first; None when not asked."""

    def to_observation(self) -> str:
        """The moment, its on-screen text and labels, then the new texts of the next seconds in time order."""
        where = format_span(self.during.span)
        if self.said:
            head = f'"{self.spoken}" is said at {where}.'
        elif self.shown:
            head = f'"{self.shown}" is on screen at {where}.'
        elif self.edge:
            head = f"The {self.edge} words said in the video, at {where}:"
        else:
            head = f"At {where}:"
        shown = " | ".join(f'"{t}"' for t in self.during.text) or "no text"
        lines = [head]
        if not self.said:
            lines.append(f'Said then: "{self.spoken}".' if self.spoken else "Nothing is said then.")
        lines += [f"On screen meanwhile: {shown}.", f"Seen: {self.during.visual or 'nothing recognised'}."]
        if self.after:
            lines.append(f"New on-screen text in the next {AFTER_S:.0f} s, in order:")
            lines += [f'- {format_hms(t)} "{text}"' for t, text in self.after]
        else:
            lines.append(f"No new on-screen text in the next {AFTER_S:.0f} s.")
        if self.before:
            lines.append(f"On-screen text in the {BEFORE_S:.0f} s before, nearest first:")
            lines += [f'- {format_hms(t)} "{text}"' for t, text in self.before]
        elif self.before is not None:
            lines.append(f"No other on-screen text in the {BEFORE_S:.0f} s before.")
        if self.said_before:
            lines.append("Said just before, nearest first:")
            lines += [f'- {format_hms(span.start_s)} "{text}"' for span, text in self.said_before]
        elif self.said_before is not None:
            lines.append(f"Nothing is said in the {NEXT_SAID_S:.0f} s before.")
        if self.said_next:
            lines.append("Said next:")
            lines += [f'- {format_hms(span.start_s)} "{text}"' for span, text in self.said_next]
        else:
            lines.append(f"Nothing is said in the next {NEXT_SAID_S:.0f} s.")
        return "\n".join(lines)


def _words(text: str) -> str:
    """A text block's words, for telling the same text read twice from a new one."""
    return " ".join(tokenize(text))


def _blocks(ctx: ToolContext, start_s: float, end_s: float, *, last: bool = False) -> list[tuple[float, str]]:
    """(first time, text) of each distinct text block on the keyframes in [start_s, end_s), in time order.

    With ``last``, each block's last time in the range instead.
    """
    frames: dict[float, list[tuple[str, float, tuple[float, float, float, float]]]] = {}
    for line in ctx.store.ocr_lines(start_s, end_s):
        frames.setdefault(line.t_s, []).append((line.text, line.score, line.box))
    first: dict[str, tuple[float, str]] = {}
    for t in sorted(frames):
        for text, _ in text_blocks(frames[t]):
            key = _words(text) or text
            if last or key not in first:
                first[key] = (t, text)
    return sorted(first.values())


def shown_while(ctx: ToolContext, args: ShownWhileArgs) -> ShownWhileResult:
    """What was on screen and said at a moment, what appeared after it, what is said next.

    Give said (words someone says), shown (words on screen), at (HH:MM:SS) or edge (first/last words). For "shown
    while X is said", "said while X is shown", "after X", "said at HH:MM:SS"; with before, "before X".
    """
    said = " ".join((args.said or "").split())
    shown_text = edge_text = None
    if said:
        if not tokenize(said):
            raise ToolRetry(f'"{said}" has no searchable words; give the words that are said.')
        found = ctx.searcher.search_transcript(said, top_k=1)
        if not found:
            raise ToolRetry(f'Nothing said matches "{said}". Try other words, or search for it first.')
        span, spoken = found[0].span, found[0].text
    elif args.at is not None:
        start, _ = ctx.check_span(args.at, args.at + 1.0)
        span = TimeSpan(start_s=max(0.0, start - 1.0), end_s=min(ctx.duration_s, start + 1.0))
        spoken = " ".join(u.text for u in ctx.searcher.speech_in(span))
    elif args.shown is not None:
        span, shown_text = _shown_at(ctx, " ".join(args.shown.split()))
        spoken = " ".join(u.text for u in ctx.searcher.speech_in(span))
    elif args.edge is not None:
        every = ctx.searcher.speech_in(TimeSpan(start_s=0.0, end_s=ctx.duration_s))
        if not every:
            raise ToolRetry("Nothing is said in this video.")
        first = every[0] if args.edge == "first" else every[-1]
        span, spoken, edge_text = first.span, first.text, args.edge
    else:
        raise ToolRetry("Give said (words someone says), at (a time, HH:MM:SS), shown (words on screen) or edge.")
    margin = ctx.searcher.sample_period_s / 2
    during = _blocks(ctx, span.start_s - margin, span.end_s + margin)
    labels = [row.labels for row in ctx.store.tag_rows(span.start_s - margin, span.end_s + margin)]
    visual = summarise_tags([[list(pair) for pair in tags] for tags in labels], top=4)
    known = {_words(t) for _, t in during}
    later = [(t, text) for t, text in _blocks(ctx, span.end_s + margin, span.end_s + AFTER_S)
             if _words(text) not in known]  # fmt: skip
    moment = Moment(span=span, text=[t for _, t in during], visual=visual)
    earlier = said_before = None
    if args.before:
        shown = _blocks(ctx, max(0.0, span.start_s - BEFORE_S), span.start_s - margin, last=True)
        earlier = sorted(((t, text) for t, text in shown if _words(text) not in known), reverse=True)
        past = ctx.searcher.speech_in(TimeSpan(start_s=max(0.0, span.start_s - NEXT_SAID_S), end_s=span.start_s))
        said_before = [(u.span, u.text) for u in reversed(past) if u.span.end_s <= span.start_s][:NEXT_SAID_MAX]
    upcoming = ctx.searcher.speech_in(TimeSpan(start_s=span.end_s, end_s=min(ctx.duration_s, span.end_s + NEXT_SAID_S)))
    said_next = [(u.span, u.text) for u in upcoming if u.span.start_s >= span.end_s][:NEXT_SAID_MAX]
    return ShownWhileResult(said=said or None, spoken=spoken, shown=shown_text, edge=edge_text, during=moment,
                            after=later, before=earlier, said_next=said_next, said_before=said_before)  # fmt: skip


def _shown_at(ctx: ToolContext, words: str) -> tuple[TimeSpan, str]:
    """Where the on-screen text best matching ``words`` is shown, and that text.

    Raises:
        ToolRetry: ``words`` has no searchable word, or no on-screen text matches them.
    """
    terms = tokenize(words)
    if not terms:
        raise ToolRetry(f'"{words}" has no searchable words; give words shown on screen.')
    hits = ctx.searcher.search(words, top_k=1, kinds=("ocr",))
    if not hits:
        raise ToolRetry(f'No on-screen text matches "{words}". Try other words, or search for it first.')
    hit = ctx.searcher.locate(hits[0], terms)
    at = hit.at or hit.span
    # A clip boundary can cut a sign's time on screen: follow its words over the keyframes on either side.
    needed = set(terms) & set(tokenize(hit.text))
    if not needed:
        return at, hit.text
    frames: dict[float, set[str]] = {}
    texts: dict[float, list[str]] = {}  # the lines naming a needed word, per keyframe
    for line in ctx.store.ocr_lines(max(0.0, at.start_s - SHOWN_REACH_S), at.end_s + SHOWN_REACH_S):
        on_line = set(tokenize(line.text))
        frames.setdefault(line.t_s, set()).update(on_line)
        if on_line & needed and line.text not in texts.setdefault(line.t_s, []):
            texts[line.t_s].append(line.text)
    times = sorted(t for t, seen in frames.items() if needed <= seen)
    if not times:
        return at, hit.text
    gap = 2 * ctx.searcher.sample_period_s + 0.5
    i = min(range(len(times)), key=lambda k: abs(times[k] - at.start_s))
    lo = hi = i
    while lo > 0 and times[lo] - times[lo - 1] <= gap:
        lo -= 1
    while hi < len(times) - 1 and times[hi + 1] - times[hi] <= gap:
        hi += 1
    start, end = times[lo], times[hi] + ctx.searcher.sample_period_s
    # A clip's document joins every text it shows: name the lines the words are on.
    return TimeSpan(start_s=start, end_s=min(ctx.duration_s, end)), " | ".join(texts[times[i]])
