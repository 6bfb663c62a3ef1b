"""Plant known speech, on-screen text and pictures into real footage at known times (QA and needle tests).

`plant_needles` (needle v1, the QA video): speech needles are espeak-ng utterances mixed into the
soundtrack at their start time; text needles are captions drawn with OpenCV (white on a dark box)
overlaid for their span; image needles are a photo shown full frame (letterboxed) for their span,
i.e. a shot of their own.

`plant_haystack` (needle v2): the same photos, text drawn in `vidscout.media.planted`'s styles, and
any number of speech clips (espeak-ng or LibriVox recordings), with the footage's own soundtrack
lowered under every clip. Both results are cached by their parameters, like the other builders in
`vidscout.media.samples`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, Field, model_validator

from vidscout.errors import ConfigError
from vidscout.media import samples
from vidscout.media.planted import TextPlant, drawtext_filter
from vidscout.video.decode import probe

NeedleKind = Literal["speech", "text", "image"]


class Needle(BaseModel, frozen=True):
    """One planted fact: what is said or shown, from ``start_s`` for ``duration_s`` (text and image)."""

    kind: NeedleKind
    text: str = Field(description="What is said or written; for an image, a label (not drawn).")
    start_s: float = Field(ge=0)
    duration_s: float = Field(default=4.0, gt=0, description="How long a text or image needle stays on screen.")
    image: str | None = Field(default=None, description="Photo file shown by an image needle.")

    @model_validator(mode="after")
    def _image_iff_image_kind(self) -> Needle:
        if (self.kind == "image") != (self.image is not None):
            raise ValueError("an image needle needs `image` (a photo file) and other needles must not have one")
        return self

    @property
    def on_screen(self) -> bool:
        """Whether the needle is seen (text, image) rather than heard."""
        return self.kind != "speech"


def _caption_png(text: str, size: tuple[int, int], out: Path) -> Path:
    w, h = size
    img = np.zeros((h, w, 4), np.uint8)
    scale = max(0.6, w / 900)
    thick = max(1, round(scale * 2))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x, y = max(8, (w - tw) // 2), int(h * 0.82)
    cv2.rectangle(img, (x - 12, y - th - 12), (x + tw + 12, y + base + 12), (20, 20, 20, 220), -1)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255, 255), thick, cv2.LINE_AA)
    cv2.imwrite(str(out), img)
    return out


def plant_needles(
    footage: Path, needles: Sequence[Needle], out: Path, *, size: tuple[int, int] = (960, 540), crf: int = 26
) -> Path:
    """Re-encode ``footage`` at ``size`` with the needles planted; returns ``out`` (cached)."""
    info = probe(footage)
    for n in needles:
        if n.start_s + (n.duration_s if n.on_screen else 0.0) > info.duration_s:
            raise ConfigError(f"needle {n.text!r} at {n.start_s:.1f}s is past the end of {footage.name}.")
        if n.image is not None and not Path(n.image).is_file():
            raise ConfigError(f"image needle {n.text!r}: photo {n.image} does not exist.")
    planted = [n.model_dump(exclude_none=True) for n in needles]
    key = samples.cache_key("needles", footage=samples.file_id(footage), needles=planted, size=size, crf=crf)
    if samples.load_cached(out, key) is not None:
        return out
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inputs: list[str] = ["-i", str(footage)]
        graph: list[str] = [f"[0:v]scale={size[0]}:{size[1]},format=yuv420p[v0]"]
        audio: list[str] = []
        label = "v0"
        k = 1
        for i, n in enumerate(needles):
            if n.on_screen:
                still = n.image if n.image is not None else str(_caption_png(n.text, size, work / f"t{i}.png"))
                # The overlay stream exists only over its span: shifted to start_s, and the overlay passes
                # the footage through when it ends (decoding a looped image from 0 was ~15x slower).
                inputs += ["-loop", "1", "-framerate", "25", "-t", f"{n.duration_s:.3f}", "-i", still]
                fit = (f"scale={size[0]}:{size[1]}:force_original_aspect_ratio=decrease,"
                       f"pad={size[0]}:{size[1]}:(ow-iw)/2:(oh-ih)/2,setsar=1,"
                       if n.image is not None else "")  # fmt: skip
                graph.append(f"[{k}:v]{fit}setpts=PTS+{n.start_s:.3f}/TB[c{k}]")
                graph.append(f"[{label}][c{k}]overlay=0:0:eof_action=pass[v{k}]")
                label = f"v{k}"
            else:
                wav = samples.espeak_wav(n.text, work / f"s{i}.wav")
                inputs += ["-i", str(wav)]
                ms = int(n.start_s * 1000)
                graph.append(f"[{k}:a]adelay={ms}|{ms},aformat=channel_layouts=mono[a{k}]")
                audio.append(f"[a{k}]")
            k += 1
        if info.has_audio:
            graph.append("[0:a]aformat=channel_layouts=mono[a0]")
            audio.insert(0, "[a0]")
        maps = ["-map", f"[{label}]"]
        if audio:
            graph.append(f"{''.join(audio)}amix=inputs={len(audio)}:normalize=0:duration=first[aout]"
                         if info.has_audio else
                         f"{''.join(audio)}amix=inputs={len(audio)}:normalize=0,apad[aout]")  # fmt: skip
            maps += ["-map", "[aout]"]
        args = [*inputs, "-filter_complex", ";".join(graph), *maps, "-t", f"{info.duration_s:.3f}",
                "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-c:a", "aac", "-b:a", "64k",
                "-movflags", "+faststart"]  # fmt: skip
        samples.build(out, args)
    samples.store_cached(out, key, needles=planted)
    return out


class Photo(BaseModel, frozen=True):
    """A photo shown full frame (letterboxed) from ``start_s`` for ``duration_s``: a shot of its own."""

    path: str
    start_s: float = Field(ge=0)
    duration_s: float = Field(gt=0)


class Sound(BaseModel, frozen=True):
    """A speech clip (a WAV file) that starts playing at ``start_s``; it lasts ``duration_s``."""

    wav: str
    start_s: float = Field(ge=0)
    duration_s: float = Field(gt=0)


def plant_haystack(
    footage: Path,
    out: Path,
    *,
    photos: Sequence[Photo] = (),
    texts: Sequence[TextPlant] = (),
    sounds: Sequence[Sound] = (),
    duck: float = 0.25,
    size: tuple[int, int] = (640, 360),
    crf: int = 28,
) -> Path:
    """Re-encode ``footage`` at ``size`` with photos, drawn text and speech clips planted; returns ``out`` (cached).

    The footage's soundtrack (mono) plays at full volume except under a clip, where it is scaled by
    ``duck``, so every clip is heard over quieter music whether or not it is a needle.

    Raises:
        ConfigError: A plant ends after the footage, or a file is missing.
        BackendError: ffmpeg failed.
    """
    info = probe(footage)
    for name, start, dur in ([(p.path, p.start_s, p.duration_s) for p in photos]
                             + [(t.text, t.start_s, t.duration_s) for t in texts]
                             + [(c.wav, c.start_s, c.duration_s) for c in sounds]):  # fmt: skip
        if start + dur > info.duration_s:
            raise ConfigError(f"{name!r} at {start:.1f}s ends after {footage.name} ({info.duration_s:.1f} s).")
    for path in [p.path for p in photos] + [c.wav for c in sounds]:
        if not Path(path).is_file():
            raise ConfigError(f"{path} does not exist.")
    key = samples.cache_key(
        "haystack", footage=samples.file_id(footage), photos=[p.model_dump() for p in photos],
        texts=[t.model_dump() for t in texts], sounds=[c.model_dump() for c in sounds], duck=duck, size=size, crf=crf,
    )  # fmt: skip
    if samples.load_cached(out, key) is not None:
        return out
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inputs: list[str] = ["-i", str(footage)]
        graph: list[str] = [f"[0:v]scale={size[0]}:{size[1]},format=yuv420p[v0]"]
        label = "v0"
        k = 1
        for p in photos:
            # As in plant_needles: the photo stream exists only over its span, then the overlay passes through.
            inputs += ["-loop", "1", "-framerate", "25", "-t", f"{p.duration_s:.3f}", "-i", p.path]
            graph.append(
                f"[{k}:v]scale={size[0]}:{size[1]}:force_original_aspect_ratio=decrease,"
                f"pad={size[0]}:{size[1]}:(ow-iw)/2:(oh-ih)/2,setsar=1,setpts=PTS+{p.start_s:.3f}/TB[p{k}]"
            )
            graph.append(f"[{label}][p{k}]overlay=0:0:eof_action=pass[v{k}]")
            label = f"v{k}"
            k += 1
        if texts:
            drawn = ",".join(drawtext_filter(t, i, work) for i, t in enumerate(texts))
            graph.append(f"[{label}]{drawn}[vt]")
            label = "vt"
        if info.has_audio:
            graph.append("[0:a]aformat=channel_layouts=mono[bed0]")
        else:
            graph.append(f"anullsrc=r=48000:cl=mono,atrim=end={info.duration_s:.3f}[bed0]")
        if sounds:
            spans = "+".join(f"between(t,{c.start_s:.3f},{c.start_s + c.duration_s:.3f})" for c in sounds)
            graph.append(f"[bed0]volume=volume={duck}:enable='{spans}'[bed]")
            mix = ["[bed]"]
            for i, c in enumerate(sounds):
                inputs += ["-i", c.wav]
                ms = round(c.start_s * 1000)
                graph.append(f"[{k}:a]aformat=channel_layouts=mono,adelay={ms}|{ms}[s{i}]")
                mix.append(f"[s{i}]")
                k += 1
            graph.append(f"{''.join(mix)}amix=inputs={len(mix)}:normalize=0:duration=first[aout]")
        else:
            graph.append("[bed0]anull[aout]")
        args = [*inputs, "-filter_complex", ";".join(graph), "-map", f"[{label}]", "-map", "[aout]",
                "-t", f"{info.duration_s:.3f}", "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf),
                "-c:a", "aac", "-b:a", "64k", "-ac", "1", "-movflags", "+faststart"]  # fmt: skip
        samples.build(out, args)
    samples.store_cached(out, key, photos=len(photos), texts=len(texts), sounds=len(sounds))
    return out
