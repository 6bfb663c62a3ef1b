"""Visual facts no label model gives: people (HOG), faces (Haar), colour names, light and camera motion.

OpenCV's own detectors (weights in ``cv2.data`` and in OpenCV itself) and pixel statistics, about 0.1 s per
frame with the detectors and 10 ms without. `OpenCVFactExtractor` measures one frame (or a pair, for motion);
`summarise_facts` merges keyframes into the facts of a shot or clip, and `fact_phrases` says them in the words
people search with ("at least 3 people", "a face", "mostly green", "dark", "camera pans left"). A fact is
said only when its confidence clears a bar; nothing is said about what the detectors cannot see.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from vidscout.models.base import Box, Detection, FrameFacts, Image, Motion

BLIND_SPOTS = (
    "no detector for animals or objects beyond ImageNet labels; cannot read actions, emotions or who a person is; "
    "people are found only standing upright and at least ~90 px tall, faces only facing the camera"
)
"""What the embedded stack cannot see, said wherever it reports what it saw."""

# OpenCV hue runs 0-179; the upper bound of each named band (red wraps around at both ends).
_HUES = ((8, "red"), (20, "orange"), (33, "yellow"), (78, "green"), (95, "cyan"), (130, "blue"),
         (148, "purple"), (170, "pink"), (180, "red"))  # fmt: skip


class FactOptions(BaseModel, frozen=True):
    """Knobs of `OpenCVFactExtractor` and of how facts are said."""

    people_upscale: float = Field(
        default=1.5, description="Frames are enlarged this much for the HOG detector, whose window needs people "
        "~100 px tall: at 1.5 it finds the ~60-90 px walkers of a 640 px street scene (bench/visual_eval.py).",
    )  # fmt: skip
    people_step: float = Field(default=1.1, gt=1.0, description="HOG pyramid scale step (smaller: slower, more found).")
    people_min_margin: float = Field(
        default=1.0, description="HOG SVM margin a detection needs to be counted (the count is a lower bound).",
    )  # fmt: skip
    face_width: int = Field(default=320, ge=64, description="Frames are shrunk to this width for faces (px).")
    face_min_px: int = Field(default=20, ge=8, description="Smallest face at that width (px).")
    face_step: float = Field(default=1.15, gt=1.0, description="Face cascade scale step.")
    face_neighbours: int = Field(default=4, ge=1, description="Overlapping cascade hits a face needs.")
    colour_width: int = Field(default=160, ge=16, description="Frames are shrunk to this width to count colours (px).")
    motion_width: int = Field(
        default=320, ge=64, description="Frames are shrunk to this width to estimate motion (px)."
    )
    pan_min: float = Field(default=0.03, description="A centre shift of this share of the width is a pan.")
    zoom_min: float = Field(default=0.05, description="A scale change of this much is a zoom.")
    moving_min: float = Field(
        default=0.01, description="Share of the picture that must change (camera motion undone) to call it moving."
    )


class OpenCVFactExtractor:
    """The `FactExtractor` protocol on OpenCV: HOG people detector, Haar face cascade, ORB motion, colour bands."""

    def __init__(self, options: FactOptions | None = None, *, name: str = "opencv") -> None:
        """Load the detectors (a few ms; their weights ship with OpenCV).

        Args:
            options: Detector and threshold knobs.
            name: The spec this backend was built from.
        """
        self.name = name
        self.options = options or FactOptions()
        self._hog = cv2.HOGDescriptor()
        detector: Any = cv2.HOGDescriptor.getDefaultPeopleDetector()
        self._hog.setSVMDetector(detector)
        cascades: Any = cv2.data  # pyright: ignore[reportAttributeAccessIssue]
        self._faces = cv2.CascadeClassifier(str(cascades.haarcascades) + "haarcascade_frontalface_alt2.xml")
        self._orb = cv2.ORB.create(nfeatures=600, fastThreshold=10)
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)

    def frame_facts(self, image: Image, *, detect: bool = True) -> FrameFacts:
        """People, faces (when ``detect``), colour shares and brightness of one RGB frame."""
        grey = np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), np.uint8)
        return FrameFacts(
            people=self.people(image) if detect else None,
            faces=self.faces(grey) if detect else None,
            colours=colour_shares(image, width=self.options.colour_width),
            brightness=round(float(grey.mean()), 1),
        )

    def people(self, image: Image) -> Detection:
        """Upright people found by the HOG detector; ``score`` grows with the best SVM margin."""
        o = self.options
        h, w = image.shape[:2]
        big = cv2.resize(image, (round(w * o.people_upscale), round(h * o.people_upscale)))
        rects, margins = self._hog.detectMultiScale(big, winStride=(8, 8), padding=(8, 8), scale=o.people_step)
        found = [
            (r, float(m)) for r, m in zip(rects, np.ravel(margins), strict=True) if float(m) >= o.people_min_margin
        ]
        if not found:
            return Detection(count=0, score=0.0)
        boxes = _nms([_box(r, big.shape[1], big.shape[0]) for r, _ in found], [m for _, m in found])
        best = max(m for _, m in found)
        return Detection(count=len(boxes), score=round(1.0 - math.exp(-best), 3), boxes=boxes)

    def faces(self, grey: NDArray[np.uint8]) -> Detection:
        """Frontal faces found by the Haar cascade on a grey frame; ``score`` grows with overlapping hits."""
        o = self.options
        h, w = grey.shape[:2]
        small = cv2.resize(grey, (o.face_width, max(1, round(h * o.face_width / w))), interpolation=cv2.INTER_AREA)
        small = cv2.equalizeHist(small)
        rects, hits = self._faces.detectMultiScale2(
            small, scaleFactor=o.face_step, minNeighbors=o.face_neighbours, minSize=(o.face_min_px, o.face_min_px)
        )
        if len(rects) == 0:
            return Detection(count=0, score=0.0)
        counts = [int(n) for n in np.ravel(hits)]
        found = [_box(r, small.shape[1], small.shape[0]) for r in rects]
        # The cascade's order follows its worker threads; the most confirmed first, then by place, is the same each run.
        boxes = tuple(found[i] for i in _ranked(found, counts))
        return Detection(count=len(boxes), score=round(1.0 - math.exp(-max(counts) / 4.0), 3), boxes=boxes)

    def motion(self, before: Image, after: Image) -> Motion:
        """Camera and subject motion between two frames: a similarity transform fitted to ORB matches (RANSAC).

        When the transform explains most matches, its shift and scale tell pans and zooms; the pixels that
        still differ once it is undone are things moving in the picture. With too few consistent matches
        a pan is looked for by phase correlation (smooth surfaces have few corners); failing that (fast
        action, a flash, a dissolve, a missed cut) it is "fast".
        """
        o = self.options
        a, b = (_grey_at(x, o.motion_width) for x in (before, after))
        if a.shape != b.shape:
            b = np.asarray(cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA), np.uint8)
        raw = _changed(a, b, np.ones(a.shape, bool))
        if raw < 0.002:
            return Motion(kind="static", score=0.95)
        fit = self._similarity(a, b)
        if fit is None:
            return self._shifted(a, b, raw)
        m, inlier_share = fit
        h, w = a.shape
        centre = np.array([w / 2, h / 2])
        moved = m[:, :2] @ centre + m[:, 2] - centre
        shift = (round(float(moved[0]) / w, 4), round(float(moved[1]) / w, 4))
        scale = float(math.hypot(m[0, 0], m[1, 0]))
        warped = np.asarray(cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR), np.uint8)
        valid = cv2.warpAffine(np.full(a.shape, 255, np.uint8), m, (w, h)) == 255
        valid = cv2.erode(valid.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        changed = _changed(warped, b, valid) if valid.any() else raw
        kind: Literal["static", "moving", "pan", "zoom"] = "static"
        if abs(scale - 1.0) >= o.zoom_min:
            kind = "zoom"
        elif math.hypot(*shift) >= o.pan_min:
            kind = "pan"
        elif changed >= o.moving_min:
            kind = "moving"
        return Motion(kind=kind, score=round(min(0.95, 0.4 + inlier_share), 3), shift=shift, scale=round(scale, 4),
                      changed=round(changed, 4))  # fmt: skip

    def _shifted(self, a: NDArray[np.uint8], b: NDArray[np.uint8], raw: float) -> Motion:
        """Too few matching corners (smooth surfaces, blur): a pan by phase correlation, else "fast"."""
        o = self.options
        h, w = a.shape
        window = cv2.createHanningWindow((w, h), cv2.CV_32F)
        (dx, dy), response = cv2.phaseCorrelate(a.astype(np.float32), b.astype(np.float32), window)
        shift = (round(float(dx) / w, 4), round(float(dy) / w, 4))
        if response >= 0.3 and math.hypot(*shift) >= o.pan_min:
            m = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
            warped = np.asarray(cv2.warpAffine(a, m, (w, h)), np.uint8)
            valid = cv2.warpAffine(np.full(a.shape, 255, np.uint8), m, (w, h)) == 255
            changed = _changed(warped, b, valid) if valid.any() else raw
            if changed < 0.2:
                return Motion(kind="pan", score=round(min(0.9, float(response)), 3), shift=shift,
                              changed=round(changed, 4))  # fmt: skip
        return Motion(kind="fast", score=round(min(0.9, 0.5 + raw), 3), changed=round(raw, 4))

    def _similarity(self, a: NDArray[np.uint8], b: NDArray[np.uint8]) -> tuple[NDArray[np.float64], float] | None:
        """The similarity transform taking ``a`` to ``b`` and the share of matches it explains; None if unsure."""
        ka, da_ = self._orb.detectAndCompute(a, None)
        kb, db_ = self._orb.detectAndCompute(b, None)
        da: Any = da_  # None when no keypoint was found, whatever the stubs say
        db: Any = db_
        if da is None or db is None or len(ka) < 12 or len(kb) < 12:
            return None
        matches = self._matcher.match(da, db)
        if len(matches) < 12:
            return None
        pa = np.array([ka[x.queryIdx].pt for x in matches], np.float32)
        pb = np.array([kb[x.trainIdx].pt for x in matches], np.float32)
        fit: Any = cv2.estimateAffinePartial2D(pa, pb, method=cv2.RANSAC, ransacReprojThreshold=2.0)
        m, inliers = fit
        if m is None or inliers is None:
            return None
        n = int(inliers.sum())
        scale = math.hypot(float(m[0, 0]), float(m[1, 0]))
        if n < 15 or n / len(matches) < 0.25 or not 0.7 < scale < 1.45:
            return None
        return np.asarray(m, np.float64), n / len(matches)


def _grey_at(image: Image, width: int) -> NDArray[np.uint8]:
    h, w = image.shape[:2]
    small = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0), np.uint8)


def _changed(a: NDArray[np.uint8], b: NDArray[np.uint8], valid: NDArray[np.bool_]) -> float:
    """Share of valid pixels whose grey level moved by more than 25 (compression noise stays well under)."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return float((diff[valid] > 25).mean())


