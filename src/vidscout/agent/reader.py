"""The reader: one constrained model call that answers from the briefing's evidence, or says it cannot.

The briefing's results (search hits, occurrences with their count, what was on screen while something was
said) become one numbered list of evidence lines, each with its time. The model replies
``{"line": n, "answer": "..."}`` (or ``{"line": n, "option": "B"}`` for multiple choice) under a JSON
schema: which line answers the question, and the answer copied from it; ``line`` 0 means none does. An
answer is kept only when its own words are on the line it names (a small model that copies is reliable; one
that composes is not), so the common case costs one model call and the rest goes on to the tool loop.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel

from vidscout.choices import time_options
from vidscout.memory.entities import search_words
from vidscout.models.base import LLM, ChatMessage, GenerationOptions
from vidscout.models.replies import extract_json
from vidscout.prompts.render import render
from vidscout.retrieval.search import HOW_FOUND, Hit
from vidscout.text import NEAR_MIN, near_share, tokenize
from vidscout.tools.occurrences import OccurrencesResult
from vidscout.tools.shown import ShownWhileResult
from vidscout.types import TimeSpan, format_hms, format_span

_WHEN = re.compile(r"^\s*(?:when\b|at what (?:time|point|moment)\b|what time\b|how (?:long|far|soon) into\b)", re.I)
_CLOCK = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
_VAGUE = frozenset(tokenize("video clip said mentioned shown screen appear written displayed time name number first"))


_OF_THE_VIDEO = re.compile(
    r"\b(?:video|clip|film|movie|footage|recording|scene|screen|on-screen|speaker|narrator|mention\w*|said|says?|"
    r"spoken|speak\w*|talk\w*|discuss\w*|announc\w*|heard|hear|shown|shows?|showing|appear\w*|visible|seen|see|"
    r"displayed|written|read)\b",
    re.I,
)
"""Words by which a when-question asks about the video itself: something said, shown or seen in it."""


def asks_when(question: str) -> bool:
    """Whether the question asks when ("When ...", "At what time ..."): a time in the video, or one it states."""
    return bool(_WHEN.search(question))


def asks_video_time(question: str) -> bool:
    """Whether the question asks for a time in the video: it asks when something is said, shown or seen in it.

    "When does the bakery open?" does not: its answer may be the hour the video states, so the reader is told to
    copy a stated time or day first (`read`).
    """
    return asks_when(question) and bool(_OF_THE_VIDEO.search(question))


def when_asked(question: str) -> Literal["video", "stated", ""]:
    """Which "when" the question asks, as the reader's and the planner's prompts take it.

    "video": a time in the video (`asks_video_time`); "stated": another when-question, whose answer is the time or
    day the video states, if any; "": not a when-question.
    """
    return "video" if asks_video_time(question) else "stated" if asks_when(question) else ""


class EvidenceLine(BaseModel, frozen=True):
    """One numbered line the reader may answer from."""

    span: TimeSpan | None
    kind: str
    text: str
    hit: Hit | None = None
    """The search hit the line shows, so the answer can be pinned to the words it copies."""

    def render(self, n: int) -> str:
        """``n. HH:MM:SS-HH:MM:SS [kind] text``."""
        where = format_span(self.span) + " " if self.span is not None else ""
        return f"{n}. {where}[{self.kind}] {self.text}"


_RELATION_KINDS = frozenset({"count", "on screen meanwhile", "on screen right after", "on screen right before",
                             "said then", "on screen then", "said next", "said just before"})  # fmt: skip
"""Lines the relation tools produced for the question's own cue: relevant by construction, not by shared words."""


