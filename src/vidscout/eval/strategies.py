"""Answer strategies the benchmark runner can drive: how one question about one video gets a reply.

- ``agent``: the planning agent with its tools (`vidscout.agent.loop`), in multiple-choice mode.
- ``retrieval``: no LLM; the database's search picks the option (`vidscout.retrieval.choice`).
- ``direct``: the benchmark's official prompt on frames sampled uniformly over the whole video,
  sent to the Video-LLM in one call: the lmms-eval-style baseline, meaningful on the vllm profile.
- ``kv``: answer from spliced per-segment KV caches (`vidscout.kv`, when installed with the package).

A strategy returns a `Reply`; the task parses its ``response`` and grades it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from vidscout.errors import ConfigError
from vidscout.eval.task import Example, Task
from vidscout.types import TimeSpan

if TYPE_CHECKING:
    from vidscout.agent.trace import Answer
    from vidscout.api import Video


class Reply(BaseModel, frozen=True):
    """What a strategy answered: the raw reply the task parses, and how it got there."""

    response: str | None = Field(description="The reply text (None when the strategy failed).")
    evidence: list[TimeSpan] = Field(default_factory=list[TimeSpan], description="Spans the answer rests on.")
    steps: int | None = Field(default=None, description="Tool calls made (agent).")
    error: str | None = Field(default=None, description="Why there is no reply (backend down, timeout...).")


class Strategy(Protocol):
    """Answers one benchmark question about an opened video."""

    name: str

    def answer(self, video: Video, task: Task, example: Example, *, trajectory: Path | None) -> Reply:
        """Reply to ``example``; save the steps to ``trajectory`` when the strategy has steps."""
        ...


def reply_from_answer(answer: Answer, *, steps: int | None = None) -> Reply:
    """An agent-style `Answer` as a reply: ``"<letter>. <answer>"`` (the letter when one was chosen) and its spans."""
    if answer.error is not None:
        return Reply(response=None, steps=steps, error=answer.error)
    response = f"{answer.option}. {answer.answer}" if answer.option else answer.answer
    return Reply(response=response, evidence=[e.span for e in answer.evidence], steps=steps)


class AgentStrategy:
    """The planning agent in multiple-choice mode; the reply is ``"<letter>. <answer>"``."""

    name = "agent"

    def __init__(self, *, max_steps: int = 8) -> None:
        """Allow ``max_steps`` tool calls per question."""
        self.max_steps = max_steps

    def answer(self, video: Video, task: Task, example: Example, *, trajectory: Path | None) -> Reply:
        """Run the agent on the bare question with the example's options."""
        from vidscout.agent.loop import AgentOptions

        result = video.ask(
            example.question, options=example.options, agent=AgentOptions(max_steps=self.max_steps),
            trajectory=trajectory,
        )  # fmt: skip
        return reply_from_answer(result, steps=result.steps)


class RetrievalStrategy:
    """No LLM: `vidscout.retrieval.choice.choose` picks the option; the reply is ``"<letter>. <option>"``."""

    name = "retrieval"

    def __init__(self, *, top_k: int = 5) -> None:
        """Read the evidence of the question's ``top_k`` hits."""
        self.top_k = top_k

    def answer(self, video: Video, task: Task, example: Example, *, trajectory: Path | None) -> Reply:
        """Choose among the example's options from the database."""
        from vidscout.eval.answers import LETTERS
        from vidscout.retrieval.choice import choose

        if not example.options:
            hits = video.search(example.question, top_k=1)
            return Reply(response=hits[0].text if hits else "", evidence=[h.span for h in hits])
        choice = choose(example.question, example.options, video.searcher, video.store,
                        text_embedder=video.backends.text_embedder, top_k=self.top_k)  # fmt: skip
        letter = LETTERS[choice.index]
        return Reply(response=f"{letter}. {example.options[choice.index]}", evidence=choice.evidence)


class DirectStrategy:
    """The official prompt on ``frames`` uniformly sampled frames, one Video-LLM call."""

    name = "direct"

    def __init__(self, *, frames: int = 16) -> None:
        """Sample ``frames`` frames (as lmms-eval's ``max_num_frames``)."""
        self.frames = frames

    def answer(self, video: Video, task: Task, example: Example, *, trajectory: Path | None) -> Reply:
        """Sample frames at the centres of equal slices of the video and ask once."""
        from vidscout.video.decode import frames_at

        whole = TimeSpan(start_s=0.0, end_s=video.info.duration_s)
        times = whole.even_times(self.frames)
        frames = frames_at(video.path, times, width=min(640, video.info.width))
        prompt = task.prompt(example, frame_times_s=times)
        response = video.backends.video_llm.describe(frames, times, prompt)
        return Reply(response=response, evidence=[whole])


class KVStrategy:
    """Answer from retrieved per-segment KV caches (`vidscout.kv.answer_with_kv`)."""

    name = "kv"

    def __init__(self) -> None:
        """Import the KV package now (torch, transformers), so a missing one fails before any video is opened."""
        try:
            from vidscout.kv import answer_with_kv
        except ImportError as e:
            raise ConfigError(f"The kv strategy needs vidscout.kv, which failed to import: {e}") from e
        self._answer = answer_with_kv

    def answer(self, video: Video, task: Task, example: Example, *, trajectory: Path | None) -> Reply:
        """Retrieve the question's segments' caches, splice them, decode the answer."""
        return reply_from_answer(self._answer(video, example.question, options=example.options))


STRATEGIES: dict[str, Callable[..., Strategy]] = {
    "agent": AgentStrategy,
    "retrieval": RetrievalStrategy,
    "direct": DirectStrategy,
    "kv": KVStrategy,
}
"""Strategy factories by name; keyword options (max_steps, top_k, frames) go to the ones that take them."""


def make_strategy(name: str, **options: Any) -> Strategy:
    """Build strategy ``name`` with the options it accepts (others are ignored).

    Raises:
        ConfigError: Unknown strategy (the message lists the known ones).
    """
    if name not in STRATEGIES:
        raise ConfigError(f"Unknown strategy {name!r}; available: {', '.join(STRATEGIES)}")
    factory = STRATEGIES[name]
    accepted = inspect.signature(factory).parameters
    return factory(**{k: v for k, v in options.items() if k in accepted and v is not None})
