"""Questions about one moment, answered by what is there without a model call.

"What is said at 00:02:10?" is answered by the speech at that time, "What text is on screen at 00:02:10?" by the
on-screen text then, "What is said next, after X is mentioned?" by the first utterance after X, "What is said
right before X is mentioned?" by the last one before it, "What is said while X is on screen?" by the speech while
it is, and "What is the last thing said?" by the video's last utterance. The briefing's `shown_while` call
(`vidscout.agent.briefing.moment_cue`) has already looked, and a model choosing among those lines can only pick a
worse one. A question that asks anything else about the moment ("What animal is on screen at ...?"), a moment
with nothing of the kind asked, and multiple choice go on to the reader.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel

from vidscout.agent.briefing import MomentCue
from vidscout.tools.shown import ShownWhileResult
from vidscout.types import Evidence, format_span

_ASKS_TEXT = re.compile(r"\b(?:text|texts|written|writing|caption|captions|sign|signs|title|words|lettering)\b", re.I)
"""A question about a moment that asks for its on-screen text, not for what is seen."""


class MomentAnswer(BaseModel, frozen=True):
    """The answer read at the moment, and where."""

    answer: str
    evidence: tuple[Evidence, ...]
    why: str


def moment_answer(
    question: str, cue: MomentCue, result: ShownWhileResult, options: Sequence[str] = ()
) -> MomentAnswer | None:
    """What the moment gives for ``question``, or None when it does not settle it (see the module docstring)."""
    if options:
        return None
    if cue.kind == "at" and cue.said and result.spoken:
        span, answer, how = result.during.span, result.spoken, "said"
    elif cue.kind == "at" and not cue.said and _ASKS_TEXT.search(question) and result.during.text:
        span, answer, how = result.during.span, " | ".join(result.during.text), "on screen"
    elif cue.kind == "while" and cue.said and result.shown and result.spoken:
        span, answer, how = result.during.span, result.spoken, "said while it is on screen"
    elif cue.kind in ("first", "last") and result.edge and result.spoken:
        span, answer, how = result.during.span, result.spoken, f"said {cue.kind}"
    elif cue.kind == "after" and cue.said and result.said_next:
        span, answer = result.said_next[0]
        how = "said next"
    elif cue.kind == "before" and cue.said and result.said_before:
        span, answer = result.said_before[0]
        how = "said just before"
    else:
        return None
    why = f"{how} at {format_span(span)}"
    return MomentAnswer(answer=answer, evidence=(Evidence(span=span, note=f"{how}: {answer[:100]}"),), why=why)
