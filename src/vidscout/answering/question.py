"""What every strategy receives and promises: the validated `Question` and the `Strategy` protocol."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from pydantic import BaseModel, Field

from vidscout.agent.trace import Step
from vidscout.choices import validate_options
from vidscout.errors import ConfigError
from vidscout.tools.registry import VideoDeps

MAX_QUESTION_CHARS = 2000
"""Longest question accepted (characters, about 500 tokens): the planner reads it on every step."""


class Question(BaseModel, frozen=True):
    """A question as every strategy receives it: checked text, option texts without letters, an optional prompt.

    Build it with `Question.make`, which validates; the constructor trusts its input.
    """

    text: str = Field(description="The question, whitespace-normalised, without its options.")
    options: tuple[str, ...] = Field(default=(), description="Option texts, A first, letters stripped.")
    prompt: Callable[[Sequence[float]], str] | None = Field(
        default=None,
        exclude=True,
        description="A benchmark's own prompt for the frames shown at these times (the frames strategy sends it).",
    )

    @classmethod
    def make(
        cls, text: str, options: Sequence[str] = (), *, prompt: Callable[[Sequence[float]], str] | None = None
    ) -> Question:
        """Validate a question and its options.

        Raises:
            ConfigError: The question is empty or longer than `MAX_QUESTION_CHARS`, or the options do not make
                a multiple-choice question (see `vidscout.choices.validate_options`).
        """
        clean = " ".join(text.split())
        if not clean:
            raise ConfigError("The question is empty; ask something about the video in plain words.")
        if len(clean) > MAX_QUESTION_CHARS:
            raise ConfigError(
                f"The question has {len(clean):,} characters (about {len(clean) // 4:,} tokens); the limit is "
                f"{MAX_QUESTION_CHARS:,} (about {MAX_QUESTION_CHARS // 4} tokens). Shorten it to the question itself."
            )
        texts = validate_options(options) if options else []
        return cls(text=clean, options=tuple(texts), prompt=prompt)


class Strategy(Protocol):
    """One way of answering a question about an opened video.

    ``iter_answer`` yields the steps it takes (tool calls, observations, thoughts) and ends with an
    `vidscout.agent.trace.AnswerStep` or `vidscout.agent.trace.ErrorStep`; `answer_question` reduces them to
    an `Answer`. Backend failures end the run with an ``ErrorStep``; bad input raises ``ConfigError`` before
    any step.
    """

    name: str

    def iter_answer(self, deps: VideoDeps, question: Question) -> Iterator[Step]:
        """Answer ``question`` about the video behind ``deps``, step by step."""
        ...