def _box(rect: Any, width: int, height: int) -> Box:
    x, y, w, h = (float(v) for v in rect)
    return (round(x / width, 4), round(y / height, 4), round((x + w) / width, 4), round((y + h) / height, 4))


def _nms(boxes: Sequence[Box], scores: Sequence[float], *, overlap: float = 0.4) -> tuple[Box, ...]:
    """Boxes left after greedy non-maximum suppression (HOG reports one person at several scales).

    The result does not depend on the order of the input, which follows the detector's worker threads.
    """
    kept: list[Box] = []
    for i in _ranked(boxes, scores):
        if all(_iou(boxes[i], k) < overlap for k in kept):
            kept.append(boxes[i])
    return tuple(kept)


def _ranked(boxes: Sequence[Box], scores: Sequence[float]) -> list[int]:
    """Indices of ``boxes``, highest score first; equal scores top to bottom, then left to right."""
    return sorted(range(len(boxes)), key=lambda i: (-scores[i], boxes[i][1], boxes[i][0], boxes[i][3], boxes[i][2]))


def _iou(a: Box, b: Box) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def colour_shares(image: Image, *, width: int = 160, top: int = 4) -> tuple[tuple[str, float], ...]:
    """The ``top`` colour names covering most of an RGB frame, with their shares, largest first.

    Names: black, white, grey (low saturation, by brightness), brown (dark orange), and the hue bands red,
    orange, yellow, green, cyan, blue, purple, pink.
    """
    h, w = image.shape[:2]
    small = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.int32)
    hue, sat, val = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    names = np.full(len(hue), "", dtype=object)
    low = 0
    for high, name in _HUES:
        names[(hue >= low) & (hue < high)] = name
        low = high
    names[(names == "orange") & (val < 120)] = "brown"
    names[(names == "red") & (sat < 110) & (val > 170)] = "pink"
    names[sat < 45] = "grey"
    names[(sat < 45) & (val >= 190)] = "white"
    names[val < 45] = "black"
    labels, counts = np.unique(names.astype(str), return_counts=True)
    order = np.argsort(-counts, kind="stable")[:top]
    return tuple((str(labels[i]), round(float(counts[i]) / len(names), 3)) for i in order)


