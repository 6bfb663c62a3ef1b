"""The embedded generator's procedural world: its closed prompt grammar, a renderer, and an exact oracle.

One coloured shape moves at constant speed over a plain background on a 32×32 torus (it leaves one edge
and re-enters at the other). Prompts read ``"a red circle moves left over a black background"``. The
oracle reads the shape, colour, direction and background back from frames, so prompt following is
measured exactly rather than judged by another model.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from vidscout.errors import ConfigError

Frames = NDArray[np.uint8]
"""A run of RGB frames, (n, H, W, 3) uint8."""

SIZE = 32  # frame side (pixels)
RADIUS = 6  # sprite half-size (pixels): a 13-pixel sprite is large on a 32-pixel frame, so easy to learn
SPEED = 2  # pixels per frame
FPS = 8

Field = Literal["colour", "shape", "direction", "background"]
FIELDS: tuple[Field, ...] = ("colour", "shape", "direction", "background")

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 190, 60),
    "blue": (50, 90, 235),
    "yellow": (240, 210, 40),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (15, 15, 20),
    "white": (240, 240, 240),
    "gray": (120, 120, 120),
}
SHAPES = ("circle", "square", "triangle")
DIRECTIONS: dict[str, tuple[int, int]] = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}

VOCABULARY: dict[str, tuple[str, ...]] = {
    "colour": tuple(COLOURS),
    "shape": SHAPES,
    "direction": tuple(DIRECTIONS),
    "background": tuple(BACKGROUNDS),
}
"""Every word the grammar accepts, per slot."""

PROMPT_TEMPLATE = "a {colour} {shape} moves {direction} over a {background} background"

_PROMPT = re.compile(
    r"^\s*an?\s+(?P<colour>\w+)\s+(?P<shape>\w+)\s+moves\s+(?P<direction>\w+)\s+(?:over|on)\s+an?\s+"
    r"(?P<background>\w+)\s+background\s*\.?\s*$",
    re.IGNORECASE,
)


class WorldPrompt(BaseModel, frozen=True):
    """One parsed prompt of the grammar."""

    colour: str
    shape: str
    direction: str
    background: str

    def text(self) -> str:
        """The canonical prompt text."""
        return PROMPT_TEMPLATE.format(**self.model_dump())

    def index(self, field: Field) -> int:
        """Position of this prompt's word for ``field`` in `VOCABULARY` (the model's embedding index)."""
        return VOCABULARY[field].index(getattr(self, field))


def parse_prompt(text: str) -> WorldPrompt:
    """Parse a prompt of the embedded grammar.

    Raises:
        ConfigError: The text is not of the form `PROMPT_TEMPLATE` or uses a word outside `VOCABULARY`.
    """
    m = _PROMPT.match(text)
    if m is None:
        raise ConfigError(
            f"Prompt {text!r} is outside the embedded generator's grammar; write it as "
            f"{PROMPT_TEMPLATE!r} with {vocabulary_hint()}."
        )
    words = {k: v.lower() for k, v in m.groupdict().items()}
    for field in FIELDS:
        if words[field] not in VOCABULARY[field]:
            raise ConfigError(
                f"Prompt {text!r}: {words[field]!r} is not a known {field}; use one of {', '.join(VOCABULARY[field])}."
            )
    return WorldPrompt(**words)


def vocabulary_hint() -> str:
    """The vocabulary as one line, for error messages and the director's prompt."""
    return "; ".join(f"{field} ∈ {{{', '.join(words)}}}" for field, words in VOCABULARY.items())


# --- rendering ------------------------------------------------------------------------------------


def _offsets() -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    r = np.arange(-RADIUS, RADIUS + 1)
    return np.meshgrid(r, r, indexing="ij")  # (dy, dx)


def shape_mask(shape: str) -> NDArray[np.bool_]:
    """The sprite of ``shape`` as a (2R+1, 2R+1) boolean mask centred on its middle pixel."""
    dy, dx = _offsets()
    if shape == "circle":
        return dy**2 + dx**2 <= RADIUS**2 + 1
    if shape == "square":
        return (np.abs(dy) <= RADIUS - 1) & (np.abs(dx) <= RADIUS - 1)
    if shape == "triangle":  # apex up, base at the bottom
        return np.abs(dx) * 2 <= dy + RADIUS
    raise ConfigError(f"Unknown shape {shape!r}; use one of {', '.join(SHAPES)}")


