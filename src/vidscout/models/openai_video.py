"""The Video-LLM client for an OpenAI-compatible server (vLLM >= 0.30, or ``vidscout serve``).

Spec: ``openai:<model>@<base_url>?mode=video&max_frames=16&max_pixels=200704`` as the ``video_llm`` role.
A time range goes to the server in one of three shapes, all from vLLM's documented chat API:

- ``video`` (default): the frames as one ``video_url`` part ``data:video/jpeg;base64,<jpeg>,<jpeg>,...`` with
  ``media_io_kwargs.video`` = {num_frames, fps, frames_indices, total_num_frames, duration} and
  ``mm_processor_kwargs.do_sample_frames = false``, so the server neither re-samples nor drops frames and
  Qwen3-VL's timestamps are the frames' real times (without the metadata Qwen3-VL answered HTTP 500).
- ``frames``: one ``image_url`` part per frame, each after a text part "Frame at HH:MM:SS:".
- ``clip``: the span re-encoded as a short H.264 MP4 (``clip_fps`` frames per second) in one ``video_url``
  part, inline as ``data:video/mp4;base64`` or as a ``file://`` URL under ``media_dir`` (the server then
  needs ``--allowed-local-media-path``), with ``media_io_kwargs.video.num_frames`` = the frame budget.

Every media part carries a ``uuid`` derived from its content (or, for clips, from the file and span), and
the media come before the question, so a follow-up question on the same span hits vLLM's multimodal and
prefix caches.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, cast

import cv2
from pydantic import BaseModel, Field

from vidscout.errors import BackendError, ConfigError
from vidscout.models.base import ChatMessage, GenerationOptions, Image
from vidscout.models.openai import OpenAILLM
from vidscout.types import TimeSpan, format_hms

_SYSTEM = (
    "You are a careful video analyst. Answer from what the video shows; give times as HH:MM:SS from the "
    "start of the full video; say so when the frames do not show the answer."
)


class VideoRequestOptions(BaseModel, frozen=True):
    """How the client packs a time range into a request; each field maps to a spec option of the same name."""

    mode: Literal["video", "frames", "clip"] = "video"  # the request shape (module docstring)
    max_frames: int = Field(default=16, ge=1, le=768)  # frame budget per request (vLLM >= 0.30 caps at 768)
    max_pixels: int = Field(default=448 * 448, ge=28 * 28)  # frames are downscaled to at most this many pixels
    jpeg_quality: int = Field(default=85, ge=10, le=100)  # JPEG quality of each frame (video, frames modes)
    index_fps: float = Field(default=10.0, gt=0)  # video mode: timebase of frames_indices (0.1 s steps)
    clip_fps: float = Field(default=2.0, gt=0, le=30)  # clip mode: frames per second of the encoded clip
    transport: Literal["data", "file"] = "data"  # clip mode: inline data URL, or a file:// URL in media_dir
    media_dir: Path | None = None  # clip mode, file transport: a directory the server may read
    max_tokens: int = Field(default=256, ge=1)  # reply length limit (tokens)
    uuids: bool = True  # send content-derived uuids so vLLM's caches hit on follow-up questions


def downscale(frame: Image, max_pixels: int) -> Image:
    """``frame`` resized (area filter, aspect kept, even sides) to at most ``max_pixels`` pixels."""
    h, w = frame.shape[:2]
    if h * w <= max_pixels:
        return frame
    scale = math.sqrt(max_pixels / (h * w))
    size = (max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2))
    return cast(Image, cv2.resize(frame, size, interpolation=cv2.INTER_AREA))


def jpeg_base64(frame: Image, quality: int) -> str:
    """Base64 (no data-URL prefix) of ``frame`` as a JPEG."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise BackendError(f"Could not JPEG-encode a frame of shape {frame.shape}")
    return base64.b64encode(buf.tobytes()).decode("ascii")


