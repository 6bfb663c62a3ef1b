"""Which frames the ``frames`` strategy shows the Video-LLM: lmms-eval's uniform sample, per benchmark.

lmms-eval's video models (``load_video_stream``, ``load_video_decord``, llava_vid, qwen2_5_vl) decode
``numpy.linspace(0, total_frames - 1, n, dtype=int)``: ``n`` evenly spaced frame *indices*, first
and last frame included, truncated toward zero, duplicates dropped. Where a model is given an
``fps`` it takes at most ``int(duration_s * fps)`` frames. `FrameSampling` holds ``n`` and ``fps``;
each `Task` carries the values lmms-eval uses for its benchmark.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class FrameSampling(BaseModel, frozen=True):
    """lmms-eval's frame sample for one benchmark; each field's source is in ``source``."""

    frames: int = Field(default=32, ge=1, le=768)  # frames per question (lmms-eval frame_num / max_num_frames)
    fps: float | None = Field(default=None, gt=0)  # at most this many frames per second of video; None: no cap
    source: str = Field(default="", description="Where lmms-eval sets these numbers for the benchmark.")


def lmms_eval_frame_indices(
    total_frames: int, num_frames: int, *, video_fps: float, fps: float | None = None
) -> list[int]:
    """Frame indices of lmms-eval's uniform sample.

    ``numpy.linspace(0, total_frames - 1, n, dtype=int)`` without numpy: ``k * step`` truncated,
    the last one exactly ``total_frames - 1`` (as numpy sets it), then the distinct values in order.
    ``n`` is ``num_frames``, capped by ``total_frames`` and, with ``fps``, by ``int(duration_s * fps)``
    (at least 1), as in lmms-eval's ``load_video_stream``.

    Args:
        total_frames: Frames in the video.
        num_frames: Frames wanted.
        video_fps: The video's frame rate (for the ``fps`` cap).
        fps: Largest number of sampled frames per second of video; None for no cap.

    Returns:
        Increasing frame indices in ``[0, total_frames - 1]``; empty for an empty video.
    """
    if total_frames <= 0 or num_frames <= 0:
        return []
    n = min(num_frames, total_frames)
    if fps is not None and video_fps > 0:
        n = max(1, min(n, int(total_frames / video_fps * fps)))
    if n == 1:
        return [0]
    step = (total_frames - 1) / (n - 1)
    raw = [int(k * step) for k in range(n - 1)] + [total_frames - 1]
    return sorted(set(raw))


def lmms_eval_frame_times(
    duration_s: float, video_fps: float, total_frames: int, sampling: FrameSampling
) -> list[float]:
    """Times (seconds) of the frames `lmms_eval_frame_indices` picks: index / video fps, within the video.

    Args:
        duration_s: The video's length.
        video_fps: Its frame rate.
        total_frames: Its frame count; 0 when the container does not say (then ``duration_s * video_fps``).
        sampling: How many frames, and the fps cap.
    """
    if video_fps <= 0 or duration_s <= 0:
        return [0.0]
    total = total_frames if total_frames > 0 else max(1, round(duration_s * video_fps))
    indices = lmms_eval_frame_indices(total, sampling.frames, video_fps=video_fps, fps=sampling.fps)
    return [min(duration_s, i / video_fps) for i in indices]
