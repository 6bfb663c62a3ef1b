"""Typed agent steps, their JSONL trajectory format, and the final `vidscout.types.Answer` they reduce to."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from vidscout.types import Answer, Evidence, OptionSource


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
    forced: bool = Field(default=False, description="Produced without an accepted finish call.")
    verified: bool | None = Field(default=None, description="Self-check verdict; None when not run or unreadable.")
    check_reason: str = Field(default="", description="The self-check's reason, or why no check ran.")
    option_source: OptionSource | None = Field(default=None, description="Who chose the letter.")


class ErrorStep(BaseModel, frozen=True):
    """The run stopped on an external failure (model server down, timeout)."""

    type: Literal["error"] = "error"
    step: int
    message: str


Step = Annotated[ThoughtStep | ToolCallStep | ObservationStep | AnswerStep | ErrorStep, Field(discriminator="type")]
_STEP: TypeAdapter[Step] = TypeAdapter(Step)


def final_answer(question: str, steps: Sequence[Step], *, strategy: str = "agent") -> Answer:
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
                strategy=strategy,
                forced=s.forced,
                verified=s.verified,
                check_reason=s.check_reason,
                option_source=s.option_source,
            )
        if isinstance(s, ErrorStep):
            return Answer(question=question, answer="", steps=n_calls, strategy=strategy, error=s.message)
    return Answer(question=question, answer="", steps=n_calls, strategy=strategy,
                  error="the run ended without an answer")  # fmt: skip


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
