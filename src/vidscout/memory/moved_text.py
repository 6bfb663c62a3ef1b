"""Keep the text of lines that only moved since the last keyframe read, instead of recognising them again.

Rolling credits move every line up by the same distance between two keyframes. Recognising every line of
every keyframe was most of the OCR time of an hour of film (Big Buck Bunny's credits: up to 226 lines a
frame). Here the detector still runs on every keyframe; a line is carried over only when (1) a translation
explains how the text moved (phase correlation of the whole picture, or the offset most same-sized boxes
agree on), (2) the line's box, moved back by it, matches one box of the last frame read edge for edge, and
(3) the pixels of the two boxes match (normalised cross-correlation, tolerant of a text layer that fades as
it rolls). Everything else is recognised as before: a line that changed, appeared, touches the frame's edge, or
was dropped or read with less than `MIN_CARRY_SCORE` confidence last time is read fresh.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from vidscout.models.base import Image, LineReader, Quad, TextBox

MIN_MATCH = 0.9
"""Least normalised cross-correlation between a line and its moved-back box in the last frame read.

On Big Buck Bunny's rolling credits, the same line 2 s later scored a median 0.99 (10th percentile 0.87),
while a neighbouring line one or two line-heights away never scored above 0.86 (99th percentile 0.75).
"""

MIN_RESPONSE = 0.05
"""Least phase-correlation peak for a translation to be trusted (rolling credits: 0.06-0.73; cuts: < 0.04)."""

MIN_CARRY_SCORE = 0.8
"""A line read with less confidence than this is recognised again rather than carried (0-1)."""

MIN_VOTES = 3
"""Least pairs of same-sized boxes (last frame, this one) agreeing on an offset for it to be tried."""

EDGE_SLACK = 0.5
"""How far (in line heights, at least 2 px) each edge of a moved-back box may lie from the last frame's box.

Boxes that merely overlap are not enough: the detector may have split or joined a line differently
(credits in columns), and then the last frame's text would not be this box's text.
"""

RECIPE = {"min_match": MIN_MATCH, "min_response": MIN_RESPONSE, "edge_slack": EDGE_SLACK, "min_votes": MIN_VOTES,
          "min_carry_score": MIN_CARRY_SCORE}  # fmt: skip
"""Every threshold above, for the OCR layer's fingerprint: changing one re-reads stored text."""

PxBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class _Seen:
    box: PxBox
    line: TextBox | None  # None: the OCR dropped it (low score, no text); it is recognised again next time