def render_frame(prompt: WorldPrompt, x: int, y: int) -> NDArray[np.uint8]:
    """One (SIZE, SIZE, 3) frame with the sprite centred at pixel (x, y), wrapping around the edges."""
    frame = np.empty((SIZE, SIZE, 3), np.uint8)
    frame[:] = BACKGROUNDS[prompt.background]
    mask = shape_mask(prompt.shape)
    dy, dx = _offsets()
    ys, xs = (dy[mask] + y) % SIZE, (dx[mask] + x) % SIZE
    frame[ys, xs] = COLOURS[prompt.colour]
    return frame


@dataclass
class WorldState:
    """Where the sprite is; a cut puts it back at the centre."""

    x: int = SIZE // 2
    y: int = SIZE // 2


def simulate(
    segments: Sequence[tuple[WorldPrompt, int, Literal["continue", "cut"]]], state: WorldState | None = None
) -> Frames:
    """Ground-truth frames for ``(prompt, n_frames, transition_in)`` segments, in order.

    A cut restarts the sprite at the centre; ``continue`` keeps its position and changes only what the new
    prompt changes. The first frame of a shot after a cut shows the sprite at the centre; every later frame
    moves it ``SPEED`` pixels along the current prompt's direction.
    """
    st = state or WorldState()
    out: list[NDArray[np.uint8]] = []
    first = True
    for prompt, n, transition in segments:
        dx, dy = DIRECTIONS[prompt.direction]
        for i in range(n):
            if transition == "cut" and i == 0:
                st.x, st.y = SIZE // 2, SIZE // 2
            elif not first:
                st.x, st.y = (st.x + SPEED * dx) % SIZE, (st.y + SPEED * dy) % SIZE
            first = False
            out.append(render_frame(prompt, st.x, st.y))
    return np.stack(out) if out else np.zeros((0, SIZE, SIZE, 3), np.uint8)


# --- the oracle -----------------------------------------------------------------------------------


class FrameReading(BaseModel, frozen=True):
    """What the oracle sees in one frame (``None``: not found, e.g. no sprite or no plain background)."""

    background: str | None
    colour: str | None
    shape: str | None
    x: float | None
    y: float | None


class ShotReading(BaseModel, frozen=True):
    """The oracle's verdict on a run of frames that should show one prompt."""

    colour: str | None
    shape: str | None
    direction: str | None
    background: str | None

    def score(self, expected: WorldPrompt) -> float:
        """Fraction of the four prompt fields read back correctly (0..1)."""
        return sum(getattr(self, f) == getattr(expected, f) for f in FIELDS) / len(FIELDS)

    def matches(self, expected: WorldPrompt) -> dict[str, bool]:
        """Per-field agreement with ``expected``."""
        return {f: getattr(self, f) == getattr(expected, f) for f in FIELDS}


CHANCE_SCORE = sum(1.0 / len(VOCABULARY[f]) for f in FIELDS) / len(FIELDS)
"""Expected `ShotReading.score` of a reading drawn uniformly at random (about 0.29)."""


def _nearest(colour: NDArray[np.float32], palette: dict[str, tuple[int, int, int]]) -> str:
    names = list(palette)
    dist = [float(np.sum((colour - np.asarray(palette[n], np.float32)) ** 2)) for n in names]
    return names[int(np.argmin(dist))]


