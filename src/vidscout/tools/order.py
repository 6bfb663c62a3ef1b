"""The `order` tool: when each of a few events happens, in time order.

"Which comes first, X or Y?" needs two places compared, not one found: a small planner left to find and compare
them itself takes about a minute of tool calls on a CPU, and on two fresh question sets chose wrong three times in
six. This tool places each event where search places it (of the
best hits, the one holding most of the event's words, narrowed to them), at its first appearance when the same
text is found more than once, and lists them by time.
"""

from __future__ import annotations

import itertools

from pydantic import BaseModel, Field

from vidscout.errors import ToolRetry
from vidscout.memory.entities import with_kinds
from vidscout.retrieval.search import HOW_FOUND, Hit, HitKind
from vidscout.text import NEAR_MIN, near_share, tokenize
from vidscout.tools.registry import ToolContext
from vidscout.types import TimeSpan, format_span

PLACE_TOP_K = 10
"""Hits read for each event."""
NAMED_SHARE = 0.5
"""An event is placed by its words when the evidence holds at least this share of them (else by meaning alone)."""


class OrderArgs(BaseModel):
    """Arguments of `order`."""

    events: list[str] = Field(
        min_length=2,
        max_length=6,
        description="Two to six events, each in a few words that are said or shown then (e.g. 'the password').",
    )


class Placed(BaseModel, frozen=True):
    """One event and where search places it."""

    event: str
    span: TimeSpan
    kind: HitKind
    text: str
    named: bool = Field(description="Whether the evidence holds at least half the event's words (else found by "
                        "meaning alone).")  # fmt: skip


class OrderResult(BaseModel):
    """The events found, in time order, and those that were not."""

    items: list[Placed]
    missing: list[str] = Field(default_factory=list[str])

    @property
    def distinct(self) -> bool:
        """Whether every event was found and no two at the same moment (else the order is not known)."""
        if self.missing or len(self.items) < 2:
            return False
        starts = [p.span.start_s for p in self.items]
        return all(b - a >= 1.0 for a, b in itertools.pairwise(starts))

    def to_observation(self) -> str:
        """One line per event in time order, then what cannot be told."""
        lines = ["The events in time order:"]
        for i, p in enumerate(self.items, start=1):
            how = "" if p.named else " (found by meaning only: most of its words are not there)"
            lines.append(f'{i}. {format_span(p.span)} "{p.event}": {HOW_FOUND[p.kind]} "{p.text[:120]}"{how}')
        if self.missing:
            lines.append("Not found: " + "; ".join(f'"{m}"' for m in self.missing) + ".")
        elif not self.distinct:
            lines.append("Two events were found at the same moment: their order cannot be told from this.")
        return "\n".join(lines)


def _share(event: str, hit: Hit) -> float:
    """The share of the event's words that the hit's text holds, the kinds of thing each holds included.

    In speech and on-screen text, a word the recogniser got wrong counts as much as it is close to what it heard or
    read (`near_share`): "the meeting at the marble fountain" is nearer "meet me at the Mabel Founty" than a line
    saying only "meet". Tag labels count exactly: the tagger chose them, nobody said them.
    """
    least = NEAR_MIN if hit.kind in ("speech", "ocr") else 1.0
    return near_share(with_kinds(event), with_kinds(hit.text), least=least)


def _place(ctx: ToolContext, event: str) -> Placed | None:
    """Where ``event`` happens: of its best hits, the one holding most of its words, at its first appearance.

    Equal shares go to the better ranked hit; the same text found twice counts from the earlier; the span is then
    narrowed to the event's words.

    A label guessed from the picture ("fountain") shares a word with "the meeting at the granite fountain" and may
    outrank the line that says it; the line holding all three words places the meeting.
    """
    hits = ctx.searcher.search(event, top_k=PLACE_TOP_K)
    if not hits:
        return None
    best = max(hits, key=lambda h: _share(event, h))  # max keeps the best ranked of equal shares
    text = tokenize(best.text)
    same = [h for h in hits if h.kind == best.kind and tokenize(h.text) == text]
    first: Hit = min(same, key=lambda h: (h.at or h.span).start_s)
    span = first.at or first.span
    named = _share(event, first) >= NAMED_SHARE
    return Placed(event=event, span=span, kind=first.kind, text=" ".join(first.text.split()), named=named)


def order(ctx: ToolContext, args: OrderArgs) -> OrderResult:
    """Put two to six events in time order: where each is said, shown or seen first, earliest first.

    Use it for "which comes first", "is X before or after Y" and "what is the order of ..." questions.
    """
    events = [" ".join(e.split()) for e in args.events]
    if any(not tokenize(e) for e in events):
        raise ToolRetry("Name every event with content words (a name, a thing said or shown), not only 'the' or 'it'.")
    items: list[Placed] = []
    missing: list[str] = []
    for event in events:
        placed = _place(ctx, event)
        if placed is None:
            missing.append(event)
        else:
            items.append(placed)
    return OrderResult(items=sorted(items, key=lambda p: p.span.start_s), missing=missing)
