"""Typed agent steps, their JSONL trajectory format, and the final `Answer` they reduce to."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from vidscout.types import TimeSpan, format_hms


class Evidence(BaseModel, frozen=True):
    """A time span cited for an answer, with what it shows."""

    span: TimeSpan
    note: str = ""

    def label(self) -> str:
        """``HH:MM:SS-HH:MM:SS note``."""
        return f"{format_hms(self.span.start_s)}-{format_hms(self.span.end_s)} {self.note}".strip()


class ThoughtStep(BaseModel, frozen=True):
    """The model's stated reasoning before a call."""

    type: Literal["thought"] = "thought"
    step: int
    text: str


class ToolCallStep(BaseModel, frozen=True):
    """A tool call as the model wrote it."""

    type: Literal["tool_call"] = "tool_call"
    step: int
    name: str
    arguments: dict[str, Any] | str
    call_id: str = ""


class ObservationStep(BaseModel, frozen=True):
    """What the tool (or the loop's self-check) returned to the model."""

    type: Literal["observation"] = "observation"
    step: int
    name: str
    text: str
    ok: bool = True


class AnswerStep(BaseModel, frozen=True):
    """The final answer."""

    type: Literal["answer"] = "answer"
    step: int
    answer: str
    option: str | None = None
    evidence: tuple[Evidence, ...] = ()
    forced: bool = Field(default=False, description="Produced without a successful finish call.")
    verified: bool | None = Field(default=None, description="Self-check verdict; None when not run.")


class ErrorStep(BaseModel, frozen=True):
    """The run stopped on an external failure (model server down, timeout)."""

    type: Literal["error"] = "error"
    step: int
    message: str


Step = Annotated[ThoughtStep | ToolCallStep | ObservationStep | AnswerStep | ErrorStep, Field(discriminator="type")]
_STEP: TypeAdapter[Step] = TypeAdapter(Step)


class Answer(BaseModel, frozen=True):
    """What a run concluded."""

    question: str
    answer: str
    option: str | None = None
    evidence: tuple[Evidence, ...] = ()
    steps: int = 0
    forced: bool = False
    verified: bool | None = None
    error: str | None = None


def final_answer(question: str, steps: Sequence[Step]) -> Answer:
    """Reduce a run's steps to its `Answer` (the last answer or error step decides)."""
    n_calls = sum(1 for s in steps if isinstance(s, ToolCallStep))
    for s in reversed(steps):
        if isinstance(s, AnswerStep):
            return Answer(
                question=question,
                answer=s.answer,
                option=s.option,
                evidence=s.evidence,
                steps=n_calls,
                forced=s.forced,
                verified=s.verified,
            )
        if isinstance(s, ErrorStep):
            return Answer(question=question, answer="", steps=n_calls, error=s.message)
    return Answer(question=question, answer="", steps=n_calls, error="the run ended without an answer")


def write_trajectory(path: Path, question: str, steps: Iterable[Step]) -> None:
    """Write the steps as JSONL, one step per line, after a header line with the question."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps({"type": "question", "text": question}) + "\n")
        for s in steps:
            f.write(s.model_dump_json() + "\n")


def read_trajectory(path: Path) -> tuple[str, list[Step]]:
    """Inverse of `write_trajectory`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    return str(header["text"]), [_STEP.validate_json(line) for line in lines[1:] if line.strip()]
