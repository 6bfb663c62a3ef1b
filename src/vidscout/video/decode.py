"""Probing and decoding with PyAV: one sequential pass, frame-accurate seeks, and 16 kHz audio.

PyAV decodes at the ffmpeg CLI's CPU cost (0.97x on Big Buck Bunny); seeking to every 1 fps sample
separately cost 2.5x a sequential pass, so `scan` decodes in order and converts only what it keeps,
and `frames_at` serves nearby requests from one forward decode (bench/decode_throughput.py).
Frames come out upright: a display-matrix rotation (phone videos) is applied, as players do.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from av.error import FFmpegError
from numpy.typing import NDArray
from pydantic import BaseModel

from vidscout.errors import MediaError

SAMPLE_RATE = 16_000
"""Audio sample rate (Hz) of `load_audio`: what every ASR backend receives."""

_AV_ERRORS = (FFmpegError, ValueError, IndexError)  # InvalidDataError is an FFmpegError
_PROBE_PACKETS = 64  # packets `probe` feeds the decoder looking for a first frame (B-frame and thread delay)


class VideoInfo(BaseModel, frozen=True):
    """What `probe` learns from a container without decoding it."""

    path: str
    size_bytes: int
    duration_s: float
    fps: float
    width: int  # as displayed: after `rotation` (a portrait phone video is narrower than tall)
    height: int
    n_frames: int
    video_codec: str
    has_audio: bool
    audio_codec: str | None = None
    rotation: int = 0  # degrees counter-clockwise that turn stored frames upright (0, 90, 180 or 270)


def upright(frame: Any, width: int, height: int, rotation: int) -> NDArray[np.uint8]:
    """An RGB array of a decoded PyAV frame as displayed: (height, width, 3) after turning it by ``rotation``.

    Scaling happens before the turn, on the stored orientation, so a quarter turn swaps the sizes asked of it.
    """
    turns = rotation // 90 % 4
    if turns % 2:
        image = frame.to_ndarray(format="rgb24", width=height, height=width)
    else:
        image = frame.to_ndarray(format="rgb24", width=width, height=height)
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def thumbnail(frame: Any, width: int, height: int, rotation: int) -> NDArray[np.uint8]:
    """`upright` for the tiny frames of cut detection, area-averaged straight from the decoded planes.

    swscale's filter widens with the scaling ratio: shrinking a 1280x720 frame to 64x36 cost more CPU than
    decoding it. Averaging each plane of an 8-bit 4:2:0 frame with OpenCV (no copy of the frame) and
    converting the tiny result as swscale would (the frame's BT.601 or BT.709 matrix, limited range) costs a
    fifth of that, and lands closer to the frame converted at full size, then averaged (1.1 vs 3.0 levels
    per pixel on Big Buck Bunny). Other pixel formats and matrices go through `upright`.
    """
    turns = rotation // 90 % 4
    w, h = (height, width) if turns % 2 else (width, height)
    matrix = _YUV_TO_RGB.get(int(frame.colorspace))
    if frame.format.name != "yuv420p" or matrix is None:
        return upright(frame, width, height, rotation)
    cw, ch = (frame.width + 1) // 2, (frame.height + 1) // 2
    y, u, v = (
        cv2.resize(_plane(plane, pw, ph), (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
        for plane, pw, ph in zip(frame.planes, (frame.width, cw, cw), (frame.height, ch, ch), strict=True)
    )
    yuv = np.stack([(y - 16.0) * (255 / 219), (u - 128.0) * (255 / 224), (v - 128.0) * (255 / 224)], axis=-1)
    image = np.clip(yuv @ matrix + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def _yuv_to_rgb(kr: float, kb: float) -> NDArray[np.float32]:
    """The (3, 3) matrix taking full-scale (Y, Cb, Cr) rows to (R, G, B), for luma weights ``kr`` and ``kb``."""
    kg = 1.0 - kr - kb
    cr_r, cb_b = 2 * (1 - kr), 2 * (1 - kb)
    return np.array([[1.0, 1.0, 1.0], [0.0, -cb_b * kb / kg, cb_b], [cr_r, -cr_r * kr / kg, 0.0]], dtype=np.float32)


# AVColorSpace values swscale converts with these matrices; 2 (unspecified) gets its default, BT.601.
_BT601, _BT709 = _yuv_to_rgb(0.299, 0.114), _yuv_to_rgb(0.2126, 0.0722)
_YUV_TO_RGB = {1: _BT709, 2: _BT601, 5: _BT601, 6: _BT601}


_NONE = np.zeros((0, 0, 3), np.uint8)


def _plane(plane: Any, width: int, height: int) -> NDArray[np.uint8]:
    """One 8-bit plane as a (height, width) view of the frame's buffer (rows padded to ``line_size``)."""
    return np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)[:height, :width]


