"""Seeded rolling credits over real footage or black, with every line's time on screen known by construction.

`draw_roll` draws a `RollSpec` from a seed (roles and names, text size, speed, background); `build_roll`
renders it with ffmpeg; `score_roll` says which lines a reader got. Used by ``bench/rolling_text.py`` and
the tests of `vidscout.memory.moved_text`, which compare reading every line of every keyframe with
carrying over the lines that only moved.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from vidscout.eval.perception import TEXT_READ_AT
from vidscout.media import samples
from vidscout.media.planted import FONT_DIR, FONTS
from vidscout.text import normalise_words

_FIRST = ("Ada", "Bram", "Carmen", "Dmitri", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Keiko", "Lars",
          "Mira", "Nils", "Olga", "Pavel", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wim", "Yara", "Zoltan")  # fmt: skip
_LAST = ("Achterberg", "Bianchi", "Costa", "Dahl", "Eklund", "Ferreira", "Grünewald", "Horvath", "Iglesias",
         "Janssen", "Kovac", "Lombardi", "Mertens", "Novak", "Ortega", "Pellegrini", "Quist", "Ramos", "Sato",
         "Tanaka", "Urquhart", "Varga", "Weber", "Zielinski")  # fmt: skip
_ROLES = ("ANIMATION", "LIGHTING", "MUSIC", "EDITING", "SOUND DESIGN", "RIGGING", "TEXTURES", "STORYBOARD",
          "COMPOSITING", "PRODUCTION", "MODELING", "CAMERA", "SPECIAL THANKS", "SOFTWARE", "LAYOUT")  # fmt: skip

Background = Literal["black", "footage"]

RENDERER_VERSION = 1
"""Bumped whenever `build_roll` draws the same spec differently (part of the file name)."""


class RollSpec(BaseModel, frozen=True):
    """Lines rolling up from the bottom edge at a constant speed, one every ``pitch_px``."""

    lines: tuple[str, ...]
    size_px: int = Field(ge=8, description="Font size at the video's size.")
    speed_px_s: float = Field(gt=0)
    pitch_px: int = Field(gt=0, description="Distance between two lines' tops.")
    background: Background
    footage_start_s: float = Field(default=0.0, ge=0, description="Where the Big Buck Bunny background starts.")
    font: str = "DejaVuSans.ttf"
    size: tuple[int, int] = (640, 360)
    swap: tuple[int, str, float] | None = Field(
        default=None, description="(line index, new text, time): that line's text changes mid-roll, in place."
    )

    @property
    def duration_s(self) -> float:
        """Until the last line has rolled off the top."""
        return (self.size[1] + len(self.lines) * self.pitch_px) / self.speed_px_s

    def top_at(self, i: int, t: float) -> float:
        """Line ``i``'s top edge (px) at time ``t``."""
        return self.size[1] + i * self.pitch_px - self.speed_px_s * t

    def visible(self, i: int, t: float) -> bool:
        """Whether line ``i`` is wholly on screen at ``t``."""
        top = self.top_at(i, t)
        return top >= 0 and top + 1.3 * self.size_px <= self.size[1]

    def text_at(self, i: int, t: float) -> str:
        """What line ``i`` says at ``t``."""
        if self.swap is not None and self.swap[0] == i and t >= self.swap[2]:
            return self.swap[1]
        return self.lines[i]


def draw_roll(rng: random.Random, *, n_lines: int = 40, background: Background | None = None) -> RollSpec:
    """A credits roll: role headings each followed by one to three names, size 14-26 px at 640x360."""
    lines: list[str] = []
    while len(lines) < n_lines:
        lines.append(rng.choice(_ROLES))
        lines += [f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(rng.randint(1, 3))]
    size = rng.randint(14, 26)
    return RollSpec(
        lines=tuple(lines[:n_lines]),
        size_px=size,
        speed_px_s=rng.uniform(25.0, 70.0),
        pitch_px=round(size * rng.uniform(1.5, 2.2)),
        background=background or rng.choice(("black", "footage")),
        footage_start_s=rng.uniform(0.0, 400.0),
        font=rng.choice(FONTS),
    )