def _uuid(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def spread(n_items: int, budget: int) -> list[int]:
    """At most ``budget`` indices evenly spread over ``range(n_items)``, first and last included."""
    if n_items <= budget:
        return list(range(n_items))
    if budget == 1:
        return [n_items // 2]
    return sorted({round(i * (n_items - 1) / (budget - 1)) for i in range(budget)})


def span_text(times_s: Sequence[float], prompt: str) -> str:
    """The text after the media: which part of the video they cover, then the question."""
    if not times_s:
        return prompt
    return f"These frames cover {format_hms(times_s[0])}-{format_hms(times_s[-1])} of the video.\n{prompt}"


def video_part(
    frames: Sequence[Image], times_s: Sequence[float], o: VideoRequestOptions
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One ``video_url`` part of pre-decoded JPEG frames, and the extra body with vLLM's video metadata.

    The metadata follows vLLM's ``VideoMediaIO.load_base64("video/jpeg", ...)``: ``fps`` is the timebase of
    ``frames_indices``, so frame ``i`` is at ``frames_indices[i] / fps`` seconds of the video.
    """
    b64 = [jpeg_base64(downscale(f, o.max_pixels), o.jpeg_quality) for f in frames]
    indices = [round(t * o.index_fps) for t in times_s]
    for i in range(1, len(indices)):  # strictly increasing even when two times round together
        indices[i] = max(indices[i], indices[i - 1] + 1)
    total = indices[-1] + 1
    part: dict[str, Any] = {"type": "video_url", "video_url": {"url": "data:video/jpeg;base64," + ",".join(b64)}}
    if o.uuids:
        part["uuid"] = _uuid("video/jpeg", *b64, *map(str, indices))
    extra = {
        "media_io_kwargs": {
            "video": {
                "num_frames": len(b64),
                "fps": o.index_fps,
                "frames_indices": indices,
                "total_num_frames": total,
                "duration": total / o.index_fps,
            }
        },
        "mm_processor_kwargs": {"do_sample_frames": False},
    }
    return part, extra


def image_parts(frames: Sequence[Image], times_s: Sequence[float], o: VideoRequestOptions) -> list[dict[str, Any]]:
    """Alternating "Frame at HH:MM:SS:" text parts and ``image_url`` JPEG parts."""
    parts: list[dict[str, Any]] = []
    for frame, t_s in zip(frames, times_s, strict=True):
        b64 = jpeg_base64(downscale(frame, o.max_pixels), o.jpeg_quality)
        image: dict[str, Any] = {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + b64}}
        if o.uuids:
            image["uuid"] = _uuid("image/jpeg", b64)
        parts += [{"type": "text", "text": f"Frame at {format_hms(t_s)}:"}, image]
    return parts


class OpenAIVideoLLM:
    """The `VideoLLM` protocol over a vision chat model served OpenAI-style (Qwen2.5-VL / Qwen3-VL on vLLM).

    ``describe`` sends the given frames in the ``video`` or ``frames`` shape (a ``clip`` client sends them
    as ``video``: only `OpenAIClipVideoLLM.describe_clip` cuts clips).
    """

    served = True

    def __init__(self, llm: OpenAILLM, options: VideoRequestOptions | None = None) -> None:
        """Wrap a chat client.

        Args:
            llm: The client for the vision model (timeouts and retries are its own).
            options: Request shape, frame budget and sizes.
        """
        self.name = llm.name
        self.llm = llm
        self.options = options or VideoRequestOptions()

    def request(
        self, frames: Sequence[Image], times_s: Sequence[float], prompt: str
    ) -> tuple[list[ChatMessage], dict[str, Any]]:
        """The messages and extra body `describe` sends (public so tests can check them against vLLM's docs)."""
        if len(frames) != len(times_s):
            raise ValueError(f"{len(frames)} frames but {len(times_s)} timestamps")
        if not frames:
            raise ConfigError("A Video-LLM request needs at least one frame.")
        order = sorted(range(len(frames)), key=lambda i: times_s[i])
        keep = [order[i] for i in spread(len(order), self.options.max_frames)]
        frames, times_s = [frames[i] for i in keep], [times_s[i] for i in keep]
        extra: dict[str, Any] = {}
        if self.options.mode == "frames":
            parts = image_parts(frames, times_s, self.options)
        else:
            part, extra = video_part(frames, times_s, self.options)
            parts = [part]
        parts.append({"type": "text", "text": span_text(times_s, prompt)})
        return [ChatMessage(role="system", content=_SYSTEM), ChatMessage(role="user", content=parts)], extra

    def describe(self, frames: Sequence[Image], times_s: Sequence[float], prompt: str) -> str:
        """Answer ``prompt`` about ``frames`` sampled at ``times_s`` (seconds into the video).

        Raises:
            BackendError: The server failed or rejected the request (the message names the flag to change).
        """
        messages, extra = self.request(frames, times_s, prompt)
        options = GenerationOptions(max_tokens=self.options.max_tokens)
        return self.llm.complete(messages, options, extra_body=extra).text.strip()


class OpenAIClipVideoLLM(OpenAIVideoLLM):
    """`OpenAIVideoLLM` in ``clip`` mode: `describe_clip` sends the span itself as a short MP4."""

    def clip_request(self, video: Path, span: TimeSpan, prompt: str) -> tuple[list[ChatMessage], dict[str, Any]]:
        """The messages and extra body `describe_clip` sends; writes the clip file in ``file`` transport."""
        from vidscout.video.clip import encode_clip
        from vidscout.video.decode import frames_at, probe

        o = self.options
        info = probe(video)
        n = max(1, min(768, math.ceil(span.duration_s * o.clip_fps)))
        times = [min(info.duration_s, span.start_s + i / o.clip_fps) for i in range(n)]
        width = max(2, int(math.sqrt(o.max_pixels * info.width / max(1, info.height))) // 2 * 2)
        frames = frames_at(video, times, width=min(info.width, width))
        data = encode_clip(frames, o.clip_fps)
        stat = video.stat()
        key = _uuid("clip", video.name, str(stat.st_size), str(stat.st_mtime_ns), f"{span.start_s:.3f}",
                    f"{span.end_s:.3f}", f"{o.clip_fps:g}", str(o.max_pixels))  # fmt: skip
        if o.transport == "file":
            if o.media_dir is None:
                raise ConfigError("transport=file needs media_dir (a directory the vLLM server may read)")
            o.media_dir.mkdir(parents=True, exist_ok=True)
            path = o.media_dir / f"clip-{key}.mp4"
            path.write_bytes(data)
            url = path.resolve().as_uri()
        else:
            url = "data:video/mp4;base64," + base64.b64encode(data).decode("ascii")
        part: dict[str, Any] = {"type": "video_url", "video_url": {"url": url}}
        if o.uuids:
            part["uuid"] = key
        text = (
            f"This clip is {format_hms(span.start_s)}-{format_hms(span.end_s)} of the video; its time 0 is "
            f"{format_hms(span.start_s)}.\n{prompt}"
        )
        extra = {"media_io_kwargs": {"video": {"num_frames": min(n, o.max_frames)}}}
        messages = [ChatMessage(role="system", content=_SYSTEM),
                    ChatMessage(role="user", content=[part, {"type": "text", "text": text}])]  # fmt: skip
        return messages, extra

    def describe_clip(self, video: Path, span: TimeSpan, prompt: str) -> str:
        """Answer ``prompt`` about ``span`` of ``video``, sent as a short clip.

        Raises:
            BackendError: The server failed or rejected the request (the message names the flag to change).
            MediaError: The span cannot be decoded.
        """
        messages, extra = self.clip_request(video, span, prompt)
        options = GenerationOptions(max_tokens=self.options.max_tokens)
        return self.llm.complete(messages, options, extra_body=extra).text.strip()
