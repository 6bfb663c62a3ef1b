"""Answer strategies the benchmark runner can drive: how one question about one video gets a reply.

- ``agent``: the planning agent with its tools (`vidscout.agent.loop`), in multiple-choice mode.
- ``retrieval``: no LLM; the database's search picks the option (`vidscout.retrieval.choice`).
- ``direct``: the benchmark's official prompt on the frames lmms-eval samples for it
  (`vidscout.eval.sampling`), sent to the Video-LLM in one call: the lmms-eval-style baseline,
  meaningful on the vllm profile.
- ``kv``: answer from spliced per-segment KV caches (`vidscout.kv`, when installed with the package).

A strategy returns a `Reply`; the task parses its ``response`` and grades it. A strategy that has
chosen a letter replies ``"(B) <text>"``, the option format of the MLVU and LVBench prompts, which each
benchmark's official extractor reads as B.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from vidscout.errors import ConfigError
from vidscout.eval.sampling import FrameSampling, lmms_eval_frame_times
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


def lettered(letter: str, text: str) -> str:
    """A chosen option as a reply: ``"(B) text"``, which every official extractor reads as B."""
    return f"({letter}) {text}"


def reply_from_answer(answer: Answer, *, steps: int | None = None) -> Reply:
    """An agent-style `Answer` as a reply: ``"(<letter>) <answer>"`` (the letter when one was chosen) and its spans."""
    if answer.error is not None:
        return Reply(response=None, steps=steps, error=answer.error)
    response = lettered(answer.option, answer.answer) if answer.option else answer.answer
    return Reply(response=response, evidence=[e.span for e in answer.evidence], steps=steps)


class AgentStrategy:
    """The planning agent in multiple-choice mode; the reply is ``"(<letter>) <answer>"``."""

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
    """No LLM: `vidscout.retrieval.choice.choose` picks the option; the reply is ``"(<letter>) <option>"``."""

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
        return Reply(response=lettered(letter, example.options[choice.index]), evidence=choice.evidence)


class DirectStrategy:
    """The official prompt on lmms-eval's frame sample for the task, one Video-LLM call."""

    name = "direct"
    frame_width = 640  # frames are decoded at most this wide; the Video-LLM client may downscale further

    def __init__(self, *, frames: int | None = None, fps: float | None = None) -> None:
        """Override the task's lmms-eval sample: ``frames`` frames (``max_num_frames``), at most ``fps`` per second."""
        self.frames = frames
        self.fps = fps

    def sampling(self, task: Task) -> FrameSampling:
        """The task's `FrameSampling` with this strategy's overrides."""
        s = task.frame_sampling
        if self.frames is None and self.fps is None:
            return s
        return FrameSampling(frames=self.frames or s.frames, fps=self.fps if self.fps is not None else s.fps,
                             source=f"overridden on the command line (task default: {s.frames} frames)")  # fmt: skip

    def frame_times(self, video: Video, task: Task) -> list[float]:
        """Times of lmms-eval's uniform frame indices for ``task`` on ``video``."""
        info = video.info
        return lmms_eval_frame_times(info.duration_s, info.fps, info.n_frames, self.sampling(task))

    def answer(self, video: Video, task: Task, example: Example, *, trajectory: Path | None) -> Reply:
        """Sample frames as lmms-eval does for the task and ask once."""
        from vidscout.video.decode import frames_at

        whole = TimeSpan(start_s=0.0, end_s=video.info.duration_s)
        times = self.frame_times(video, task)
        frames = frames_at(video.path, times, width=min(self.frame_width, video.info.width))
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


def video_settings(task: Task, strategy: str, options: dict[str, Any], video_llm_spec: str) -> dict[str, Any]:
    """Every setting that decides what the models see of each video, for ``run.json`` and ``metrics.json``.

    Args:
        task: The benchmark (its lmms-eval frame sample).
        strategy: The strategy name.
        options: The strategy options (``frames``, ``fps``...).
        video_llm_spec: The resolved ``video_llm`` spec (its frame budget and pixel cap).

    Returns:
        ``ingest`` (keyframes and captions the database is built from), ``video_llm`` (how frames
        are packed per request) and, for ``direct``, ``direct`` (the frame sample).
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
    if strategy == DirectStrategy.name:
        direct = DirectStrategy(frames=options.get("frames"), fps=options.get("fps"))
        sample = direct.sampling(task)
        out["direct"] = {
            "frames": sample.frames, "fps": sample.fps, "frame_width": direct.frame_width,
            "sampling": "lmms-eval uniform: linspace(0, total_frames - 1, frames) frame indices",
            "source": sample.source,
        }  # fmt: skip
        if "max_frames" in video_llm and video_llm["max_frames"] < sample.frames:
            # The client keeps an even spread of max_frames of them: not lmms-eval's sample any more.
            out["direct"]["frames_sent"] = video_llm["max_frames"]
    return out


STRATEGIES: dict[str, Callable[..., Strategy]] = {
    "agent": AgentStrategy,
    "retrieval": RetrievalStrategy,
    "direct": DirectStrategy,
    "kv": KVStrategy,
}
"""Strategy factories by name; keyword options (max_steps, top_k, frames, fps) go to the ones that take them."""


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