def to_native(frame: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Area-downscale a frame to the world's SIZE×SIZE (frames read back from an upscaled mp4)."""
    h, w = frame.shape[:2]
    if (h, w) == (SIZE, SIZE):
        return frame
    if h % SIZE or w % SIZE:
        raise ConfigError(f"Frame size {w}x{h} is not a multiple of the world's {SIZE}x{SIZE}")
    small = frame.reshape(SIZE, h // SIZE, SIZE, w // SIZE, 3).astype(np.float32).mean(axis=(1, 3))
    return np.clip(small + 0.5, 0, 255).astype(np.uint8)


def _circular_mean(coords: NDArray[np.int64]) -> float:
    angle = coords.astype(np.float64) * (2 * math.pi / SIZE)
    mean = math.atan2(float(np.sin(angle).mean()), float(np.cos(angle).mean()))
    return (mean * SIZE / (2 * math.pi)) % SIZE


_TEMPLATES = {s: shape_mask(s) for s in SHAPES}
MIN_SHAPE_IOU = 0.5  # a drawn shape overlaps its template by at least this much (IoU), else no shape is read
MIN_MOTION_AGREEMENT = 0.6  # share of frame steps that must move along the read direction


def read_frame(frame: NDArray[np.uint8], *, threshold: float = 70.0) -> FrameReading:
    """Read background, sprite colour, shape and centre from one frame (any multiple of SIZE).

    Strict on purpose: a frame whose median colour is far from every background reads as no background, and
    "sprite" pixels covering more than twice the largest sprite's area read as no sprite (a frame washed in
    the prompt's colour does not count as drawing the shape).
    """
    small = to_native(frame).astype(np.float32)
    pixels = small.reshape(-1, 3)
    median = np.median(pixels, axis=0)
    bg_name = _nearest(median, BACKGROUNDS)
    bg = np.asarray(BACKGROUNDS[bg_name], np.float32)
    background = bg_name if float(np.sqrt(((median - bg) ** 2).sum())) < threshold else None
    mask = np.sqrt(((small - bg) ** 2).sum(axis=2)) > threshold
    area = int(mask.sum())
    if area < 12 or area > 2 * (2 * RADIUS + 1) ** 2 or background is None:  # nothing there, or no figure/ground
        return FrameReading(background=background, colour=None, shape=None, x=None, y=None)
    colour = _nearest(small[mask].mean(axis=0), COLOURS)
    ys, xs = np.nonzero(mask)
    cx, cy = _circular_mean(xs), _circular_mean(ys)
    centred = np.roll(mask, (SIZE // 2 - round(cy), SIZE // 2 - round(cx)), axis=(0, 1))
    c = SIZE // 2
    crop = centred[c - RADIUS - 1 : c + RADIUS + 2, c - RADIUS - 1 : c + RADIUS + 2]
    best: str | None = None
    best_iou = MIN_SHAPE_IOU  # scattered patches of the right colour match no template: no shape
    for name, template in _TEMPLATES.items():
        padded = np.pad(template, 1)
        for sy in (-1, 0, 1):  # the centroid of a triangle is not its bounding-box centre
            shifted = np.roll(padded, sy, axis=0)
            iou = float((crop & shifted).sum()) / max(float((crop | shifted).sum()), 1.0)
            if iou > best_iou:
                best, best_iou = name, iou
    return FrameReading(background=background, colour=colour, shape=best, x=cx, y=cy)


def _wrap(d: float) -> float:
    return (d + SIZE / 2) % SIZE - SIZE / 2


def read_shot(frames: Frames) -> ShotReading:
    """The oracle's verdict on frames meant to show one prompt: majority votes and the net motion."""
    readings = [read_frame(f) for f in frames]
    bg = Counter(r.background for r in readings).most_common(1)[0][0]  # may be None: no plain background
    colours = Counter(r.colour for r in readings if r.colour is not None)
    shapes = Counter(r.shape for r in readings if r.shape is not None)
    steps: list[tuple[float, float]] = []
    for a, b in itertools.pairwise(readings):
        if a.x is not None and b.x is not None and a.y is not None and b.y is not None:
            steps.append((_wrap(b.x - a.x), _wrap(b.y - a.y)))
    sx, sy = sum(s[0] for s in steps), sum(s[1] for s in steps)
    moves = max(len(readings) - 1, 1)
    direction: str | None = None
    if max(abs(sx), abs(sy)) / moves >= 0.5 * SPEED:  # at least half the world's speed, on average
        direction = ("right" if sx > 0 else "left") if abs(sx) >= abs(sy) else ("down" if sy > 0 else "up")
        dx, dy = DIRECTIONS[direction]
        agree = sum(1 for s in steps if s[0] * dx + s[1] * dy >= 0.5 * SPEED)
        if agree < MIN_MOTION_AGREEMENT * moves:  # a jittering blob whose drift adds up by chance
            direction = None
    return ShotReading(
        colour=colours.most_common(1)[0][0] if colours else None,
        shape=shapes.most_common(1)[0][0] if shapes else None,
        direction=direction,
        background=bg,
    )