def frame_rotation(frame: Any) -> int:
    """The display-matrix rotation of a decoded frame, rounded to a quarter turn (degrees counter-clockwise).

    Phone videos store frames sideways with a display matrix; the decoder attaches it to every frame.
    """
    degrees = getattr(frame, "rotation", 0) or 0  # VideoFrame.rotation: PyAV 14+
    return round(float(degrees) / 90) * 90 % 360


def _open(path: Path) -> Any:
    if not path.exists():
        raise MediaError(f"No such file: {path}. Check the path and try again.")
    if path.is_dir():
        raise MediaError(f"{path} is a directory; give the path of a video file.")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{path} is empty (0 bytes); it is not a video. Re-copy or re-download it.")
    try:
        return av.open(str(path), metadata_errors="ignore")
    except _AV_ERRORS as e:
        if _mp4_without_moov(path):
            raise MediaError(
                f"{path} is an MP4 without its moov atom (the index ffmpeg writes at the end): truncated? Only files "
                "written with `-movflags +faststart` (moov first) can be partly ingested; re-copy the whole file."
            ) from e
        raise MediaError(f"{path} is not a readable media file ({e}). Is it a video?") from e


def _mp4_without_moov(path: Path) -> bool:
    """Whether ``path`` starts like an MP4/MOV (an ``ftyp`` box) but has no top-level ``moov`` box."""
    size = path.stat().st_size
    pos, first = 0, True
    with open(path, "rb") as f:
        while pos + 8 <= size:
            f.seek(pos)
            head = f.read(16)
            box_size, kind = int.from_bytes(head[:4], "big"), head[4:8]
            if first and kind != b"ftyp":
                return False
            if kind == b"moov":
                return False
            first = False
            if box_size == 1 and len(head) == 16:  # a 64-bit size follows the type
                box_size = int.from_bytes(head[8:16], "big")
            if box_size < 8:  # 0 = "to the end of the file"; less than 8 is malformed
                break
            pos += box_size
    return not first


def probe(path: Path) -> VideoInfo:
    """Read duration, frame rate, size and streams; raise `MediaError` for anything not a video."""
    container = _open(path)
    try:
        if not container.streams.video:
            kind = "audio only" if container.streams.audio else "no video stream"
            raise MediaError(f"{path} has {kind}; vidscout ingests files with a video stream.")
        vs = container.streams.video[0]
        rate = vs.average_rate or vs.base_rate or vs.guessed_rate
        fps = float(rate) if rate else 0.0
        duration_s = _duration_s(container, vs)
        if duration_s <= 0 or not math.isfinite(duration_s):
            raise MediaError(f"{path} reports no duration; the file may be truncated or a still image.")
        if fps <= 0 or fps > 1000:
            raise MediaError(f"{path} has no usable frame rate ({fps}); re-mux it with ffmpeg.")
        n_frames = int(vs.frames) if vs.frames else round(duration_s * fps)
        audio = container.streams.audio[0] if container.streams.audio else None
        width, height = int(vs.codec_context.width), int(vs.codec_context.height)
        rotation = _first_frame_rotation(container, vs)
        if rotation in (90, 270):
            width, height = height, width
        return VideoInfo(
            path=str(path),
            size_bytes=path.stat().st_size,
            duration_s=duration_s,
            fps=fps,
            width=width,
            height=height,
            n_frames=n_frames,
            video_codec=str(vs.codec_context.name),
            has_audio=audio is not None,
            audio_codec=str(audio.codec_context.name) if audio is not None else None,
            rotation=rotation,
        )
    finally:
        container.close()


