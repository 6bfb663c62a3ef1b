"""Short in-memory clips: encode frames into an H.264 MP4 (to send a span to a Video-LLM) and decode one back.

``encode_clip`` is what the ``clip`` mode of the OpenAI-compatible Video-LLM client sends; ``decode_clip``
is how ``vidscout serve`` reads a ``video_url`` part, sampling frames the way vLLM's video loader does
(``num_frames`` evenly spread, or ``fps`` frames per second capped by ``num_frames``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, cast

import av
import numpy as np
from av.error import FFmpegError
from numpy.typing import NDArray

from vidscout.errors import MediaError

_AV_ERRORS = (FFmpegError, ValueError, IndexError, EOFError)


def encode_clip(frames: Sequence[NDArray[np.uint8]], fps: float, *, crf: int = 23) -> bytes:
    """H.264/yuv420p MP4 bytes of RGB ``frames`` shown at ``fps`` frames per second.

    Frames must share one shape; odd sizes are cropped by one pixel (yuv420p needs even sizes).

    Raises:
        MediaError: No frames, mixed shapes, or the encoder failed.
    """
    if not frames:
        raise MediaError("Cannot encode a clip of zero frames.")
    h, w = frames[0].shape[:2]
    h, w = h - h % 2, w - w % 2
    if any(f.shape[:2] != frames[0].shape[:2] for f in frames):
        raise MediaError("All frames of a clip must have the same size.")
    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format="mp4") as container:
            stream: Any = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            stream.options = {"crf": str(crf), "preset": "veryfast", "bf": "0"}
            for frame in frames:
                image = np.ascontiguousarray(frame[:h, :w])
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    except _AV_ERRORS as e:
        raise MediaError(f"Could not encode a {len(frames)}-frame clip ({e}).") from e
    return buf.getvalue()


def decode_clip(
    data: bytes, *, num_frames: int, fps: float | None = None
) -> tuple[list[NDArray[np.uint8]], list[float]]:
    """Sample RGB frames from a video file's bytes, with their times in seconds from the clip's start.

    Args:
        data: The file's bytes (any container PyAV reads).
        num_frames: At most this many frames, evenly spread over the clip (-1: no cap).
        fps: Sample this many frames per second instead (still capped by ``num_frames``).

    Raises:
        MediaError: The bytes are not a decodable video.
    """
    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.video:
                raise MediaError("The video_url holds no video stream.")
            vs = container.streams.video[0]
            decoded: list[tuple[float, NDArray[np.uint8]]] = []
            rate = float(vs.average_rate or 1)
            for frame in container.decode(vs):
                when: Any = frame.time  # None when the frame has no timestamp (typed as float by the stubs)
                t = float(when) if when is not None else len(decoded) / rate
                decoded.append((t, cast(NDArray[np.uint8], frame.to_ndarray(format="rgb24"))))
    except _AV_ERRORS as e:
        raise MediaError(f"The video_url is not a decodable video ({e}).") from e
    if not decoded:
        raise MediaError("The video_url decodes to zero frames.")
    t0 = decoded[0][0]
    times = [t - t0 for t, _ in decoded]
    picks = _by_rate(times, fps) if fps is not None and fps > 0 else list(range(len(decoded)))
    if 0 < num_frames < len(picks):
        picks = [picks[int(i)] for i in np.linspace(0, len(picks) - 1, num_frames).round()]
    return [decoded[i][1] for i in picks], [times[i] for i in picks]


def _by_rate(times: Sequence[float], fps: float) -> list[int]:
    """Indices of the first frame at or after each multiple of 1/fps."""
    picks: list[int] = []
    next_t = 0.0
    for i, t in enumerate(times):
        if t + 1e-6 >= next_t:
            picks.append(i)
            next_t += 1.0 / fps
            while next_t <= t:
                next_t += 1.0 / fps
    return picks
