"""Benchmark questions through the one answering layer (`vidscout.answering`), as replies a task can grade.

A `BenchStrategy` turns an `Example` into a `vidscout.answering.Question` (with the task's own prompt, and
for the frames strategy the task's lmms-eval frame sample), runs the named strategy, and returns a `Reply`:
the text the task parses, the evidence, and the answer's provenance (verified, forced, where the option
letter came from). A chosen letter is replied as ``"(B) <text>"``, the option format of the MLVU and
LVBench prompts, which each benchmark's official extractor reads as B.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from vidscout.answering import Question, Strategy, answer_question
from vidscout.answering import make_strategy as make_answering_strategy
from vidscout.answering.frames import FramesStrategy
from vidscout.eval.task import Example, Task
from vidscout.types import Answer, OptionSource, TimeSpan

if TYPE_CHECKING:
    from vidscout.api import Video

FRAMES = ("frames", "direct")
"""Names of the frames strategy (``direct`` is its earlier name)."""


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


def lettered(letter: str, text: str) -> str:
    """A chosen option as a reply: ``"(B) text"``, which every official extractor reads as B."""
    return f"({letter}) {text}"


def reply_from_answer(answer: Answer) -> Reply:
    """An `Answer` as a reply, with its spans and provenance.

    The text is ``"(<letter>) <answer>"`` when a letter was chosen; the frames strategy's raw reply stays as
    it is (the benchmark's extractor reads the model's own words).
    """
    if answer.error is not None:
        return Reply(response=None, steps=answer.steps, error=answer.error)
    raw = answer.strategy == "frames" or not answer.option
    return Reply(
        response=answer.answer if raw or answer.option is None else lettered(answer.option, answer.answer),
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


def make_strategy(name: str, *, task: Task | None = None, **options: Any) -> BenchStrategy:
    """The runner's strategy ``name`` (``agent``, ``retrieval``, ``kv``, ``frames``/``direct``) with its options.

    The frames strategy samples ``task``'s lmms-eval frames unless ``frames`` / ``fps`` override them.

    Raises:
        ConfigError: Unknown strategy (the message lists the known ones).
    """
    if name in FRAMES and task is not None:
        options = {**options, "sampling": task.frame_sampling}
    return BenchStrategy(make_answering_strategy(name, **options))


def video_settings(task: Task, strategy: str, options: dict[str, Any], video_llm_spec: str) -> dict[str, Any]:
    """Every setting that decides what the models see of each video, for ``run.json`` and ``metrics.json``.

    Args:
        task: The benchmark (its lmms-eval frame sample).
        strategy: The strategy name.
        options: The strategy options (``frames``, ``fps``...).
        video_llm_spec: The resolved ``video_llm`` spec (its frame budget and pixel cap).

    Returns:
        ``ingest`` (keyframes and captions the database is built from), ``video_llm`` (how frames
        are packed per request) and, for the frames strategy, ``direct`` (the frame sample).
    """
    from vidscout.memory.build import IngestOptions
    from vidscout.models.openai_video import VideoRequestOptions
    from vidscout.models.probe import parse_spec

    ingest = IngestOptions()
    kind, _, opts = parse_spec(video_llm_spec)
    video_llm: dict[str, Any] = {"kind": kind}
    if kind == "openai":
        known = {k: v for k, v in opts.items() if k in VideoRequestOptions.model_fields}
        request = VideoRequestOptions.model_validate(known)
        video_llm |= {"mode": request.mode, "max_frames": request.max_frames, "max_pixels": request.max_pixels,
                      "jpeg_quality": request.jpeg_quality, "clip_fps": request.clip_fps}  # fmt: skip
    out: dict[str, Any] = {
        "ingest": {
            "sample_every_s": ingest.sample_every_s, "sample_width": ingest.sample_width,
            "captions": ingest.captions, "caption_frames": ingest.caption_frames,
            "caption_width": ingest.caption_width,
        },
        "video_llm": video_llm,
    }  # fmt: skip
    if strategy in FRAMES:
        frames = FramesStrategy(sampling=task.frame_sampling, frames=options.get("frames"), fps=options.get("fps"))
        sample = frames.sampling
        out["direct"] = {
            "frames": sample.frames, "fps": sample.fps, "frame_width": frames.frame_width,
            "sampling": "lmms-eval uniform: linspace(0, total_frames - 1, frames) frame indices",
            "source": sample.source,
        }  # fmt: skip
        if "max_frames" in video_llm and video_llm["max_frames"] < sample.frames:
            # The client keeps an even spread of max_frames of them: not lmms-eval's sample any more.
            out["direct"]["frames_sent"] = video_llm["max_frames"]
    return out
