"""One video's questions answered: the `Prediction` records the runner stores, and `answer_video`.

The local runner and the Ray workers (`vidscout.eval.ray_runner`) both call `answer_video`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from vidscout.errors import VidScoutError
from vidscout.eval.strategies import BenchStrategy, Reply
from vidscout.eval.task import Example, Task
from vidscout.models.registry import Backends
from vidscout.settings import Settings
from vidscout.types import OptionSource, TimeSpan


class Prediction(BaseModel, frozen=True):
    """One answered question, as stored in ``predictions.jsonl``."""

    id: str
    video: str
    response: str | None = Field(description="The strategy's raw reply; None when it failed.")
    parsed: str | None = Field(description="The option letter parsed from the reply.")
    answer: str | None = Field(description="The true letter.")
    correct: bool | None = Field(description="parsed == answer; None for an open question.")
    evidence: list[TimeSpan] = Field(default_factory=list[TimeSpan])
    steps: int | None = None
    trajectory: str | None = Field(default=None, description="Path of the agent's steps, relative to the run folder.")
    error: str | None = None
    verified: bool | None = Field(default=None, description="The self-check's verdict; None when none ran.")
    forced: bool = Field(default=False, description="No accepted finish: a best-effort or fallback answer.")
    option_source: OptionSource | None = Field(default=None, description="Who chose the letter.")
    check_reason: str = Field(default="", description="The self-check's reason.")
    answer_s: float = Field(description="Seconds spent answering this question.")
    video_open_s: float = Field(description="Seconds to open (ingest, when new) this question's video.")


class MissingVideo(BaseModel, frozen=True):
    """A video the run could not use, and how many questions it held back."""

    video: str
    questions: int
    reason: str


def answer_video(
    task: Task,
    video_path: Path,
    examples: Sequence[Example],
    strategy: BenchStrategy,
    *,
    settings: Settings,
    backends: Backends,
    out_dir: Path,
) -> Iterator[Prediction]:
    """Open (ingesting once) ``video_path`` and answer its ``examples``, yielding each prediction.

    Raises:
        VidScoutError: The video cannot be opened or ingested (the caller reports it as unusable).
    """
    from vidscout.api import Video

    t0 = time.perf_counter()
    video = Video.open(video_path, settings=settings, backends=backends)
    open_s = time.perf_counter() - t0
    traj_dir = out_dir / "trajectories"
    traj_dir.mkdir(parents=True, exist_ok=True)
    with video:
        for e in examples:
            rel = f"trajectories/{safe_name(e.id)}.jsonl"
            t = time.perf_counter()
            try:
                reply = strategy.answer(video, task, e, trajectory=out_dir / rel)
            except VidScoutError as err:
                reply = Reply(response=None, error=f"{type(err).__name__}: {err}")
            graded = task.grade(e, reply.response)
            yield Prediction(
                id=e.id, video=e.video, response=reply.response, parsed=graded.predicted, answer=e.answer,
                correct=None if e.answer is None else graded.correct, evidence=reply.evidence, steps=reply.steps,
                trajectory=rel if (out_dir / rel).exists() else None, error=reply.error,
                verified=reply.verified, forced=reply.forced, option_source=reply.option_source,
                check_reason=reply.check_reason, answer_s=round(time.perf_counter() - t, 3),
                video_open_s=round(open_s, 3),
            )  # fmt: skip


def safe_name(example_id: str) -> str:
    """A question id as a file name (trajectories are stored per question)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in example_id)[:150]