# --- facts of several keyframes, and how they are said ---------------------------------------------------


class SpanFacts(BaseModel, frozen=True):
    """Facts merged over the keyframes of a span (a shot, a clip, a chapter)."""

    frames: int = 0  # keyframes merged
    people: int = 0  # most people found in one examined keyframe: a lower bound (the detector misses some)
    people_score: float = 0.0  # confidence of the best people detection (0-1)
    faces: int = 0  # most faces found in one examined keyframe
    face_score: float = 0.0
    close_up: bool = False  # a face covers a third of the frame's height or more
    colours: tuple[tuple[str, float], ...] = ()  # mean share per colour over the keyframes, largest first
    brightness: float = 0.0  # mean grey level (0-255)
    motion: tuple[tuple[str, float], ...] = ()  # share of keyframe-to-keyframe changes per motion kind
    direction: str = ""  # for pans: left, right, up or down; for zooms: in or out
    text: bool = False  # on-screen text was read in the span (from the OCR layer)


PEOPLE_SURE = 0.86
"""People are said to be there when the best HOG margin in a frame is 2.0 or more (confidence 1 - e^-2): on 22
photos, 55 Big Buck Bunny, 10 tree.avi and 10 Megamind frames one humanoid Megamind character reaches it (a
cartoon fish reaches 1.83), while all 20 sampled vtest street frames do."""