def evidence_lines(results: Sequence[object], *, said: bool = False) -> list[EvidenceLine]:
    """The briefing's tool results as evidence lines, the relation tools' first, then the search hits.

    The relation tools answer the question's own cue (a count, what was on screen while), so they lead. With
    ``said`` (the question asks what is said then, next or just before, `vidscout.agent.briefing.MomentCue`), a
    moment gives its speech instead of its on-screen text.

    A question about one moment is answered by what is there: asked what is said or shown at a time, only the
    hits at that time are kept; asked what is said next after a line (or just before it), none are (a hit found by
    the question's words is the line itself, or speech from elsewhere in the video).
    """
    lines: list[EvidenceLine] = []
    ordered = [r for r in results if not hasattr(r, "hits")] + [r for r in results if hasattr(r, "hits")]
    at_times = [r.during.span for r in results if isinstance(r, ShownWhileResult) and r.said is None]
    beside = said and any(isinstance(r, ShownWhileResult) and r.said for r in results)
    for r in ordered:
        if isinstance(r, OccurrencesResult):
            lines.append(EvidenceLine(span=None, kind="count", text=f'"{r.query}" occurs {len(r.items)} time(s), '
                                      f"{r.distinct} distinct"))  # fmt: skip
            lines += [EvidenceLine(span=o.span, kind=HOW_FOUND[o.kind], text=o.text) for o in r.items[:12]]
        elif isinstance(r, ShownWhileResult) and r.said is None:  # a moment named by its time
            then = [r.spoken] if said else r.during.text
            lines += [EvidenceLine(span=r.during.span, kind="said then" if said else "on screen then", text=t)
                      for t in then if t]  # fmt: skip
        elif isinstance(r, ShownWhileResult) and said:  # said next or just before: the line itself would mislead
            side, kind = (r.said_next, "said next") if r.said_before is None else (r.said_before, "said just before")
            lines += [EvidenceLine(span=span, kind=kind, text=text) for span, text in side[:1]]
        elif isinstance(r, ShownWhileResult):
            if r.spoken:
                lines.append(EvidenceLine(span=r.during.span, kind="said", text=r.spoken))
            lines += [EvidenceLine(span=r.during.span, kind="on screen meanwhile", text=t) for t in r.during.text]
            # Asked for what came before, the question is about before: what came after would only mislead.
            side, kind = (r.after, "right after") if r.before is None else (r.before, "right before")
            lines += [EvidenceLine(span=TimeSpan(start_s=t, end_s=t + 2.0), kind=f"on screen {kind}", text=text)
                      for t, text in side[:4]]  # fmt: skip
        else:
            hits: list[Hit] = list(getattr(r, "hits", []))
            if beside:  # what is said next or just before
                hits = []
            elif at_times:
                hits = [h for h in hits if any(h.span.overlaps(span) for span in at_times)]
            for h in hits:
                lines += [EvidenceLine(span=x.at or x.span, kind=HOW_FOUND[x.kind], text=x.text, hit=x)
                          for x in (h, *h.others)]  # fmt: skip
    seen: set[tuple[TimeSpan | None, str, str]] = set()
    unique = []
    for line in lines:  # the briefing's searches (the question, its kind, its options) often find the same hit
        if (key := (line.span, line.kind, line.text)) not in seen:
            seen.add(key)
            unique.append(line)
    return unique


class Reading(BaseModel, frozen=True):
    """What the reader concluded: the answer and the line it rests on, or why there is none."""

    answer: str | None
    option: str | None = None
    line: EvidenceLine | None = None
    why: str = ""
    words: tuple[str, ...] = ()
    """The answer's own tokens (those not in the question): what the evidence must hold."""


def _schema(letters: Sequence[str]) -> dict[str, Any]:
    props: dict[str, Any] = {"line": {"type": "integer", "minimum": 0}}
    if letters:
        props["option"] = {"type": "string", "enum": list(letters)}
    else:
        props["answer"] = {"type": "string"}
    return {"type": "object", "properties": props, "required": list(props)}


