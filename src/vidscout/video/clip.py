"""Short in-memory clips: encode frames into an H.264 MP4 (to send a span to a Video-LLM) and decode one back.

``encode_clip`` is what the ``clip`` mode of the OpenAI-compatible Video-LLM client sends; ``decode_clip``
is how ``vidscout serve`` reads a ``video_url`` part, sampling frames the way vLLM's video loader does
(``num_frames`` evenly spread, or ``fps`` frames per second capped by ``num_frames``). Sampling is planned
from the packets alone (`sample_clip`), so a caller can refuse a clip before decoding it, and the decode
keeps and converts only the sampled frames: memory holds the samples, never the whole clip.
"""

from __future__ import annotations

import io
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np
from av.error import FFmpegError
from numpy.typing import NDArray

from vidscout.errors import MediaError
from vidscout.video.decode import frame_rotation, upright

_AV_ERRORS = (FFmpegError, ValueError, IndexError, EOFError)
_DECODE_THREADS = 4


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


@dataclass(frozen=True)
class ClipSample:
    """Which frames `decode_sample` will return from a clip, found by demuxing it (nothing decoded yet)."""

    width: int  # stored frame size (px); returned frames have this many pixels, turned upright
    height: int
    n_frames: int  # frames (packets) in the clip's video stream
    duration_s: float  # from the first frame's time to the last's
    origin: int  # the first frame's timestamp (stream time base); times count from it
    keys: tuple[int, ...]  # the sampled frames' timestamps (stream time base), or decode indices when `by_index`
    times_s: tuple[float, ...]  # their times, seconds from the clip's first frame
    starts: tuple[int | None, ...]  # per sampled frame, the keyframe timestamp to decode from (None: the start)
    by_index: bool  # the stream carries no timestamps: frames are counted in decode order, all decoded

    @property
    def pixels(self) -> int:
        """RGB pixels the sampled frames hold (frames x width x height)."""
        return len(self.keys) * self.width * self.height

    @property
    def decode_pixels(self) -> int:
        """Pixels of the whole clip: what decoding reaches the sampled frames through, at most."""
        return self.n_frames * self.width * self.height


def sample_clip(data: bytes, *, num_frames: int, fps: float | None = None) -> ClipSample:
    """Plan the sampling of a video file's bytes from its packets: frame count, size and the frames to keep.

    Args:
        data: The file's bytes (any container PyAV reads).
        num_frames: At most this many frames, evenly spread over the clip (-1: no cap).
        fps: Sample this many frames per second instead (still capped by ``num_frames``).

    Raises:
        MediaError: The bytes hold no demuxable video stream.
    """
    stamps, keyframes = array("q"), array("q")  # 8 bytes a frame: a long clip's timestamps stay small
    count = 0
    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.video:
                raise MediaError("The video_url holds no video stream.")
            vs = container.streams.video[0]
            width, height = int(vs.codec_context.width), int(vs.codec_context.height)
            time_base = float(vs.time_base or 0)
            rate = float(vs.average_rate or 1)
            for packet in container.demux(vs):
                if packet.size == 0:
                    continue  # the demuxer's end-of-stream packet
                count += 1
                if packet.pts is not None:
                    stamps.append(packet.pts)
                    if packet.is_keyframe:
                        keyframes.append(packet.pts)
    except _AV_ERRORS as e:
        raise MediaError(f"The video_url is not a decodable video ({e}).") from e
    if count == 0:
        raise MediaError("The video_url decodes to zero frames.")
    if width <= 0 or height <= 0:
        raise MediaError("The video_url's stream does not say its frame size; re-encode it (e.g. H.264 in MP4).")
    by_index = len(stamps) != count or time_base <= 0
    if by_index:
        keys = np.arange(count, dtype=np.int64)
        times = keys / rate
    else:
        keys = np.unique(np.frombuffer(stamps, dtype=np.int64))  # presentation order; B-frames come out of order
        times = (keys - keys[0]).astype(np.float64) * time_base
    picks = _by_rate(times, fps) if fps is not None and fps > 0 else np.arange(len(keys))
    if 0 < num_frames < len(picks):
        picks = picks[np.linspace(0, len(picks) - 1, num_frames).round().astype(np.int64)]
    chosen = keys[picks]
    starts: list[int | None] = [None] * len(chosen)
    if not by_index and keyframes:
        sync = np.unique(np.frombuffer(keyframes, dtype=np.int64))
        before = np.searchsorted(sync, chosen, side="right") - 1  # the last keyframe at or before each frame
        starts = [int(sync[i]) if i >= 0 else None for i in before.tolist()]
    return ClipSample(
        width=width, height=height, n_frames=count, duration_s=float(times[-1]), origin=int(keys[0]),
        keys=tuple(chosen.tolist()), times_s=tuple(times[picks].tolist()), starts=tuple(starts), by_index=by_index,
    )  # fmt: skip