def _first_frame_rotation(container: Any, vs: Any) -> int:
    # PyAV exposes the display matrix on frames only, so decode the first one (a few ms). A file whose first
    # packets do not decode is reported unrotated here and fails, or stops early, in `scan`.
    try:
        for i, packet in enumerate(container.demux(vs)):
            for frame in packet.decode():
                return frame_rotation(frame)
            if i >= _PROBE_PACKETS:
                break
    except _AV_ERRORS:
        pass
    return 0


def _duration_s(container: Any, vs: Any) -> float:
    if vs.duration is not None and vs.time_base is not None:
        return float(vs.duration * vs.time_base)
    if container.duration is not None:
        return float(container.duration) / av.time_base
    return 0.0


@dataclass(frozen=True)
class ScanOptions:
    """Knobs for one sequential pass over the video."""

    sample_every_s: float = 2.0  # keep one analysis frame this often (seconds)
    sample_width: int = 640  # analysis frames are resized to this width (px), aspect kept
    detail_width: int | None = None  # also keep each sample at up to this width (`ScannedFrame.detail`)
    thumb_size: tuple[int, int] = (64, 36)  # tiny frames for cut detection (w, h)
    fast_thumbs: bool = True  # area-average the decoded planes (`thumbnail`); False: swscale, as `upright`
    thumbs: bool = True  # False: no thumbnails (``thumb`` is empty), for a pass that wants the samples alone
    start_s: float = 0.0  # scan from here (seconds)
    end_s: float = math.inf  # ... up to here, exclusive


@dataclass(frozen=True)
class ScannedFrame:
    """One decoded frame: a tiny thumbnail always, the analysis image on sample frames."""

    t_s: float
    thumb: NDArray[np.uint8]  # (h, w, 3) RGB, ScanOptions.thumb_size, upright; (0, 0, 3) without thumbs
    image: NDArray[np.uint8] | None  # (H, W, 3) RGB at sample_width, upright, or None
    detail: NDArray[np.uint8] | None = None  # the sample at detail_width, where that is wider than ``image``


def _frame_time_s(frame: Any, time_base: Fraction) -> float | None:
    if frame.pts is None:
        return None
    return float(frame.pts * time_base)


def sample_width(info: VideoInfo, width: int) -> int:
    """The width `scan` gives its analysis frames when asked for ``width``: never upscaled, even."""
    return min(width, info.width) // 2 * 2


