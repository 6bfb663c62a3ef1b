"""The `occurrences` tool: every moment some words are said or shown, or a visual label is seen, in time order.

Counting ("how many times ...") and ordering ("which comes first") questions need every occurrence, not the
best few: search ranks and diversifies, this lists. On-screen text seen on consecutive keyframes is one
occurrence (one appearance); distinct texts are counted apart.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from vidscout.errors import ToolRetry
from vidscout.memory.text_regions import text_blocks
from vidscout.retrieval.search import HOW_FOUND
from vidscout.text import tokenize
from vidscout.tools.registry import ToolContext
from vidscout.types import TimeSpan, format_span

Kind = Literal["speech", "ocr", "visual"]


class OccurrencesArgs(BaseModel):
    """Arguments of `occurrences`."""

    query: str = Field(
        min_length=1, description="The words to find: said, written on screen, or a visual label (e.g. 'dog')."
    )
    kind: Kind | None = Field(
        default=None, description="Only speech, only on-screen text (ocr), or only visual labels. Omit for all."
    )


class Occurrence(BaseModel, frozen=True):
    """One appearance: where, of which kind, and its text."""

    span: TimeSpan
    kind: Kind
    text: str


class OccurrencesResult(BaseModel):
    """Every occurrence in time order."""

    query: str
    items: list[Occurrence]
    limit: int = 30

    @property
    def distinct(self) -> int:
        """Distinct texts among the occurrences (the same sign shown twice counts once)."""
        return len({(o.kind, " ".join(tokenize(o.text))) for o in self.items})

    def to_observation(self) -> str:
        """A count line, then one line per occurrence: span, kind, text."""
        if not self.items:
            return f'"{self.query}" is never said or shown.'
        head = (f'"{self.query}" occurs {len(self.items)} time(s), {self.distinct} distinct, in time order'
                f"{' (first ' + str(self.limit) + ' listed)' if len(self.items) > self.limit else ''}:")  # fmt: skip
        lines = [head]
        for i, o in enumerate(self.items[: self.limit], start=1):
            label = HOW_FOUND[o.kind]
            lines.append(f'{i}. {format_span(o.span)} [{label}] "{o.text[:160]}"')
        return "\n".join(lines)


def _matches(text: str, wanted: set[str], need: int) -> bool:
    return len(set(tokenize(text)) & wanted) >= need


def find_occurrences(ctx: ToolContext, query: str, kind: Kind | None = None) -> list[Occurrence]:
    """Every occurrence of ``query`` (at least half its words) in time order."""
    terms = set(tokenize(query))
    if not terms:
        raise ToolRetry(f'"{query}" has no searchable words; give content words such as names or nouns.')
    need = (len(terms) + 1) // 2
    items: list[Occurrence] = []
    if kind in (None, "speech"):
        window = TimeSpan(start_s=0.0, end_s=ctx.duration_s + 1.0)
        for u in ctx.searcher.speech_in(window):
            if _matches(u.text, terms, need):
                who = f"{u.speaker}: " if u.speaker else ""
                items.append(Occurrence(span=u.span, kind="speech", text=who + u.text))
    period = ctx.searcher.sample_period_s
    if kind in (None, "ocr"):
        frames: dict[float, list[tuple[str, float, tuple[float, float, float, float]]]] = {}
        for line in ctx.store.ocr_lines():
            frames.setdefault(line.t_s, []).append((line.text, line.score, line.box))
        open_: dict[str, Occurrence] = {}  # text shown on the previous keyframe -> its running occurrence
        for t in sorted(frames):
            seen: dict[str, Occurrence] = {}
            for text, _ in text_blocks(frames[t]):
                if not _matches(text, terms, need):
                    continue
                key = " ".join(tokenize(text))
                before = open_.get(key)
                if before is not None and t - before.span.end_s <= period + 0.5:
                    seen[key] = before.model_copy(
                        update={"span": TimeSpan(start_s=before.span.start_s, end_s=t + period)}
                    )
                    items[items.index(before)] = seen[key]
                else:
                    seen[key] = Occurrence(span=TimeSpan(start_s=t, end_s=t + period), kind="ocr", text=text)
                    items.append(seen[key])
            open_ = seen
    if kind in (None, "visual"):
        last: Occurrence | None = None
        for row in ctx.store.tag_rows():
            labels = ", ".join(label for label, score in row.labels if score >= 0.2)
            if not labels or not _matches(labels, terms, 1):
                continue
            if last is not None and row.t_s - last.span.end_s <= period + 0.5:
                grown = last.model_copy(update={"span": TimeSpan(start_s=last.span.start_s, end_s=row.t_s + period)})
                items[items.index(last)] = grown
                last = grown
            else:
                last = Occurrence(span=TimeSpan(start_s=row.t_s, end_s=row.t_s + period), kind="visual", text=labels)
                items.append(last)
    return sorted(items, key=lambda o: (o.span.start_s, o.kind))


def occurrences(ctx: ToolContext, args: OccurrencesArgs) -> OccurrencesResult:
    """List every moment, in time order, where these words are said, shown on screen or seen as a label.

    Use it to count ("how many times ...", "how many different ...") or to order events; it says how many
    distinct texts there are.
    """
    query = " ".join(args.query.split())
    return OccurrencesResult(query=query, items=find_occurrences(ctx, query, args.kind))