def summarise_facts(frames: Sequence[FrameFacts], *, min_score: float = 0.5) -> SpanFacts:
    """Merge per-keyframe facts: most people / faces in one frame, mean colour shares, motion kinds.

    Faces and motion below ``min_score``, and people below `PEOPLE_SURE`, are left out.
    """
    if not frames:
        return SpanFacts()
    people = [f.people for f in frames if f.people is not None and f.people.score >= PEOPLE_SURE]
    faces = [f.faces for f in frames if f.faces is not None and f.faces.score >= min_score]
    shares: dict[str, float] = {}
    for f in frames:
        for name, share in f.colours:
            shares[name] = shares.get(name, 0.0) + share / len(frames)
    moves = [f.motion for f in frames if f.motion is not None and f.motion.score >= min_score]
    kinds: dict[str, float] = {}
    for m in moves:
        kinds[m.kind] = kinds.get(m.kind, 0.0) + 1.0 / len(moves)
    return SpanFacts(
        frames=len(frames),
        people=max((d.count for d in people), default=0),
        people_score=max((d.score for d in people), default=0.0),
        faces=max((d.count for d in faces), default=0),
        face_score=max((d.score for d in faces), default=0.0),
        close_up=any(b[3] - b[1] >= 1 / 3 for d in faces for b in d.boxes),
        colours=tuple((k, round(v, 3)) for k, v in sorted(shares.items(), key=lambda kv: -kv[1])),
        brightness=round(float(np.mean([f.brightness for f in frames])), 1),
        motion=tuple((k, round(v, 3)) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])),
        direction=_direction([m for m in moves if m.kind in ("pan", "zoom")]),
    )