def scan(path: Path, options: ScanOptions | None = None) -> Iterator[ScannedFrame]:
    """Decode frames in order, yielding a thumbnail per frame and full images at the sample rate.

    A decode error after some frames ends the scan early (a truncated file gives a partial
    result); an error before the first frame raises `MediaError`.
    """
    opts = options or ScanOptions()
    info = probe(path)
    out_w = sample_width(info, opts.sample_width)
    out_h = max(2, round(info.height * out_w / info.width) // 2 * 2)
    detail_w = sample_width(info, opts.detail_width) if opts.detail_width else out_w
    detail_h = max(2, round(info.height * detail_w / info.width) // 2 * 2)
    container = _open(path)
    yielded = 0
    try:
        vs = container.streams.video[0]
        vs.thread_type = "AUTO"
        time_base = vs.time_base
        if opts.start_s > 0:
            container.seek(int(opts.start_s / time_base), stream=vs, backward=True)
        # Samples sit on the global grid k * sample_every_s, whatever start_s is, so a resumed or
        # split scan keeps exactly the frames a single full scan keeps.
        next_k = math.ceil(opts.start_s / opts.sample_every_s - 1e-9)
        make_thumb = thumbnail if opts.fast_thumbs else upright
        fallback_t = opts.start_s
        try:
            for frame in container.decode(vs):
                t = _frame_time_s(frame, time_base)
                t = fallback_t if t is None else t
                fallback_t = t + 1.0 / info.fps
                if t < opts.start_s - 1e-6:
                    continue
                if t >= opts.end_s:
                    break
                thumb = _NONE
                if opts.thumbs:
                    thumb = make_thumb(frame, opts.thumb_size[0], opts.thumb_size[1], info.rotation)
                image = detail = None
                if t + 1e-6 >= next_k * opts.sample_every_s:
                    image = upright(frame, out_w, out_h, info.rotation)
                    if detail_w > out_w:
                        detail = upright(frame, detail_w, detail_h, info.rotation)
                    next_k = math.floor((t + 1e-6) / opts.sample_every_s) + 1
                yielded += 1
                yield ScannedFrame(t_s=t, thumb=thumb, image=image, detail=detail)
        except _AV_ERRORS as e:
            if yielded == 0:
                raise MediaError(f"{path}: no frame could be decoded ({e}). The file is corrupt.") from e
            # A truncated or damaged tail: keep what decoded; the caller records the covered span.
            return
        if yielded == 0 and opts.end_s > opts.start_s and opts.start_s == 0:
            raise MediaError(f"{path}: the video stream holds no decodable frame.")
    finally:
        container.close()


def keyframe_times(path: Path) -> list[float]:
    """Presentation times (seconds) of the video stream's keyframes, from demuxing alone."""
    container = _open(path)
    try:
        vs = container.streams.video[0]
        times: list[float] = []
        for packet in container.demux(vs):
            if packet.is_keyframe and packet.pts is not None:
                times.append(float(packet.pts * vs.time_base))
        return sorted(times)
    finally:
        container.close()


def frames_at(path: Path, times_s: Sequence[float], *, width: int | None = None) -> list[NDArray[np.uint8]]:
    """Return the frame displayed at each time (frame-accurate), as upright RGB arrays, in input order.

    The frame shown at ``t`` is the last frame whose presentation time is <= t. Seeks go to the
    keyframe before each request; requests close together share one forward decode.
    """
    info = probe(path)
    for t in times_s:
        if not 0 <= t <= info.duration_s:
            raise MediaError(f"Time {t:.3f}s is outside the video (0 to {info.duration_s:.3f}s).")
    order = sorted(range(len(times_s)), key=lambda i: times_s[i])
    results: dict[int, NDArray[np.uint8]] = {}
    w = width or info.width
    h = max(2, round(info.height * w / info.width) // 2 * 2)
    container = _open(path)
    try:
        vs = container.streams.video[0]
        tb = vs.time_base
        pending = list(order)
        while pending:
            sought = pending[0]
            container.seek(int(times_s[sought] / tb), stream=vs, backward=True)
            prev: Any = None
            for frame in container.decode(vs):
                t = _frame_time_s(frame, tb)
                if t is None:
                    continue
                # Serve every pending request whose time is before this frame: the previous frame.
                while pending and prev is not None and times_s[pending[0]] < t - 1e-6:
                    results[pending.pop(0)] = upright(prev, w, h, info.rotation)
                if not pending:
                    break
                if prev is None and times_s[pending[0]] < t - 1e-6:
                    # The seek landed past the target (start of stream): the first frame is shown.
                    results[pending.pop(0)] = upright(frame, w, h, info.rotation)
                    if not pending:
                        break
                prev = frame
                # Far-away next target: seek again instead of decoding through the gap, but only once this
                # pass has served its own request (with sparse keyframes the seek may land far before it).
                if pending and pending[0] != sought and times_s[pending[0]] - t > 10.0:
                    break
            else:
                while pending and prev is not None:
                    results[pending.pop(0)] = upright(prev, w, h, info.rotation)
                if pending:
                    raise MediaError(f"{path}: could not decode a frame at {times_s[pending[0]]:.3f}s.")
    except _AV_ERRORS as e:
        raise MediaError(f"{path}: decoding failed while seeking ({e}).") from e
    finally:
        container.close()
    return [results[i] for i in range(len(times_s))]


def load_audio(path: Path, *, start_s: float = 0.0, end_s: float = math.inf) -> NDArray[np.float32]:
    """Decode the first audio stream to mono float32 at 16 kHz; empty when there is no audio."""
    container = _open(path)
    try:
        if not container.streams.audio:
            return np.zeros(0, dtype=np.float32)
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        if start_s > 0:
            container.seek(int(start_s * av.time_base))
        chunks: list[NDArray[np.float32]] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1))
                t = _frame_time_s(frame, stream.time_base)
                if t is not None and t >= end_s:
                    break
            for out in resampler.resample(None):
                chunks.append(np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1))
        except _AV_ERRORS:
            pass  # a damaged tail: keep the audio decoded so far
    finally:
        container.close()
    audio = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)
    if math.isfinite(end_s):
        audio = audio[: int((end_s - start_s) * SAMPLE_RATE)]
    return audio
