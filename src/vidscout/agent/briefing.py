"""Retrieval first: the tool calls the loop makes for the planner before its first turn.

Every question gets a search; one that names a single kind of evidence (on-screen text, or what is said: see
`asked_kind`) gets a second among that kind alone. Questions whose wording asks for a relation get the tool that
answers that relation too, so a small planner starts from the evidence instead of having to think of the call:

- "how many (different) X ..." -> ``occurrences`` of X (every appearance, in time order, with a count);
- "... while X is said / mentioned ..." -> ``shown_while`` X (what was on screen meanwhile);
- "... (right) after X is said / shown ..." -> ``shown_while`` X (what appeared in the next seconds);
- "... (right) before X is said / shown ..." -> ``shown_while`` X with ``before`` (what was shown in the seconds
  before);
- "what is said next, after X is mentioned?" -> ``shown_while`` X, which also lists what is said next;
- "what is said right before X is mentioned?" -> ``shown_while`` X with ``before``, which also lists what was said
  just before;
- "what is said / on screen at 00:02:10?" -> ``shown_while`` at that time (what is said and shown then);
- "what is said while X is on screen?" -> ``shown_while`` with X ``shown`` (when it is on screen, and what is said
  then); after or before X "is shown / on screen" likewise;
- "what is the first / last thing said?" -> ``shown_while`` at the video's first or last words (``edge``);
- "which comes first: X or Y?", "is X before or after Y?" -> ``order`` of X and Y (`vidscout.agent.ordering`).

The cues are phrasings long-video benchmarks share (MLVU and LVBench's counting, ordering and temporal
questions), not patterns of one question set; a question without them gets the search alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from pydantic import BaseModel

from vidscout.agent.ordering import order_question
from vidscout.agent.reader import asks_when
from vidscout.choices import time_options
from vidscout.text import tokenize

_SHOWN_VERBS = r"(?:shown|displayed|on\s+(?:the\s+)?screen|visible)"
"""How a question says an event is on screen, not said: "while the exit sign is on screen"."""
_EVENT_VERBS = (r"(?:mentioned|said|spoken|announced|discussed|talked about|read out|read|named|heard|"
                rf"{_SHOWN_VERBS})")  # fmt: skip
_COUNT = re.compile(
    r"\bhow many\s+(?:different\s+|distinct\s+|separate\s+|times\s+(?:is|are|was|were|does|do|did)\s+)?"
    r"(?P<what>.+?)\s+(?:is|are|was|were|do|does|did|appear|appears|get|gets|can|have|has|shown|mentioned)\b",
    re.IGNORECASE,
)
_APPEARS = r"(?:appears|appeared|shows\s+up|comes\s+up|pops\s+up)"
"""An event that comes on screen, said without "is": "when the exit sign appears"."""
_EVENT_END = (rf"(?:(?:is|are|was|were|gets|get)\s+(?:being\s+)?(?P<verb>{_EVENT_VERBS})"
              rf"|(?P<appears>{_APPEARS})(?:\s+on\s+(?:the\s+)?screen)?)\b")  # fmt: skip
"""How an event's clause ends: "is (being) mentioned", "is on screen", "appears (on screen)"."""
_WHILE = re.compile(rf"\b(?:while|during|as|(?<=[\w,]\s)when)\s+(?P<event>.+?)\s+{_EVENT_END}", re.IGNORECASE)
"""While, during or as an event; or when, inside a question ("What is said when the sign appears?"), not opening
it ("When is the sign shown?" asks for a time)."""
_AFTER = re.compile(
    rf"\b(?:right\s+|just\s+|immediately\s+|shortly\s+|directly\s+)?after\s+(?P<event>.+?)\s+{_EVENT_END}",
    re.IGNORECASE,
)


_BEFORE = re.compile(
    rf"\b(?:right\s+|just\s+|immediately\s+|shortly\s+|directly\s+)?before\s+(?P<event>.+?)\s+{_EVENT_END}",
    re.IGNORECASE,
)


MomentKind = Literal["while", "after", "before", "at", "first", "last"]
_AT_TIME = re.compile(r"\b(?:at|around)\s+(?P<t>(?P<h>\d{1,2}:)?\d{1,2}:\d{2})\b(?!\s*(?:am|pm|a\.m|p\.m))", re.I)
"""A moment named by its time in the video: "at 00:02:10", or "at 2:10" when the question says it is the video's
("at 2:10 in the video"); "opens at 9:30" is a time of day."""
_VIDEO_TIME = re.compile(r"\b(?:video|clip|footage|recording|timestamp|mark)\b", re.I)
_SAID = re.compile(
    r"\b(?:said|say|says|spoken|speak|speaks|announced|announce|mentioned|mention|heard|hear|talked|talk|stated)\b",
    re.I,
)
_SHOWN = re.compile(
    r"\b(?:screen|shown|show|shows|appear|appears|displayed|written|text|sign|visible|see|seen)\b", re.I
)