def read(
    question: str,
    lines: Sequence[EvidenceLine],
    llm: LLM,
    *,
    options: Sequence[tuple[str, str]] = (),
    max_tokens: int = 96,
    narrow: bool = True,
) -> Reading:
    """Ask the model which line answers ``question`` and what the answer is; keep it only when it holds.

    Without options, when the line it names (if any) names fewer of the question's own words than some other lines
    do, the model is asked once more with those lines alone (`closest_lines`), and that reading is kept when it
    holds: asked "In which room can the package be found?", a sign reading "ROOM 377" holds a room, but only the
    line saying where the package was left names the package. Not when a relation tool's lines are among them
    (they answer the question's cue whatever words they share with it), nor without ``narrow``: the loop passes
    False for a question about a moment ("What room number is shown on screen while the secret password is
    mentioned?"), whose words name the moment rather than the answer.

    Raises:
        BackendError: The model call failed.
    """
    first = _read_once(question, lines, llm, options, max_tokens)
    if not narrow or options or any(x.kind in _RELATION_KINDS for x in lines):  # a relation tool answered its cue
        return first
    closest = closest_lines(question, lines)
    if not closest or first.line in closest:
        return first
    again = _read_once(question, closest, llm, (), max_tokens)
    return again if again.answer is not None else first


def closest_lines(question: str, lines: Sequence[EvidenceLine]) -> list[EvidenceLine]:
    """The lines naming the most of the question's own words (not `_VAGUE` ones), when that is fewer than all.

    Empty when every line names as many, or none names any.
    """
    asked = set(tokenize(question))
    named = [len(_named(asked, x)) for x in lines]
    most = max(named, default=0)
    closest = [x for x, n in zip(lines, named, strict=True) if n == most]
    return closest if most and len(closest) < len(lines) else []


def _read_once(
    question: str, lines: Sequence[EvidenceLine], llm: LLM, options: Sequence[tuple[str, str]], max_tokens: int
) -> Reading:
    """One reader call over ``lines`` and the checks on its reply (`read`)."""
    if not lines:
        return Reading(answer=None, why="the briefing found nothing")
    asked_when = when_asked(question)
    when, in_video = bool(asked_when), asked_when == "video"
    prompt = render("agent_reader", question=question, options=list(options), when=asked_when,
                    lines=[line.render(i) for i, line in enumerate(lines, start=1)])  # fmt: skip
    reply = llm.complete(
        [ChatMessage(role="user", content=prompt)],
        GenerationOptions(max_tokens=max_tokens, json_schema=_schema([letter for letter, _ in options])),
    )
    try:
        data = extract_json(reply.text)
    except ValueError:
        return Reading(answer=None, why="the reader's reply could not be read")
    if not isinstance(data, dict):
        return Reading(answer=None, why="the reader's reply could not be read")
    n = data.get("line")
    if not isinstance(n, int) or not 1 <= n <= len(lines):
        return Reading(answer=None, why="the reader found no line that answers it")
    line = lines[n - 1]
    if options:
        letter = data.get("option")
        return _check_option(question, letter if isinstance(letter, str) else None, line, options, lines)
    answer = " ".join(str(data.get("answer", "")).split())
    asked = set(tokenize(question))
    own = _own_words(_CLOCK.sub(" ", answer), asked)
    if answer and own and not _holds(line, own):
        # Small models name the wrong line number more often than they miscopy: take the line that holds it, the
        # first of those that share a word with the question when several do (a sign found by two searches).
        holding = [x for x in lines if _holds(x, own)]
        asking = [x for x in holding if _relevant(asked, x)]
        if asking or len(holding) == 1:
            line = (asking or holding)[0]
    if own and not _holds(line, own):
        return Reading(answer=None, line=line, why=f'the answer "{answer}" is not on the line it names')
    if not when and not own:
        return Reading(answer=None, line=line, why=f'the answer "{answer}" adds nothing to the question')
    if not _relevant(asked, line):
        return Reading(answer=None, line=line, why="the line it names shares no word with the question")
    if when and line.span is not None:
        at = format_hms(line.span.start_s)
        if not in_video and not own:  # no time or day copied from the line: the line itself, and where it is
            answer = f"At {at}: {line.text}"
        elif not in_video:  # the time or day the line states, then where the video states it
            answer = f"{answer} (at {at} in the video)"
        elif not _CLOCK.search(answer):  # the time of the line it is on
            answer = f"At {at}: {answer}" if answer else f"At {at}"
    if not answer:
        return Reading(answer=None, line=line, why="the reader gave no answer")
    return Reading(answer=answer, line=line, words=tuple(own))


