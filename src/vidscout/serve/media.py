"""Turn a request's ``image_url`` / ``video_url`` parts into timestamped RGB frames, as vLLM reads them.

- ``data:image/*;base64`` and ``file://`` images; an image's time comes from the text part right before it
  ("Frame at 00:01:05:"), else its position.
- ``data:video/jpeg;base64,<jpeg>,<jpeg>,...``: split like vLLM's ``VideoMediaIO.load_base64`` (at most
  ``num_frames`` parts, the server's ceiling winning over the request's), validated with vLLM's messages;
  frame ``i`` is at ``frames_indices[i] / fps`` seconds.
- Any other ``data:video/*`` or a ``file://`` video: decoded with PyAV, ``num_frames`` evenly spread or
  ``fps`` per second (capped by the ceiling); times from the clip's start.

Remote ``http(s)`` media are not fetched (the server runs offline). Bad media raise `MediaError` (HTTP 400).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlparse

import cv2
import numpy as np

from vidscout.errors import MediaError
from vidscout.models.base import Image
from vidscout.serve.protocol import Message

_FRAME_TIME = re.compile(r"(\d{1,3}):([0-5]\d):([0-5]\d(?:\.\d+)?)\D*$")


@dataclass
class MediaLimits:
    """Server-side ceilings, named after the `vllm serve` flags they mirror."""

    per_prompt: Mapping[str, int] = field(default_factory=lambda: {"image": 32, "video": 1})  # --limit-mm-per-prompt
    num_frames: int = 32  # --media-io-kwargs '{"video": {"num_frames": N}}': frames per video, at most
    allowed_local_media_path: Path | None = None  # --allowed-local-media-path


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
    messages: Sequence[Message], media_io_kwargs: Mapping[str, Mapping[str, Any]] | None, limits: MediaLimits
) -> Frames:
    """All frames of all media parts, in order, and the text of the last user message."""
    check_limits(messages, limits)
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
                out.images.append(load_image(p.image_url.url, limits))
                found = _FRAME_TIME.search(previous_text)
                out.times_s.append(_seconds(found) if found else float(len(out.times_s)))
                previous_text = ""
            elif p.type == "video_url" and p.video_url is not None:
                frames, times = load_video(p.video_url.url, video_kwargs, limits)
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
    if limits.allowed_local_media_path is None:
        raise MediaError("Cannot load local files without `--allowed-local-media-path`.")
    parsed = urlparse(url)
    path = Path(unquote(parsed.netloc + parsed.path)).resolve()
    root = limits.allowed_local_media_path.resolve()
    if root not in path.parents:
        raise MediaError(f"The file path {path} must be a subpath of `--allowed-local-media-path` {root}.")
    if not path.is_file():
        raise MediaError(f"No such file: {path}")
    return path.read_bytes()


def _remote(url: str) -> MediaError:
    scheme = url.split(":", 1)[0]
    return MediaError(
        f"vidscout serve does not fetch {scheme}:// media (it runs offline); send a data: URL, or a file:// URL "
        "under --allowed-local-media-path."
    )


def _decode_image(data: bytes) -> Image:
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise MediaError("An image part does not decode as an image (JPEG, PNG, WebP, ...).")
    return cast(Image, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def load_image(url: str, limits: MediaLimits) -> Image:
    """The RGB image of an ``image_url``."""
    if url.startswith("data:"):
        media_type, payload = _data_url(url)
        if not media_type.startswith("image/"):
            raise MediaError(f"An image_url holds {media_type!r}; expected image/*.")
        return _decode_image(_b64(payload))
    if url.startswith("file:"):
        return _decode_image(_local_file(url, limits))
    raise _remote(url)


def _frame_budget(video_kwargs: Mapping[str, Any], ceiling: int) -> int:
    """Frames to read: the request's ``num_frames`` may lower the server's ceiling, never raise it."""
    asked = video_kwargs.get("num_frames", ceiling)
    if not isinstance(asked, int) or asked == 0 or asked < -1:
        raise MediaError("num_frames must be greater than 0 or -1")
    if ceiling <= 0:
        return asked
    return ceiling if asked == -1 else min(asked, ceiling)


def load_video(url: str, video_kwargs: Mapping[str, Any], limits: MediaLimits) -> tuple[list[Image], list[float]]:
    """Frames and their times (seconds) of a ``video_url``."""
    from vidscout.video.clip import decode_clip

    budget = _frame_budget(video_kwargs, limits.num_frames)
    if url.startswith("data:"):
        media_type, payload = _data_url(url)
        if media_type == "video/jpeg":
            return _jpeg_sequence(payload, video_kwargs, budget)
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
    return decode_clip(data, num_frames=budget, fps=float(fps) if fps is not None else None)


def _jpeg_sequence(payload: str, kw: Mapping[str, Any], budget: int) -> tuple[list[Image], list[float]]:
    parts = payload.split(",", budget)[:budget] if budget > 0 else payload.split(",")
    frames = [_decode_image(_b64(p)) for p in parts]
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