_ON_SCREEN = re.compile(
    r"\b(?:on[- ]screen|on the screen|signs?|written|captions?|text|banner|poster|label|subtitles?)\b", re.I
)
"""A question about on-screen text: "the discount advertised on screen", "the on-screen text", "the sign". Narrower
than `_SHOWN`, which also takes "shown", "appears" and "full-screen" (a photograph is shown, not written)."""
_BY_VOICE = re.compile(rf"{_SAID.pattern}|\b(?:speaker|narrator|voice|announcement)\b", re.I)
"""A question about speech: what is said, mentioned, announced, or what the speaker says."""
_EDGE_THING = re.compile(
    r"\b(?P<which>first|last|final|opening|closing)\s+(?:\w+\s+)?(?:things?|words?|lines?|sentences?|remarks?|"
    r"announcements?|statements?|utterances?|message)\b",
    re.I,
)
_EDGE_VERB = re.compile(
    r"\b(?:said|says|say|spoken|speaks|heard|announced|mentioned|stated)\s+(?P<which>first|last)\b"
    r"\s*(?:$|[?.,!]|(?:in|of|on|during|by|at)\b)",
    re.I,
)
"""The video's first or last words: "What is the last thing said in the video?", "What does the narrator say
first?" (a question about speech, `_BY_VOICE`); not "Which is said first: X or Y?" (an order question)."""


def asked_kind(question: str) -> Literal["ocr", "speech"] | None:
    """The one kind of evidence a question names: on-screen text or speech; None when it names both or neither.

    A clip's visual tags say "text on screen" whenever it shows text, so "the discount advertised on screen" ranks
    them with the sign that answers it; a search among the named kind alone puts the sign first.
    """
    shown, said = bool(_ON_SCREEN.search(question)), bool(_BY_VOICE.search(question))
    return "ocr" if shown and not said else "speech" if said and not shown else None


_MOMENT_CUES: tuple[tuple[MomentKind, re.Pattern[str], str, dict[str, Any]], ...] = (
    ("while", _WHILE, "what was on screen while", {}),
    ("after", _AFTER, "what came right after", {}),
    ("before", _BEFORE, "what came right before", {"before": True}),
)
"""The cues answered by `shown_while` at the moment an event is said: the pattern, why, and its other arguments."""


class MomentCue(BaseModel, frozen=True):
    """The moment a question is about, and the `shown_while` arguments that look at it."""

    kind: MomentKind
    arguments: dict[str, Any]
    why: str
    said: bool
    """Whether the question asks what is said then (at a time), next or just before (an event), not what is shown."""


def moment_cue(question: str) -> MomentCue | None:
    """The moment ``question`` names: around something said or on screen, at a time, or at the first or last words.

    While, right after or right before something is said or on screen; at a time in the video; or when the video's
    first or last words are said.

    For ``said``, the moment's own clause ("after the train to Lisbon is mentioned") is set aside first: "What is
    said next, after X is mentioned?" asks for speech, "Right after X is mentioned, which sign appears?" for text.
    "While" asks for speech only while something is on screen (what is said while something is said is the thing
    itself).
    """
    rest = question
    for _, pattern, _, _ in _MOMENT_CUES:
        rest = pattern.sub(" ", rest)
    rest = _AT_TIME.sub(" ", rest)
    speech = bool(_SAID.search(rest)) and not _SHOWN.search(rest)
    for kind, pattern, why, extra in _MOMENT_CUES:
        if (m := pattern.search(question)) and (event := _phrase(m.group("event"))):
            if m.group("appears") or re.fullmatch(_SHOWN_VERBS, m.group("verb"), re.I):  # on screen: when it is shown
                why = why.replace("on screen", "said") if kind == "while" else why
                return MomentCue(kind=kind, arguments={"shown": event, **extra}, why=f"{why} {event} is on screen",
                                 said=speech)  # fmt: skip
            return MomentCue(kind=kind, arguments={"said": event, **extra}, why=f"{why} {event}",
                             said=speech and kind != "while")  # fmt: skip
    m = _AT_TIME.search(question)
    if m and (m.group("h") or _VIDEO_TIME.search(question)) and not asks_when(question):
        at = m.group("t")
        return MomentCue(kind="at", arguments={"at": at}, why=f"what is said and shown at {at}", said=speech)
    edge = _EDGE_THING.search(question) or _EDGE_VERB.search(question)
    if edge and _BY_VOICE.search(question) and not _COUNT.search(question) and order_question(question) is None:
        which: Literal["first", "last"] = "first" if edge.group("which").lower() in ("first", "opening") else "last"
        return MomentCue(kind=which, arguments={"edge": which}, why=f"the {which} words said", said=True)
    return None


class BriefingCall(BaseModel, frozen=True):
    """One call the loop makes before the planner's first turn, and why."""

    tool: str
    arguments: dict[str, Any]
    why: str


def _phrase(text: str) -> str | None:
    """The content words of a phrase ("the museum closing early" -> "museum closing early"), or None."""
    words = [w for w in re.findall(r"[\w'-]+", text) if tokenize(w)]
    return " ".join(words) if words else None


KIND_TOP_K = 4
"""Hits of the search among the one kind of evidence a question names (`asked_kind`)."""


def briefing_calls(question: str, *, options: Sequence[str] = (), top_k: int = 6) -> Iterator[BriefingCall]:
    """The calls for ``question``: a search, then the relation tools its wording asks for.

    With answer options that are not clock times, a second search for the question with its options: a
    question alone ("Which code is displayed?") rarely shares a word with the line that answers it, while
    the right option usually does.
    """
    yield BriefingCall(tool="search", arguments={"query": question, "top_k": top_k}, why="the question")
    if kind := asked_kind(question):
        why = f"the question among {'on-screen text' if kind == 'ocr' else 'speech'} alone"
        yield BriefingCall(tool="search", arguments={"query": question, "top_k": KIND_TOP_K, "kind": kind}, why=why)
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
    if cue := moment_cue(question):
        yield BriefingCall(tool="shown_while", arguments=cue.arguments, why=cue.why)
