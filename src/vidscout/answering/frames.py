"""The ``frames`` strategy: one Video-LLM call on frames sampled uniformly over the whole video.

The lmms-eval-style baseline: frame indices ``linspace(0, N - 1, n)`` (as lmms-eval samples), the question
(or a benchmark's own prompt) after them, one reply. Meaningful with a served Video-LLM (vllm profile);
the embedded ``composite`` stand-in only lists what it recognises.
"""

from __future__ import annotations

from collections.abc import Iterator

from vidscout.agent.trace import AnswerStep, ErrorStep, Step
from vidscout.answering.question import Question
from vidscout.choices import LETTERS, parse_choice
from vidscout.errors import BackendError
from vidscout.prompts.render import render
from vidscout.tools.registry import VideoDeps
from vidscout.types import Evidence, TimeSpan
from vidscout.video.decode import frames_at


def uniform_frame_times(total_frames: int, fps: float, num_frames: int) -> list[float]:
    """Frame times of lmms-eval's sample: ``linspace(0, total_frames - 1, num_frames)`` as ints, / fps."""
    if total_frames <= 0 or num_frames <= 0 or fps <= 0:
        return []
    if num_frames == 1:
        return [0.0]
    step = (total_frames - 1) / (num_frames - 1)
    return [int(k * step) / fps for k in range(num_frames)]


class FramesStrategy:
    """``frames`` frames spread over the video and the question, sent to the Video-LLM once."""

    name = "frames"

    def __init__(self, *, frames: int = 16, width: int = 640) -> None:
        """Sample ``frames`` frames (lmms-eval's ``max_num_frames``) at most ``width`` pixels wide."""
        self.frames = frames
        self.width = width

    def iter_answer(self, deps: VideoDeps, question: Question) -> Iterator[Step]:
        """Decode the frames, ask once, read the option letter from the reply."""
        info = deps.info
        times = [min(t, deps.duration_s) for t in uniform_frame_times(info.n_frames, info.fps, self.frames)]
        prompt = (
            question.prompt(times)
            if question.prompt is not None
            else render(
                "frames_question", question=question.text, choices=list(zip(LETTERS, question.options, strict=False))
            )
        )
        try:
            frames = frames_at(deps.path, times, width=min(self.width, info.width))
            reply = deps.backends.video_llm.describe(frames, times, prompt)
        except BackendError as e:
            yield ErrorStep(step=0, message=str(e))
            return
        option = parse_choice(reply, question.options) if question.options else None
        whole = TimeSpan(start_s=0.0, end_s=deps.duration_s)
        yield AnswerStep(
            step=0,
            answer=reply.strip(),
            option=option,
            evidence=(Evidence(span=whole, note=f"{len(times)} frames"),),
            option_source="answer_text" if option else None,
            check_reason="not checked: the frames strategy has no self-check",
        )
