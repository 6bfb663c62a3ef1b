"""Core value types shared across subpackages: times are float seconds with an ``_s`` suffix."""

from __future__ import annotations

from typing import Literal

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
