"""Retrieval first: the tool calls the loop makes for the planner before its first turn.

Every question gets a search. Questions whose wording asks for a relation get the tool that answers that
relation too, so a small planner starts from the evidence instead of having to think of the call:

- "how many (different) X ..." -> ``occurrences`` of X (every appearance, in time order, with a count);
- "... while X is said / mentioned ..." -> ``shown_while`` X (what was on screen meanwhile);
- "... (right) after X is said / shown ..." -> ``shown_while`` X (what appeared in the next seconds);
- "... (right) before X is said / shown ..." -> ``shown_while`` X with ``before`` (what was shown in the seconds
  before);
- "which comes first: X or Y?", "is X before or after Y?" -> ``order`` of X and Y (`vidscout.agent.ordering`).

The cues are phrasings long-video benchmarks share (MLVU and LVBench's counting, ordering and temporal
questions), not patterns of one question set; a question without them gets the search alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel

from vidscout.agent.ordering import order_question
from vidscout.choices import time_options
from vidscout.text import tokenize

_EVENT_VERBS = r"(?:mentioned|said|spoken|announced|discussed|talked about|read out|read|shown|displayed|named|heard)"
_COUNT = re.compile(
    r"\bhow many\s+(?:different\s+|distinct\s+|separate\s+|times\s+(?:is|are|was|were|does|do|did)\s+)?"
    r"(?P<what>.+?)\s+(?:is|are|was|were|do|does|did|appear|appears|get|gets|can|have|has|shown|mentioned)\b",
    re.IGNORECASE,
)
_WHILE = re.compile(
    rf"\b(?:while|during|as)\s+(?P<event>.+?)\s+(?:is|are|was|were)\s+(?:being\s+)?{_EVENT_VERBS}\b", re.IGNORECASE
)
_AFTER = re.compile(
    rf"\b(?:right\s+|just\s+|immediately\s+|shortly\s+|directly\s+)?after\s+(?P<event>.+?)\s+(?:is|are|was|were|gets|get)"
    rf"\s+(?:being\s+)?{_EVENT_VERBS}\b",
    re.IGNORECASE,
)


_BEFORE = re.compile(
    rf"\b(?:right\s+|just\s+|immediately\s+|shortly\s+|directly\s+)?before\s+(?P<event>.+?)\s+"
    rf"(?:is|are|was|were|gets|get)\s+(?:being\s+)?{_EVENT_VERBS}\b",
    re.IGNORECASE,
)


_MOMENT_CUES: tuple[tuple[re.Pattern[str], str, dict[str, Any]], ...] = (
    (_WHILE, "what was on screen while", {}),
    (_AFTER, "what came right after", {}),
    (_BEFORE, "what came right before", {"before": True}),
)
"""The cues answered by `shown_while` at the moment an event is said: the pattern, why, and its other arguments."""


class BriefingCall(BaseModel, frozen=True):
    """One call the loop makes before the planner's first turn, and why."""

    tool: str
    arguments: dict[str, Any]
    why: str


def _phrase(text: str) -> str | None:
    """The content words of a phrase ("the museum closing early" -> "museum closing early"), or None."""
    words = [w for w in re.findall(r"[\w'-]+", text) if tokenize(w)]
    return " ".join(words) if words else None


def briefing_calls(question: str, *, options: Sequence[str] = (), top_k: int = 6) -> Iterator[BriefingCall]:
    """The calls for ``question``: a search, then the relation tools its wording asks for.

    With answer options that are not clock times, a second search for the question with its options: a
    question alone ("Which code is displayed?") rarely shares a word with the line that answers it, while
    the right option usually does.
    """
    yield BriefingCall(tool="search", arguments={"query": question, "top_k": top_k}, why="the question")
    if options and time_options(options) is None:
        query = f"{question} {' '.join(options)}"[:500]
        yield BriefingCall(tool="search", arguments={"query": query, "top_k": top_k}, why="the question's options")
    if ask := order_question(question, options):
        why = f"the order of {len(ask.events)} events"
        yield BriefingCall(tool="order", arguments={"events": list(ask.events)}, why=why)
    if m := _COUNT.search(question):
        what = _phrase(m.group("what"))
        if what and what.lower() not in ("time", "times"):
            yield BriefingCall(tool="occurrences", arguments={"query": what}, why=f"counting {what}")
    for pattern, why, extra in _MOMENT_CUES:
        if m := pattern.search(question):
            event = _phrase(m.group("event"))
            if event:
                yield BriefingCall(tool="shown_while", arguments={"said": event, **extra}, why=f"{why} {event}")
                break
