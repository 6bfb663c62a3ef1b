"""The `transcript` tool: read the speech in a time range, or find where given words are said."""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from vidscout.errors import ToolRetry
from vidscout.retrieval.search import Utterance, snippet
from vidscout.text import tokenize
from vidscout.tools.registry import Seconds, ToolContext
from vidscout.tools.search import resolve_window
from vidscout.types import TimeSpan, format_hms, format_span


class TranscriptArgs(BaseModel):
    """Arguments of `transcript`."""

    start: Seconds | None = Field(default=None, description="Start of the range, HH:MM:SS.")
    end: Seconds | None = Field(
        default=None, description="End of the range, HH:MM:SS. Up to 3 minutes of speech are read per call."
    )
    query: str | None = Field(
        default=None,
        description="Words to find in the speech (within start-end if given). Omit to read everything "
        "said between start and end.",
    )


class TranscriptResult(BaseModel):
    """Utterances read from a range, or found for a query."""

    window: TimeSpan | None = None
    query: str | None = None
    utterances: list[Utterance]
    more_from_s: float | None = None  # the range was cut here; speech continues after it
    snippet_chars: int = 240

    def to_observation(self) -> str:
        """``[HH:MM:SS] text`` lines; for a query, best first with the time the words are said."""
        if self.query is not None:
            return self._matches()
        if self.window is None:
            return "No speech."
        cont = ""
        if self.more_from_s is not None:
            nxt = format_hms(self.more_from_s)
            cont = f"(Range cut at {nxt}: call transcript with start={nxt} to read on, or narrow the range.)"
        if not self.utterances:
            empty = f"No speech between {format_hms(self.window.start_s)} and {format_hms(self.window.end_s)}."
            return f"{empty}\n{cont}" if cont else empty
        lines = [f"Speech in {format_span(self.window)}:"]
        lines += [f"[{format_hms(u.span.start_s)}] {_who(u)}{u.text}" for u in self.utterances]
        if cont:
            lines.append(cont)
        return "\n".join(lines)

    def _matches(self) -> str:
        where = f" in {format_span(self.window)}" if self.window else ""
        terms = tokenize(self.query or "")
        lines = [f'Speech matching "{self.query}"{where}, best first:']
        for i, u in enumerate(self.utterances, start=1):
            said = f" (words said at {_moment(u.match)})" if u.match else ""
            text = snippet(u.text, terms, width=self.snippet_chars)
            lines.append(f'{i}. [{format_hms(u.span.start_s)}]{said} {_who(u)}"{text}"')
        return "\n".join(lines)


def _who(u: Utterance) -> str:
    """``"S2: "`` when the video has several speakers, else nothing."""
    return f"{u.speaker}: " if u.speaker else ""


def _moment(span: TimeSpan) -> str:
    """``HH:MM:SS`` when the span falls within one second, else ``HH:MM:SS-HH:MM:SS``."""
    a, b = format_hms(span.start_s), format_hms(span.end_s)
    return a if a == b else f"{a}-{b}"


def transcript(ctx: ToolContext, args: TranscriptArgs) -> TranscriptResult:
    """Read what is said between start and end, as timed lines (up to 3 minutes per call).

    With query, instead find the utterances that contain those words and when they are said.
    """
    o = ctx.tool_options.transcript
    window = resolve_window(ctx, args.start, args.end)
    query = " ".join((args.query or "").split())
    if query:
        if not tokenize(query):
            raise ToolRetry(f'"{query}" has no searchable words; give content words such as names or nouns.')
        found = ctx.searcher.search_transcript(query, window=window, top_k=o.top_k)
        if not found:
            where = f" in {format_span(window)}" if window else ""
            raise ToolRetry(
                f'No speech contains words of "{query}"{where}. Try other words or spellings, or use search '
                "(it also finds paraphrases, on-screen text and visuals)."
            )
        return TranscriptResult(window=window, query=query, utterances=found, snippet_chars=o.snippet_chars)
    if window is None:
        raise ToolRetry(
            "Give start and end (HH:MM:SS) to read the speech in a range, or a query to find where words are said."
        )
    more_from: float | None = None
    if window.duration_s > o.max_read_s:
        cut = window.start_s + o.max_read_s
        window = TimeSpan(start_s=window.start_s, end_s=cut)
        more_from = cut
    utterances = ctx.searcher.speech_in(window)
    if more_from is not None and utterances:
        # Continue after the last utterance shown, so the next call does not repeat it.
        more_from = float(math.ceil(max(more_from, utterances[-1].span.end_s)))
        if more_from >= ctx.duration_s:
            more_from = None
    return TranscriptResult(window=window, utterances=utterances, more_from_s=more_from)
