"""The ``frames`` strategy: one Video-LLM call on frames sampled uniformly over the whole video.

The lmms-eval-style baseline: lmms-eval's frame sample for the benchmark (`vidscout.answering.sampling`),
the question (or the benchmark's own prompt) after them, one reply. Meaningful with a served Video-LLM (vllm profile);
the embedded ``composite`` stand-in only lists what it recognises.
"""

from __future__ import annotations

from collections.abc import Iterator

from vidscout.agent.trace import AnswerStep, ErrorStep, Step
from vidscout.answering.question import Question
from vidscout.answering.sampling import FrameSampling, lmms_eval_frame_times
from vidscout.choices import LETTERS, parse_choice
from vidscout.errors import BackendError
from vidscout.prompts.render import render
from vidscout.tools.registry import VideoDeps
from vidscout.types import Evidence, TimeSpan
from vidscout.video.decode import VideoInfo, frames_at


class FramesStrategy:
    """Frames spread over the video (lmms-eval's sample) and the question, sent to the Video-LLM once."""

    name = "frames"
    frame_width = 640  # frames are decoded at most this wide; the Video-LLM client may downscale further

    def __init__(
        self, *, sampling: FrameSampling | None = None, frames: int | None = None, fps: float | None = None
    ) -> None:
        """Use a benchmark's ``sampling`` (default 32 frames), with ``frames`` / ``fps`` overriding it."""
        base = sampling or FrameSampling(source="vidscout's default: 32 uniformly sampled frames")
        if frames is None and fps is None:
            self.sampling = base
        else:
            self.sampling = FrameSampling(
                frames=frames or base.frames, fps=fps if fps is not None else base.fps,
                source=f"overridden on the command line (default: {base.frames} frames)",
            )  # fmt: skip

    def frame_times(self, info: VideoInfo) -> list[float]:
        """Times of lmms-eval's uniform frame indices on a video."""
        return lmms_eval_frame_times(info.duration_s, info.fps, info.n_frames, self.sampling)

    def iter_answer(self, deps: VideoDeps, question: Question) -> Iterator[Step]:
        """Decode the frames, ask once, read the option letter from the reply."""
        info = deps.info
        times = [min(t, deps.duration_s) for t in self.frame_times(info)]
        prompt = (
            question.prompt(times)
            if question.prompt is not None
            else render(
                "frames_question", question=question.text, choices=list(zip(LETTERS, question.options, strict=False))
            )
        )
        try:
            frames = frames_at(deps.path, times, width=min(self.frame_width, info.width))
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