def decode_sample(data: bytes, sample: ClipSample) -> tuple[list[NDArray[np.uint8]], list[float]]:
    """Decode the frames `sample_clip` chose, as upright RGB arrays, with their times in seconds.

    Groups of pictures holding no chosen frame are skipped (not fed to the decoder), so a sparse sample of a
    long clip decodes a fraction of it. Only chosen frames are converted and kept, each at the planned pixel
    count (a stream that changes size midway is scaled back to it). A chosen frame that does not decode is
    replaced by the next one that does; a damaged tail ends the clip early.

    Raises:
        MediaError: No chosen frame decodes.
    """
    wanted, starts = sample.keys, sample.starts
    frames: list[NDArray[np.uint8]] = []
    times: list[float] = []
    rotation: int | None = None
    j = 0  # the next wanted frame

    def keep(frame: Any, index: int) -> None:
        nonlocal rotation, j
        key = index if sample.by_index else frame.pts
        if key is None or j == len(wanted) or key < wanted[j]:
            return
        while j < len(wanted) and wanted[j] <= key:
            j += 1
        if rotation is None:
            rotation = frame_rotation(frame)
        w, h = (sample.height, sample.width) if rotation % 180 else (sample.width, sample.height)
        frames.append(upright(frame, w, h, rotation))
        times.append(sample.times_s[j - 1] if sample.by_index else (key - sample.origin) * time_base)

    try:
        with av.open(io.BytesIO(data), "r") as container:
            vs = container.streams.video[0]
            vs.thread_type = "AUTO"
            # A fixed thread count bounds the decoder's own buffers (one frame set per thread) on many-core hosts.
            vs.codec_context.thread_count = _DECODE_THREADS
            codec = vs.codec_context
            time_base = float(vs.time_base or 0)
            feeding = starts[0] is None
            n = 0
            for packet in container.demux(vs):
                if j == len(wanted):
                    break
                if packet.is_keyframe and packet.pts is not None:
                    start = starts[j]
                    needed = start is None or start <= packet.pts
                    if needed and not feeding:
                        codec.flush_buffers()
                    elif feeding and not needed:
                        for frame in codec.decode(None):  # drain: the tail of this group may hold a wanted frame
                            keep(frame, n)
                            n += 1
                        codec.flush_buffers()
                    feeding = needed
                if feeding:
                    for frame in packet.decode():
                        keep(frame, n)
                        n += 1
    except _AV_ERRORS as e:
        if not frames:
            raise MediaError(f"The video_url is not a decodable video ({e}).") from e
    if not frames:
        raise MediaError("The video_url decodes to zero frames.")
    return frames, times


def decode_clip(
    data: bytes, *, num_frames: int, fps: float | None = None
) -> tuple[list[NDArray[np.uint8]], list[float]]:
    """Sample upright RGB frames from a video file's bytes, with their times in seconds from the clip's start.

    `sample_clip` then `decode_sample`; call those two to check the plan (its pixels) before decoding.

    Args:
        data: The file's bytes (any container PyAV reads).
        num_frames: At most this many frames, evenly spread over the clip (-1: no cap).
        fps: Sample this many frames per second instead (still capped by ``num_frames``).

    Raises:
        MediaError: The bytes are not a decodable video.
    """
    return decode_sample(data, sample_clip(data, num_frames=num_frames, fps=fps))


def _by_rate(times: NDArray[np.float64], fps: float) -> NDArray[np.int64]:
    """Indices of the first frame at or after each multiple of 1/fps (one pass; gaps skip grid points)."""
    step = 1.0 / fps
    picks: list[int] = []
    next_k = 0
    for i, t in enumerate(times.tolist()):
        if t + 1e-6 >= next_k * step:
            picks.append(i)
            next_k = math.floor((t + 1e-6) / step) + 1  # arithmetic, not a loop: a huge fps must not spin
    return np.asarray(picks, dtype=np.int64)
