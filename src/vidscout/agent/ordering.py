"""Order questions: which of two events comes first (or last), and whether one is before or after another.

`order_question` reads the events and what is asked from the wording long-video benchmarks use for temporal
order ("Which comes first in the video: X or Y?", "Is X mentioned before or after Y?", "Does X come before
Y?"); with answer options that are not clock times, the options are the events. `order_answer` turns the
`order` tool's placements into the answer, or None when they do not settle it (an event not found, two at
the same moment, one found by meaning alone), so the tool loop goes on with them as evidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from vidscout.choices import time_options
from vidscout.text import tokenize
from vidscout.tools.order import OrderResult, Placed
from vidscout.types import Evidence, format_hms

Want = Literal["first", "last", "before", "after", "before_or_after"]

_VERB = (r"(?:comes?|came|happens?|happened|appears?|appeared|occurs?|occurred|"
         r"(?:is|are|was|were|gets?|got)\s+(?:said|shown|mentioned|heard|seen|displayed|announced|named))")  # fmt: skip
_WHICH = re.compile(
    rf"\b(?:which|what)\s+(?:\w+\s+)?(?:{_VERB}\s+|(?:is|was)\s+)?(?P<which>first|earlier|sooner|last|later)\b"
    r"(?:\s+in\s+the\s+(?:video|clip))?\s*[:,-]?\s*(?P<a>.+?)\s*,?\s+or\s+(?P<b>.+?)\s*[?.]?\s*$",
    re.IGNORECASE,
)
_BEFORE_OR_AFTER = re.compile(
    rf"^\s*(?:is|was|are|were|does|did|do)\s+(?P<a>.+?)\s+(?:{_VERB}\s+|\w+\s+)?before\s+or\s+after\s+(?P<b>.+?)\s*[?.]?\s*$",
    re.IGNORECASE,
)
_YES_NO = re.compile(
    rf"^\s*(?:is|was|are|were|does|did|do)\s+(?P<a>.+?)\s+(?:{_VERB}\s+|come\s+|happen\s+|appear\s+|occur\s+)?"
    r"(?P<rel>before|after|earlier than|later than)\s+(?P<b>.+?)\s*[?.]?\s*$",
    re.IGNORECASE,
)
_ONLY_WHICH = re.compile(
    rf"\b(?:which|what)\s+(?:\w+\s+){{0,3}}?{_VERB}\s+(?:\w+\s+){{0,2}}?(?P<which>first|earlier|sooner|last|later)"
    r"\s*(?:$|[?.,:;]|(?:in|on|during|of|among)\b)",
    re.I,
)
"""With options: "Which city is shown first?", "Which of these appears on screen last?"; not "What is the first
name ...?" or "Which name is shown on the first card?"."""


_TRAILING_VERB = re.compile(
    rf"\s+(?:{_VERB}|(?:being\s+)?(?:said|shown|mentioned|heard|seen|displayed|announced))\s*$", re.IGNORECASE
)


class OrderAsk(BaseModel, frozen=True):
    """What an order question asks: its events and whether the first, the last, or a before/after."""

    events: tuple[str, ...]
    want: Want


def _clean(phrase: str) -> str:
    """An event phrase without the verbs around it ("the sale sign shown" -> "the sale sign")."""
    return _TRAILING_VERB.sub("", phrase.strip(" ,;:?."))


def order_question(question: str, options: Sequence[str] = ()) -> OrderAsk | None:
    """The order question ``question`` asks, or None when it asks none (the options' texts are its events)."""
    text = " ".join(question.split())
    if options and time_options(options) is None and 2 <= len(options) <= 6:
        if (m := _ONLY_WHICH.search(text)) and len({_key(o) for o in options}) == len(options):
            want: Want = "first" if m.group("which").lower() in ("first", "earlier", "sooner") else "last"
            return OrderAsk(events=tuple(options), want=want)
        return None
    if options:
        return None
    if m := _WHICH.search(text):
        want = "first" if m.group("which").lower() in ("first", "earlier", "sooner") else "last"
        events = (_clean(m.group("a")), _clean(m.group("b")))
    elif m := _BEFORE_OR_AFTER.search(text):
        want, events = "before_or_after", (_clean(m.group("a")), _clean(m.group("b")))
    elif m := _YES_NO.search(text):
        want = "before" if m.group("rel").lower() in ("before", "earlier than") else "after"
        events = (_clean(m.group("a")), _clean(m.group("b")))
    else:
        return None
    if not all(tokenize(e) for e in events) or tokenize(events[0]) == tokenize(events[1]):
        return None
    return OrderAsk(events=events, want=want)


class OrderAnswer(BaseModel, frozen=True):
    """An order question's answer and the placements it rests on."""

    answer: str
    option: str | None = None
    evidence: tuple[Evidence, ...]
    why: str


def _key(event: str) -> str:
    return " ".join(tokenize(event))


def _at(p: Placed) -> str:
    return f"{p.event} ({format_hms(p.span.start_s)})"


def order_answer(ask: OrderAsk, result: OrderResult, options: Sequence[tuple[str, str]] = ()) -> OrderAnswer | None:
    """The answer the placements give, or None when they do not settle it.

    With ``options`` ((letter, text) pairs whose texts are the events) the answer is the chosen option's text and
    letter.
    """
    if not result.distinct or not all(p.named for p in result.items):
        return None
    by_event = {_key(p.event): p for p in result.items}
    placed = [by_event.get(_key(e)) for e in ask.events]
    if any(p is None for p in placed):
        return None
    items = result.items  # in time order
    evidence = tuple(Evidence(span=p.span, note=f"{p.kind}: {p.text[:100]}") for p in items)
    why = "placed by search: " + ", then ".join(_at(p) for p in items)
    a, b = placed[0], placed[1]
    assert a is not None and b is not None
    option = None
    if ask.want in ("first", "last"):
        pick = items[0] if ask.want == "first" else items[-1]
        rest = [p for p in items if p is not pick]
        verb = "comes first" if ask.want == "first" else "comes last"
        answer = f"{pick.event} {verb}, at {format_hms(pick.span.start_s)}; " + "; ".join(
            f"{p.event} is at {format_hms(p.span.start_s)}" for p in rest
        )
        if options:
            letters = [letter for letter, text in options if _key(text) == _key(pick.event)]
            if len(letters) != 1:
                return None
            option, answer = letters[0], pick.event
    elif ask.want == "before_or_after":
        rel = "before" if a.span.start_s < b.span.start_s else "after"
        answer = f"{rel.capitalize()}: {_at(a)} is {rel} {_at(b)}."
    else:
        before = a.span.start_s < b.span.start_s
        yes = before if ask.want == "before" else not before
        rel = "before" if before else "after"
        answer = f"{'Yes' if yes else 'No'}: {_at(a)} is {rel} {_at(b)}."
    return OrderAnswer(answer=answer, option=option, evidence=evidence, why=why)
