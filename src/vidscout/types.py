"""Core value types shared across subpackages: times are float seconds with an ``_s`` suffix.

The ground floor: spans and segments, the one time vocabulary (`parse_time`, `format_hms`,
`format_span`), and the `Evidence` / `Answer` every answering strategy returns.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

SegmentLevel = Literal["shot", "clip", "chapter"]


class TimeSpan(BaseModel, frozen=True):
    """A half-open interval [start_s, end_s) of video time in seconds."""

    start_s: float = Field(ge=0.0)
    end_s: float = Field(ge=0.0)

    @model_validator(mode="after")
    def _ordered(self) -> TimeSpan:
        if self.end_s < self.start_s:
            raise ValueError(f"end_s ({self.end_s}) is before start_s ({self.start_s})")
        return self

    @property
    def duration_s(self) -> float:
        """Length of the span in seconds."""
        return self.end_s - self.start_s

    def overlaps(self, other: TimeSpan) -> bool:
        """True when the two spans share a positive amount of time."""
        return min(self.end_s, other.end_s) > max(self.start_s, other.start_s)

    def contains(self, t_s: float) -> bool:
        """True when ``t_s`` falls inside the half-open span."""
        return self.start_s <= t_s < self.end_s

    def even_times(self, n: int) -> list[float]:
        """``n`` times at the centres of ``n`` equal parts of the span (never on its open end)."""
        return [self.start_s + (i + 0.5) * self.duration_s / n for i in range(n)]


class Segment(BaseModel, frozen=True):
    """One node of the shot → clip → chapter hierarchy."""

    level: SegmentLevel
    index: int = Field(ge=0, description="Position among segments of the same level, in time order.")
    span: TimeSpan
    parent: int | None = Field(default=None, description="Index of the chapter holding a shot or clip.")


def format_hms(t_s: float) -> str:
    """Format seconds as ``HH:MM:SS`` (rounded down), the one time format the LLM sees."""
    total = max(0, int(t_s))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def format_span(span: TimeSpan) -> str:
    """``HH:MM:SS-HH:MM:SS``, the one way a span is written for the LLM and in listings."""
    return f"{format_hms(span.start_s)}-{format_hms(span.end_s)}"


_HMS = re.compile(r"^\s*(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)\s*$")


def parse_time(value: Any) -> float:
    """Seconds from ``"HH:MM:SS"``, ``"MM:SS"``, ``"75"``, ``"75s"`` or a number.

    Raises:
        ValueError: ``value`` is not a time (the message says how to write one).
    """
    if isinstance(value, bool):
        raise ValueError("a time, not a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower().removesuffix("s").strip()
        m = _HMS.match(text)
        if m:
            h, mnt, sec = m.groups()
            return int(h or 0) * 3600 + int(mnt) * 60 + float(sec)
        try:
            return float(text)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a time; write HH:MM:SS (e.g. 00:12:30) or seconds")


class Evidence(BaseModel, frozen=True):
    """A time span cited for an answer, with what it shows (and in which video, for a library's answer)."""

    span: TimeSpan
    note: str = ""
    video: str | None = Field(default=None, description="The video file, when the answer is about a library.")

    def label(self) -> str:
        """``HH:MM:SS-HH:MM:SS note``, after ``video:`` in a library's answer."""
        where = f"{self.video}: " if self.video else ""
        return f"{where}{format_span(self.span)} {self.note}".strip()


OptionSource = Literal["planner", "answer_text", "retrieval"]
"""Who chose a multiple-choice letter: the planner's own call, the option its answer text names, or the
retrieval fallback (the planner gave none that held up)."""


class Answer(BaseModel, frozen=True):
    """What an answering strategy concluded, with its provenance.

    ``verified`` is the self-check's verdict (None when no check ran or its reply could not be read);
    ``forced`` marks an answer produced without an accepted ``finish`` (step budget ran out, a refuted
    answer replaced by the best-supported candidate); ``option_source`` says where the letter came from.
    """

    question: str
    answer: str
    option: str | None = None
    evidence: tuple[Evidence, ...] = ()
    steps: int = 0
    strategy: str = "agent"
    forced: bool = False
    verified: bool | None = None
    check_reason: str = ""
    option_source: OptionSource | None = None
    error: str | None = None