def _direction(moves: Sequence[Motion]) -> str:
    if not moves:
        return ""
    pans = [m for m in moves if m.kind == "pan"]
    if len(pans) * 2 >= len(moves):
        dx = float(np.mean([m.shift[0] for m in pans]))
        dy = float(np.mean([m.shift[1] for m in pans]))
        # The picture moving left means the camera turned right.
        if abs(dx) >= abs(dy):
            return "right" if dx < 0 else "left"
        return "down" if dy < 0 else "up"
    return "in" if float(np.mean([m.scale for m in moves])) >= 1.0 else "out"


Light = Literal["dark", "bright", ""]


def light_of(brightness: float) -> Light:
    """Dark below a mean grey level of 60, bright above 170, else "" (nothing worth saying)."""
    return "dark" if brightness < 60 else "bright" if brightness > 170 else ""


def people_phrase(count: int) -> str:
    """The words for a lower bound of people: "a person", "at least 3 people, a group", "... a crowd"."""
    if count <= 0:
        return ""
    if count == 1:
        return "a person"
    group = ", a crowd" if count >= 6 else ", a group of people" if count >= 3 else ""
    return f"at least {count} people{group}"


def colour_phrase(colours: Sequence[tuple[str, float]]) -> str:
    """Colours in words: "mostly green, some blue", or "mixed colours: ..." when none covers 35 %."""
    if not colours:
        return ""
    (top, share), rest = colours[0], colours[1:]
    if share >= 0.35:
        some = [name for name, s in rest[:2] if s >= 0.15]
        return f"mostly {top}" + "".join(f", some {name}" for name in some)
    return "mixed colours: " + ", ".join(name for name, s in colours[:3] if s >= 0.1)


_MOTION_WORDS = {"static": "still picture, nothing moves", "moving": "things move, still camera",
                 "fast": "fast motion"}  # fmt: skip


def fact_phrases(facts: SpanFacts, *, min_share: float = 0.5) -> list[str]:
    """The facts in the words people search with; facts below their confidence bar are left out.

    Args:
        facts: Merged facts of a span.
        min_share: A motion kind is said when at least this share of the span's keyframe pairs show it.
    """
    out: list[str] = []
    if facts.people:
        out.append(people_phrase(facts.people))
    if facts.faces:
        face = "a face" if facts.faces == 1 else f"{facts.faces} faces"
        out.append(f"close-up of {face}" if facts.close_up else face)
    if colours := colour_phrase(facts.colours):
        out.append(colours)
    light = light_of(facts.brightness) if facts.frames else ""
    if light == "dark":
        out.append("dark, night or low light")
    elif light == "bright":
        out.append("bright")
    if facts.motion and facts.motion[0][1] >= min_share:
        kind = facts.motion[0][0]
        if kind == "pan":
            out.append(f"camera pans {facts.direction}".rstrip())
        elif kind == "zoom":
            out.append(f"camera zooms {facts.direction}".rstrip())
        else:
            out.append(_MOTION_WORDS[kind])
    if facts.text:
        out.append("text on screen")
    return out


def frame_phrases(facts: FrameFacts) -> list[str]:
    """`fact_phrases` of a single frame (its motion is the change since the frame before)."""
    return fact_phrases(summarise_facts([facts]))