class MovedLines:
    """Reads keyframes one after another, carrying over the text of lines that only moved.

    Not thread-safe; one per OCR pass. ``carried`` and ``recognised`` count lines since construction.
    """

    def __init__(self, reader: LineReader, *, min_match: float = MIN_MATCH) -> None:
        self._reader = reader
        self._min_match = min_match
        self._last: tuple[NDArray[np.float32], list[_Seen]] | None = None
        self.carried = 0
        self.recognised = 0

    def read(self, image: Image) -> list[TextBox]:
        """The lines of ``image`` in reading order, as the OCR's ``read`` would return them."""
        quads = self._reader.find_lines(image)  # first: it checks the image
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        height, width = grey.shape
        if self._last is not None and self._last[0].shape != grey.shape:
            self._last = None  # another video, or another size: nothing to carry
        boxes = [_px_box(q, width, height) for q in quads]
        found: list[TextBox | None] = [None] * len(quads)
        if self._last is not None and quads:
            last_grey, last_seen = self._last
            shifts = _translations(last_grey, grey, [seen.box for seen in last_seen], boxes)
            for i, box in enumerate(boxes):
                for shift in shifts:
                    found[i] = self._carry(last_grey, last_seen, grey, box, shift)
                    if found[i] is not None:
                        break
        todo = [i for i, line in enumerate(found) if line is None]
        fresh = self._reader.read_lines(image, [quads[i] for i in todo]) if todo else []
        lines: list[TextBox | None] = [
            None if line is None else line.model_copy(update={"box": _norm_box(boxes[i], width, height)})
            for i, line in enumerate(found)
        ]
        for i, line in zip(todo, fresh, strict=True):
            lines[i] = line
        self.carried += len(quads) - len(todo)
        self.recognised += len(todo)
        self._last = (grey, [_Seen(box, line) for box, line in zip(boxes, lines, strict=True)])
        return [line for line in lines if line is not None]

    def _carry(
        self, last_grey: NDArray[np.float32], last_seen: list[_Seen], grey: NDArray[np.float32], box: PxBox,
        shift: tuple[int, int],
    ) -> TextBox | None:  # fmt: skip
        """The last frame's line this box holds, moved by ``shift``; None when it must be recognised."""
        x0, y0, x1, y1 = box
        height, width = grey.shape
        if x1 - x0 < 8 or y1 - y0 < 4:
            return None
        if x0 <= 0 or y0 <= 0 or x1 >= width or y1 >= height:
            return None  # cut by the frame's edge now: the last frame's whole line is not what is seen
        back = (x0 - shift[0], y0 - shift[1], x1 - shift[0], y1 - shift[1])
        slack = max(2.0, EDGE_SLACK * (y1 - y0))
        same = [seen for seen in last_seen if max(abs(a - b) for a, b in zip(back, seen.box, strict=True)) <= slack]
        if len(same) != 1:
            return None
        line = same[0].line
        if line is None or line.score < MIN_CARRY_SCORE:
            return None  # dropped or doubtful last time (fading in, blurred): give it another reading
        # The last frame's pixels around the moved-back box, one pixel of slack each way for sub-pixel motion.
        bx0, by0, bx1, by1 = back[0] - 1, back[1] - 1, back[2] + 1, back[3] + 1
        if bx0 < 0 or by0 < 0 or bx1 > width or by1 > height:
            return None  # partly outside the last frame: it was not read whole there
        patch = grey[y0:y1, x0:x1]
        if float(patch.std()) < 1.0:
            return None  # flat: correlation says nothing
        score = cv2.matchTemplate(last_grey[by0:by1, bx0:bx1], patch, cv2.TM_CCOEFF_NORMED)
        return line if float(score.max()) >= self._min_match else None


def _translations(
    last: NDArray[np.float32], grey: NDArray[np.float32], last_boxes: list[PxBox], boxes: list[PxBox]
) -> list[tuple[int, int]]:
    """How far text may have moved from ``last`` to ``grey`` in whole pixels: at most two candidates.

    The whole picture's translation (phase correlation), when one clearly explains it: credits over a still
    background. And the offset most pairs of same-sized boxes agree on, when at least three do: credits over
    moving footage, where the picture as a whole has no single translation. No motion is never a candidate:
    text that stayed put while the picture changed may have changed in place (a clock, a score).
    """
    found: list[tuple[int, int]] = []
    window = cv2.createHanningWindow((grey.shape[1], grey.shape[0]), cv2.CV_32F)
    (dx, dy), response = cv2.phaseCorrelate(last, grey, window)
    if response >= MIN_RESPONSE and max(abs(dx), abs(dy)) >= 2.0:
        found.append((round(dx), round(dy)))
    votes: Counter[tuple[int, int]] = Counter()
    for b in boxes:
        for a in last_boxes:
            if abs((b[2] - b[0]) - (a[2] - a[0])) <= 2 and abs((b[3] - b[1]) - (a[3] - a[1])) <= 2:
                votes[(b[0] - a[0], b[1] - a[1])] += 1
    # Neighbouring offsets are one offset measured with a pixel of jitter: pool them.
    pooled = Counter({v: sum(votes[(v[0] + i, v[1] + j)] for i in (-1, 0, 1) for j in (-1, 0, 1)) for v in votes})
    if pooled:
        best, n = pooled.most_common(1)[0]
        if n >= MIN_VOTES and max(abs(best[0]), abs(best[1])) >= 2 and best not in found:
            found.append(best)
    return found


def _px_box(quad: Quad, width: int, height: int) -> PxBox:
    x0, y0 = np.floor(quad.min(axis=0))
    x1, y1 = np.ceil(quad.max(axis=0))
    return (
        int(np.clip(x0, 0, width)),
        int(np.clip(y0, 0, height)),
        int(np.clip(x1, 0, width)),
        int(np.clip(y1, 0, height)),
    )


def _norm_box(box: PxBox, width: int, height: int) -> tuple[float, float, float, float]:
    return (box[0] / width, box[1] / height, box[2] / width, box[3] / height)
