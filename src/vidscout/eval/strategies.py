"""Benchmark questions through the one answering layer (`vidscout.answering`), as replies a task can grade.

A `BenchStrategy` turns an `Example` into a `vidscout.answering.Question` (with the task's own prompt for
the frames strategy), runs the named strategy, and returns a `Reply`: the text the task parses, the
evidence, and the answer's provenance (verified, forced, where the option letter came from).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from vidscout.answering import Question, Strategy, answer_question
from vidscout.answering import make_strategy as make_answering_strategy
from vidscout.eval.task import Example, Task
from vidscout.types import Answer, OptionSource, TimeSpan

if TYPE_CHECKING:
    from vidscout.api import Video


class Reply(BaseModel, frozen=True):
    """What a strategy answered: the raw reply the task parses, and how it got there."""

    response: str | None = Field(description="The reply text (None when the strategy failed).")
    evidence: list[TimeSpan] = Field(default_factory=list[TimeSpan], description="Spans the answer rests on.")
    steps: int | None = Field(default=None, description="Tool calls made (agent).")
    error: str | None = Field(default=None, description="Why there is no reply (backend down, timeout...).")
    verified: bool | None = Field(default=None, description="The self-check's verdict; None when none ran.")
    forced: bool = Field(default=False, description="No accepted finish: a best-effort or fallback answer.")
    option_source: OptionSource | None = Field(default=None, description="Who chose the letter.")
    check_reason: str = Field(default="", description="The self-check's reason.")


def reply_from_answer(answer: Answer) -> Reply:
    """An `Answer` as a reply, with its spans and provenance.

    The text is ``"<letter>. <answer>"`` when a letter was chosen; the frames strategy's raw reply stays as it is.
    """
    if answer.error is not None:
        return Reply(response=None, steps=answer.steps, error=answer.error)
    raw = answer.strategy == "frames" or not answer.option
    return Reply(
        response=answer.answer if raw else f"{answer.option}. {answer.answer}",
        evidence=[e.span for e in answer.evidence],
        steps=answer.steps,
        verified=answer.verified,
        forced=answer.forced,
        option_source=answer.option_source,
        check_reason=answer.check_reason,
    )


class BenchStrategy:
    """One answering strategy driven by the benchmark runner."""

    def __init__(self, strategy: Strategy) -> None:
        """Wrap ``strategy`` (see `make_strategy`)."""
        self.strategy = strategy
        self.name = strategy.name

    def answer(self, video: Video, task: Task, example: Example, *, trajectory: Path | None) -> Reply:
        """Answer ``example`` about ``video``; save the steps to ``trajectory``."""
        # Benchmark items are trusted as published (some repeat an option text), so no `Question.make` checks.
        question = Question(
            text=" ".join(example.question.split()),
            options=tuple(example.options),
            prompt=lambda times: task.prompt(example, frame_times_s=times),
        )
        return reply_from_answer(answer_question(self.strategy, video.deps, question, trajectory=trajectory))


def make_strategy(name: str, **options: Any) -> BenchStrategy:
    """The runner's strategy ``name`` (``agent``, ``retrieval``, ``kv``, ``frames``/``direct``) with its options.

    Raises:
        ConfigError: Unknown strategy (the message lists the known ones).
    """
    return BenchStrategy(make_answering_strategy(name, **options))