def _named(asked: set[str], line: EvidenceLine) -> set[str]:
    """The question's own words (``asked`` less `_VAGUE`) that ``line`` names.

    The kinds of thing it holds count (`search_words`: "phone number" is on "Call 822-7294").
    """
    return (asked - _VAGUE) & set(search_words(line.text))


def _relevant(asked: set[str], line: EvidenceLine) -> bool:
    """Whether ``line`` bears on the question: a relation tool's line (it answers the cue), or one naming its words."""
    return line.kind in _RELATION_KINDS or bool(_named(asked, line))


def _own_words(text: str, asked: set[str]) -> list[str]:
    """The tokens of an answer or option that the question does not already say."""
    return [t for t in tokenize(text) if t not in asked]


def _holds(line: EvidenceLine, words: Sequence[str]) -> bool:
    """Whether every one of ``words`` is on ``line``."""
    return set(words) <= set(tokenize(line.text))


def _on_line(line: EvidenceLine, text: str, asked: set[str], times: dict[str, float] | None, letter: str) -> bool:
    """Whether an option is on ``line``: its own words are on it, or (a clock time) it falls in its span."""
    if times is not None:
        return line.span is not None and line.span.start_s - 5.0 <= times[letter] <= line.span.end_s + 5.0
    own = _own_words(text, asked)
    return bool(own) and _holds(line, own)


def _check_option(
    question: str,
    letter: str | None,
    line: EvidenceLine,
    options: Sequence[tuple[str, str]],
    lines: Sequence[EvidenceLine] = (),
) -> Reading:
    """The reader's option, kept when it is on the line it names, the same rule as a written answer.

    When the named line holds exactly one other option, that one is taken (small models slip on letters more
    often than on lines). When it holds none, the option is taken from the line of ``lines`` that holds it, as a
    written answer is: the first of those that name a question word, or the only one. Otherwise there is no
    reading and the tool loop goes on.
    """
    by_letter = dict(options)
    if letter not in by_letter:
        return Reading(answer=None, line=line, why="the reader named no option")
    asked = set(tokenize(question))
    seconds = time_options([text for _, text in options])
    times = None if seconds is None else {x: t for (x, _), t in zip(options, seconds, strict=True)}
    if _on_line(line, by_letter[letter], asked, times, letter):
        return Reading(answer=None, option=letter, line=line)
    held = [x for x, text in options if _on_line(line, text, asked, times, x)]
    if len(held) == 1:
        return Reading(answer=None, option=held[0], line=line)
    if not held:
        holding = [x for x in lines if _on_line(x, by_letter[letter], asked, times, letter)]
        asking = [x for x in holding if _relevant(asked, x)]
        if asking or len(holding) == 1:
            return Reading(answer=None, option=letter, line=(asking or holding)[0])
        misheard = times is None and line.kind in ("said", "on screen") and _relevant(asked, line)
        heard = heard_option(line.text, options, asked) if misheard else None
        if heard is not None:
            return Reading(answer=None, option=heard, line=line)
    return Reading(answer=None, line=line, why=f"option {letter} is not on the line it names")


HEARD_MARGIN = 0.2
"""How much closer to the line that option must be than every other."""


def heard_option(text: str, options: Sequence[tuple[str, str]], asked: set[str]) -> str | None:
    """The letter of the one option ``text`` holds as a recogniser would mishear it, or None.

    Speech recognisers mishear names and rare words ("Doctor Quaylin" for Doctor Quinlan, "summit wall hut" for
    summit walnut), so a line can hold no option's words exactly. Taken when one option's words, less the
    question's own (``asked``), are close to the line's by spelling (`near_share` at least `NEAR_MIN`, each word
    too) and every other option's are at least `HEARD_MARGIN` farther.
    """
    close = sorted(((near_share(o, text, skip=asked, least=NEAR_MIN), x) for x, o in options), reverse=True)
    if not close or close[0][0] < NEAR_MIN:
        return None
    if len(close) > 1 and close[0][0] - close[1][0] < HEARD_MARGIN:
        return None
    return close[0][1]