def build_roll(spec: RollSpec, folder: Path, *, cache: Path) -> Path:
    """Render ``spec`` into ``folder`` (H.264, no sound; one ``drawtext`` per line), named by the spec's hash.

    An earlier rendering of the same spec is reused. ``cache`` holds the fetched footage.
    """
    key = hashlib.sha256(f"{RENDERER_VERSION}:{spec.model_dump_json()}".encode()).hexdigest()[:12]
    out = folder / f"roll_{key}.mp4"
    if out.exists():
        return out
    w, h = spec.size
    length = f"{spec.duration_s:.3f}"
    if spec.background == "footage":
        bbb = samples.big_buck_bunny(cache)
        source = ["-ss", f"{spec.footage_start_s:.3f}", "-t", length, "-i", str(bbb)]
        fit = f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},fps=24"
    else:
        source = ["-f", "lavfi", "-i", f"color=c=black:s={w}x{h}:r=24:d={length}"]
        fit = "null"
    out.parent.mkdir(parents=True, exist_ok=True)
    text_dir = out.with_suffix(".lines")
    text_dir.mkdir(exist_ok=True)
    draws = []
    for i, line in enumerate(spec.lines):
        pieces = [(line, 0.0, spec.duration_s)]
        if spec.swap is not None and spec.swap[0] == i:
            pieces = [(line, 0.0, spec.swap[2]), (spec.swap[1], spec.swap[2], spec.duration_s)]
        for j, (text, a, b) in enumerate(pieces):
            textfile = text_dir / f"{i}_{j}.txt"
            textfile.write_text(text, encoding="utf-8")
            draws.append(
                f"drawtext=fontfile={FONT_DIR / spec.font}:textfile={textfile}:expansion=none:fontsize={spec.size_px}"
                f":fontcolor=white:borderw={max(1, spec.size_px // 14)}:bordercolor=black:x=(w-text_w)/2"
                f":y={h + i * spec.pitch_px}-{spec.speed_px_s:.4f}*t:enable='between(t,{a:.3f},{b:.3f})'"
            )
    samples.build(out, [*source, "-vf", ",".join([fit, *draws]), "-t", length, "-an", "-c:v", "libx264",
                        "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"])  # fmt: skip
    return out


class RollScore(BaseModel, frozen=True):
    """How many planted lines a reader got, and how many of its lines were planted ones."""

    planted: int
    read: int
    lines: int
    correct_lines: int
    missed: list[str] = Field(default_factory=list)

    @property
    def recall(self) -> float:
        """Share of planted lines read on at least one keyframe where they were wholly on screen."""
        return self.read / self.planted if self.planted else 1.0

    @property
    def precision(self) -> float:
        """Share of lines read whose words are mostly those of a line on screen then."""
        return self.correct_lines / self.lines if self.lines else 1.0


def score_roll(spec: RollSpec, reads: Mapping[float, Sequence[str]]) -> RollScore:
    """Score what a reader read on each keyframe (time -> lines) against the planted lines.

    A planted line is read when one keyframe that shows it whole holds >= `TEXT_READ_AT` of its words in
    one line. A line read is correct when half its words belong to a line on screen at that time.
    """
    read, missed = 0, []
    texts = sorted({(i, spec.text_at(i, t)) for t in reads for i in range(len(spec.lines)) if spec.visible(i, t)})
    for i, text in texts:
        want = normalise_words(text)
        best = 0.0
        for t, got in reads.items():
            if spec.visible(i, t) and spec.text_at(i, t) == text:
                for line in got:
                    words = set(normalise_words(line))
                    best = max(best, sum(w in words for w in want) / len(want) if want else 1.0)
        if best >= TEXT_READ_AT:
            read += 1
        else:
            missed.append(f"{text!r} (best {best:.2f})")
    total = correct = 0
    for t, got in reads.items():
        shown = [set(normalise_words(spec.text_at(i, t))) for i in range(len(spec.lines))
                 if spec.top_at(i, t) < spec.size[1] and spec.top_at(i, t) + 1.3 * spec.size_px > 0]  # fmt: skip
        for line in got:
            words = normalise_words(line)
            if not words:
                continue
            total += 1
            correct += any(sum(w in s for w in words) / len(words) >= 0.5 for s in shown)
    return RollScore(planted=len(texts), read=read, lines=total, correct_lines=correct, missed=missed)
