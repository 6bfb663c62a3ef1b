"""Turn a request's ``image_url`` / ``video_url`` parts into timestamped RGB frames, as vLLM reads them.

- ``data:image/*;base64`` and ``file://`` images; an image's time comes from the text part right before it
  ("Frame at 00:01:05:"), else its position.
- ``data:video/jpeg;base64,<jpeg>,<jpeg>,...``: split like vLLM's ``VideoMediaIO.load_base64`` (at most
  ``num_frames`` parts, the server's ceiling winning over the request's), validated with vLLM's messages;
  frame ``i`` is at ``frames_indices[i] / fps`` seconds.
- Any other ``data:video/*`` or a ``file://`` video: decoded with PyAV, ``num_frames`` evenly spread or
  ``fps`` per second (capped by the ceiling); times from the clip's start.

Media are sized before they are decoded: an image from its header, a video from its packets. A request whose
frames (frames x width x height) exceed ``max_pixels``, or a video longer than ``max_decode_pixels``, is refused
before any decoding; a `PixelTally` also reserves each part's pixels from the server's shared budget.
Remote ``http(s)`` media are not fetched (the server runs offline). Bad media raise `MediaError` (HTTP 400).
Errors never name a server path: a client learns nothing about the file system from them.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlparse

import av
import cv2
import numpy as np
from av.error import FFmpegError

from vidscout.errors import MediaError
from vidscout.models.base import Image
from vidscout.serve.protocol import Message

_FRAME_TIME = re.compile(r"(\d{1,3}):([0-5]\d):([0-5]\d(?:\.\d+)?)\D*$")
FULL_HD = 1920 * 1080


@dataclass
class MediaLimits:
    """Server-side ceilings, named after the `vllm serve` flags they mirror (the pixel ones are vidscout's)."""

    per_prompt: Mapping[str, int] = field(default_factory=lambda: {"image": 32, "video": 1})  # --limit-mm-per-prompt
    num_frames: int = 32  # --media-io-kwargs '{"video": {"num_frames": N}}': frames per video, at most
    allowed_local_media_path: Path | None = None  # --allowed-local-media-path
    max_pixels: int = 32 * FULL_HD  # --max-request-pixels: decoded RGB pixels per request (frames x w x h)
    max_decode_pixels: int = 30 * 60 * 30 * FULL_HD  # --max-decode-pixels: a video's frames x w x h (30 min 1080p30)


class PixelTally:
    """The decoded pixels of one request: checked against its cap, and reserved from the server's budget.

    ``reserve(pixels)`` takes pixels from a budget shared by concurrent requests (it raises when that is spent;
    the server answers 429); the caller releases what the request reserved when it is done with the frames.
    """

    def __init__(self, limit: int, reserve: Callable[[int], None] | None = None) -> None:
        self.limit = limit
        self.used = 0
        self._reserve = reserve

    def charge(self, pixels: int, what: str) -> None:
        """Count ``pixels`` for ``what`` (e.g. "32 frames of 1920x1080"), or raise `MediaError` over the cap."""
        if self.used + pixels > self.limit:
            others = f" on top of {_mpx(self.used)} for the request's other media" if self.used else ""
            raise MediaError(
                f"The request's media would decode to {what} ({_mpx(pixels)}{others}); at most {_mpx(self.limit)} "
                "may be decoded per request. Send fewer frames (num_frames / fps), fewer or smaller media, or set "
                "`--max-request-pixels` to increase this limit."
            )
        if self._reserve is not None:
            self._reserve(pixels)
        self.used += pixels


def _mpx(pixels: int) -> str:
    return f"{pixels / 1e6:.1f}M pixels"


@dataclass
class Frames:
    """The frames a request carries, in order, with their times (seconds) and the request's text."""

    images: list[Image] = field(default_factory=list[Image])
    times_s: list[float] = field(default_factory=list[float])
    text: str = ""


def check_limits(messages: Sequence[Message], limits: MediaLimits) -> None:
    """Raise vLLM's 400 message when a prompt has more images or videos than ``--limit-mm-per-prompt``."""
    counts = {"image": 0, "video": 0}
    for m in messages:
        if isinstance(m.content, list):
            for p in m.content:
                if p.type != "text":
                    counts[p.type.removesuffix("_url")] += 1
    for modality, count in counts.items():
        limit = limits.per_prompt.get(modality, 0)
        if count > limit:
            raise MediaError(
                f"At most {limit} {modality}(s) may be provided in one prompt. "
                "Set `--limit-mm-per-prompt` to increase this limit."
            )


def collect_frames(
    messages: Sequence[Message],
    media_io_kwargs: Mapping[str, Mapping[str, Any]] | None,
    limits: MediaLimits,
    *,
    tally: PixelTally | None = None,
) -> Frames:
    """All frames of all media parts, in order, and the text of the last user message.

    ``tally`` counts the request's decoded pixels across parts (a fresh one per call when omitted).
    """
    check_limits(messages, limits)
    tally = tally or PixelTally(limits.max_pixels)
    out = Frames()
    video_kwargs = dict((media_io_kwargs or {}).get("video", {}))
    for m in messages:
        if not isinstance(m.content, list):
            continue
        previous_text = ""
        for p in m.content:
            if p.type == "text":
                previous_text = p.text or ""
            elif p.type == "image_url" and p.image_url is not None:
                out.images.append(load_image(p.image_url.url, limits, tally=tally))
                found = _FRAME_TIME.search(previous_text)
                out.times_s.append(_seconds(found) if found else float(len(out.times_s)))
                previous_text = ""
            elif p.type == "video_url" and p.video_url is not None:
                frames, times = load_video(p.video_url.url, video_kwargs, limits, tally=tally)
                out.images += frames
                out.times_s += times
            else:
                raise MediaError(f"A {p.type} part needs its {p.type!r} field, e.g. {{'url': 'data:...'}}.")
    users = [m for m in messages if m.role == "user"]
    if users:
        content = users[-1].content
        texts = [content] if isinstance(content, str) else [p.text or "" for p in content or [] if p.type == "text"]
        out.text = "\n".join(t for t in texts if t and not _is_frame_label(t)).strip()
    return out


def _seconds(match: re.Match[str]) -> float:
    h, m, s = match.groups()
    return int(h) * 3600 + int(m) * 60 + float(s)


def _is_frame_label(text: str) -> bool:
    return bool(re.fullmatch(r"\s*Frame at \d{1,3}:\d\d:\d\d(?:\.\d+)?:?\s*", text))


def _data_url(url: str) -> tuple[str, str]:
    """(media type, base64 payload) of a ``data:<type>;base64,<payload>`` URL."""
    head, sep, payload = url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise MediaError("A data URL must look like data:<media type>;base64,<payload>.")
    return head[len("data:") : -len(";base64")].lower(), payload


def _b64(payload: str) -> bytes:
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as e:
        raise MediaError(f"The data URL's payload is not valid base64 ({e}).") from e


def _local_file(url: str, limits: MediaLimits) -> bytes:
    # No message names a path: not the resolved target of a symlink, not the server's working directory.
    if limits.allowed_local_media_path is None:
        raise MediaError("Cannot load local files without `--allowed-local-media-path`.")
    parsed = urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise MediaError("A file:// URL must name a path on the server itself: file:///<absolute path>.")
    path = Path(unquote(parsed.path)).resolve()
    root = limits.allowed_local_media_path.resolve()
    if root not in path.parents:
        raise MediaError(
            "The file is outside the allowed directory: a file:// path must be a subpath of "
            "`--allowed-local-media-path` (after following symlinks)."
        )
    try:
        return path.read_bytes()
    except OSError as e:  # e's text names the path: keep only the reason
        reason = (e.strerror or type(e).__name__).lower()
        raise MediaError(f"Cannot read the file under `--allowed-local-media-path`: {reason}.") from None


def _remote(url: str) -> MediaError:
    scheme = url.split(":", 1)[0]
    return MediaError(
        f"vidscout serve does not fetch {scheme}:// media (it runs offline); send a data: URL, or a file:// URL "
        "under --allowed-local-media-path."
    )


_NOT_AN_IMAGE = "An image part does not decode as an image (JPEG, PNG, WebP, ...)."


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of encoded image bytes, from the header alone (a small file may declare a huge image)."""
    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.video:
                raise MediaError(_NOT_AN_IMAGE)
            codec = container.streams.video[0].codec_context
            width, height = int(codec.width), int(codec.height)
    except (FFmpegError, ValueError, IndexError, EOFError) as e:
        raise MediaError(_NOT_AN_IMAGE) from e
    if width <= 0 or height <= 0:
        raise MediaError(_NOT_AN_IMAGE)
    return width, height


def _decode_image(data: bytes, tally: PixelTally) -> Image:
    width, height = image_size(data)
    tally.charge(width * height, f"an image of {width}x{height}")
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or bgr.shape[0] * bgr.shape[1] > width * height:
        raise MediaError(_NOT_AN_IMAGE)
    return cast(Image, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def load_image(url: str, limits: MediaLimits, *, tally: PixelTally | None = None) -> Image:
    """The RGB image of an ``image_url`` (its pixels counted in ``tally``, or against ``limits`` alone)."""
    tally = tally or PixelTally(limits.max_pixels)
    if url.startswith("data:"):
        media_type, payload = _data_url(url)
        if not media_type.startswith("image/"):
            raise MediaError(f"An image_url holds {media_type!r}; expected image/*.")
        return _decode_image(_b64(payload), tally)
    if url.startswith("file:"):
        return _decode_image(_local_file(url, limits), tally)
    raise _remote(url)


def _frame_budget(video_kwargs: Mapping[str, Any], ceiling: int) -> int:
    """Frames to read: the request's ``num_frames`` may lower the server's ceiling, never raise it."""
    asked = video_kwargs.get("num_frames", ceiling)
    if not isinstance(asked, int) or asked == 0 or asked < -1:
        raise MediaError("num_frames must be greater than 0 or -1")
    if ceiling <= 0:
        return asked
    return ceiling if asked == -1 else min(asked, ceiling)


def load_video(
    url: str, video_kwargs: Mapping[str, Any], limits: MediaLimits, *, tally: PixelTally | None = None
) -> tuple[list[Image], list[float]]:
    """Frames and their times (seconds) of a ``video_url`` (pixels counted in ``tally``, or against ``limits``).

    A file is sampled from its packets first: its length and the frames to keep are checked against the limits
    before anything is decoded, and only the kept frames are converted.
    """
    from vidscout.video.clip import decode_sample, sample_clip

    tally = tally or PixelTally(limits.max_pixels)
    budget = _frame_budget(video_kwargs, limits.num_frames)
    if url.startswith("data:"):
        media_type, payload = _data_url(url)
        if media_type == "video/jpeg":
            return _jpeg_sequence(payload, video_kwargs, budget, tally)
        if not media_type.startswith("video/"):
            raise MediaError(f"A video_url holds {media_type!r}; expected video/*.")
        data = _b64(payload)
    elif url.startswith("file:"):
        data = _local_file(url, limits)
    else:
        raise _remote(url)
    fps = video_kwargs.get("fps") if "num_frames" not in video_kwargs else None
    if fps is not None and (not isinstance(fps, int | float) or fps <= 0):
        raise MediaError("fps must be a positive number")
    sample = sample_clip(data, num_frames=budget, fps=float(fps) if fps is not None else None)
    size = f"{sample.width}x{sample.height}"
    if sample.decode_pixels > limits.max_decode_pixels:
        raise MediaError(
            f"The video_url holds {sample.n_frames} frames of {size} ({sample.duration_s:.0f} s, "
            f"{sample.decode_pixels / 1e9:.1f}G pixels to decode); at most {limits.max_decode_pixels / 1e9:.1f}G "
            "pixels are decoded per video. Send a shorter or smaller clip, or set `--max-decode-pixels` to "
            "increase this limit."
        )
    tally.charge(sample.pixels, f"{len(sample.keys)} frame(s) of {size}")
    return decode_sample(data, sample)


def _jpeg_sequence(
    payload: str, kw: Mapping[str, Any], budget: int, tally: PixelTally
) -> tuple[list[Image], list[float]]:
    parts = payload.split(",", budget)[:budget] if budget > 0 else payload.split(",")
    frames = [_decode_image(_b64(p), tally) for p in parts]
    total = len(frames)
    fps = kw.get("fps", 1)
    if not isinstance(fps, int | float) or fps <= 0:
        raise MediaError("fps must be a positive number")
    indices = kw.get("frames_indices")
    if indices is None:
        indices = list(range(total))
    elif not isinstance(indices, list) or not all(isinstance(i, int) for i in cast(list[Any], indices)):
        raise MediaError("frames_indices must be a list of integers")
    indices = cast(list[int], indices)
    if len(indices) != total:
        raise MediaError(f"frames_indices length ({len(indices)}) must match number of frames sent ({total})")
    total_num_frames = kw.get("total_num_frames", total)
    if not isinstance(total_num_frames, int) or total_num_frames < 1:
        raise MediaError("total_num_frames must be a positive integer")
    if total_num_frames < total:
        raise MediaError(f"total_num_frames ({total_num_frames}) must be >= number of frames sent ({total})")
    return frames, [i / float(fps) for i in indices]
