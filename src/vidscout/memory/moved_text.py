"""Keep the text of lines that only moved since the last keyframe read, instead of recognising them again.

Rolling credits move every line up by the same distance between two keyframes. Recognising every line of
every keyframe was most of the OCR time of an hour of film (Big Buck Bunny's credits: up to 226 lines a
frame). Here the detector still runs on every keyframe; a line is carried over only when (1) a translation
explains how the text moved (phase correlation of the whole picture, or the offset most same-sized boxes
agree on), (2) the line's box, moved back by it, matches one box of the last frame read edge for edge, and
(3) the pixels of the two boxes match (normalised cross-correlation, tolerant of a text layer that fades as
it rolls). A row of names the detector split at other gaps than last time (one box there, several here, or the
reverse) keeps the last frame's lines when both sides span the same stretch of the row and its pixels match.
Everything else is recognised as before: a line that changed, appeared, touches the frame's edge, or
was dropped or read with less than `MIN_CARRY_SCORE` confidence last time is read fresh.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

import cv2
import numpy as np
from numpy.typing import NDArray

from vidscout.models.base import Image, LineReader, Quad, TextBox
from vidscout.models.ocr import keep_text_rows

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

MAX_GAP = 1.0
"""Widest gap (in line heights) between two of the last frame's lines that one box here may join.

Big Buck Bunny's credits separate names by 0.5-0.7 line heights; a name missing from the last frame's lines leaves
a gap as wide as the name and two separators, and its words would be lost if the box took the lines around it.
"""

RECIPE = {"min_match": MIN_MATCH, "min_response": MIN_RESPONSE, "edge_slack": EDGE_SLACK, "min_votes": MIN_VOTES,
          "min_carry_score": MIN_CARRY_SCORE, "max_gap": MAX_GAP}  # fmt: skip
"""Every threshold above, for the OCR layer's fingerprint: changing one re-reads stored text."""

PxBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class _Seen:
    box: PxBox
    line: TextBox | None  # None: the OCR dropped it (low score, no text); it is recognised again next time


class MovedLines:
    """Reads keyframes one after another, carrying over the text of lines that only moved.

    Not thread-safe; one per OCR pass. ``carried`` and ``recognised`` count the detector's boxes since construction;
    ``regrouped`` counts the carried boxes that kept a row's text as the last frame grouped it.
    """

    def __init__(self, reader: LineReader, *, min_match: float = MIN_MATCH) -> None:
        self._reader = reader
        self._min_match = min_match
        self._last: tuple[NDArray[np.float32], list[_Seen]] | None = None
        self.carried = 0
        self.recognised = 0
        self.regrouped = 0

    def read(self, image: Image) -> list[TextBox]:
        """The lines of ``image`` in reading order, as the OCR's ``read`` would return them."""
        quads = self._reader.find_lines(image)  # first: it checks the image
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        height, width = grey.shape
        if self._last is not None and self._last[0].shape != grey.shape:
            self._last = None  # another video, or another size: nothing to carry
        boxes = [_px_box(q, width, height) for q in quads]
        found: list[TextBox | None] = [None] * len(quads)
        # Lines split or joined differently from the last frame: box index -> the last frame's lines (moved) it
        # takes; the other boxes of a split line take nothing (their text is in the first one's).
        regrouped: dict[int, list[tuple[PxBox, TextBox]]] = {}
        if self._last is not None and quads:
            last_grey, last_seen = self._last
            shifts = _translations(last_grey, grey, [seen.box for seen in last_seen], boxes)
            for i, box in enumerate(boxes):
                for shift in shifts:
                    found[i] = self._carry(last_grey, last_seen, grey, box, shift)
                    if found[i] is not None:
                        break
            for shift in shifts:
                left = [i for i, line in enumerate(found) if line is None and i not in regrouped]
                regrouped |= self._regroup(last_grey, last_seen, grey, boxes, left, shift)
        todo = [i for i, line in enumerate(found) if line is None and i not in regrouped]
        fresh = self._reader.read_lines(image, [quads[i] for i in todo]) if todo else []
        read = dict(zip(todo, fresh, strict=True))
        seen: list[_Seen] = []  # in the detector's reading order, a regrouped row where its first box was
        for i, line in enumerate(found):
            if i in regrouped:
                seen += [_Seen(box, moved) for box, moved in regrouped[i]]
            else:
                seen.append(_Seen(boxes[i], line if line is not None else read[i]))
        self.carried += len(quads) - len(todo)
        self.recognised += len(todo)
        self.regrouped += len(regrouped)
        self._last = (grey, seen)
        lines = [s.line.model_copy(update={"box": _norm_box(s.box, width, height)}) for s in seen if s.line is not None]
        return keep_text_rows(lines, width=width, height=height)

    def _carry(
        self, last_grey: NDArray[np.float32], last_seen: list[_Seen], grey: NDArray[np.float32], box: PxBox,
        shift: tuple[int, int],
    ) -> TextBox | None:  # fmt: skip
        """The last frame's line this box holds, moved by ``shift``; None when it must be recognised."""
        x0, y0, x1, y1 = box
        if x1 - x0 < 8 or y1 - y0 < 4:
            return None
        back = _shifted(box, (-shift[0], -shift[1]))
        slack = _slack(box)
        same = [seen for seen in last_seen if max(abs(a - b) for a, b in zip(back, seen.box, strict=True)) <= slack]
        if len(same) != 1:
            return None
        line = same[0].line
        if line is None or line.score < MIN_CARRY_SCORE:
            return None  # dropped or doubtful last time (fading in, blurred): give it another reading
        return line if self._only_moved(last_grey, grey, box, shift) else None

    def _only_moved(
        self, last_grey: NDArray[np.float32], grey: NDArray[np.float32], box: PxBox, shift: tuple[int, int]
    ) -> bool:
        """The pixels of ``box`` here are the last frame's at ``box`` moved back by ``shift`` (inside the frame)."""
        x0, y0, x1, y1 = box
        height, width = grey.shape
        if x0 <= 0 or y0 <= 0 or x1 >= width or y1 >= height:
            return False  # cut by the frame's edge now: the last frame's whole line is not what is seen
        # The last frame's pixels around the moved-back box, one pixel of slack each way for sub-pixel motion.
        bx0, by0, bx1, by1 = x0 - shift[0] - 1, y0 - shift[1] - 1, x1 - shift[0] + 1, y1 - shift[1] + 1
        if bx0 < 0 or by0 < 0 or bx1 > width or by1 > height:
            return False  # partly outside the last frame: it was not read whole there
        patch = grey[y0:y1, x0:x1]
        if float(patch.std()) < 1.0:
            return False  # flat: correlation says nothing
        score = cv2.matchTemplate(last_grey[by0:by1, bx0:bx1], patch, cv2.TM_CCOEFF_NORMED)
        return float(score.max()) >= self._min_match

    def _regroup(
        self, last_grey: NDArray[np.float32], last_seen: list[_Seen], grey: NDArray[np.float32], boxes: list[PxBox],
        left: list[int], shift: tuple[int, int],
    ) -> dict[int, list[tuple[PxBox, TextBox]]]:  # fmt: skip
        """Boxes among ``left`` that hold, moved by ``shift``, exactly what some of the last frame's lines held.

        The detector splits a row of names at different gaps from one frame to the next (Big Buck Bunny's
        credits: about two in five of the lines that moved). A row found as one box here and as several there
        (joined), or as several here and one there (split), keeps the last frame's lines when the boxes on both
        sides span the same stretch of the same row and the pixels of that stretch match. Returns box index -> the
        lines it takes (box, line in pixels, here); every other box of a split line takes an empty list.
        """
        out: dict[int, list[tuple[PxBox, TextBox]]] = {}
        taken: set[int] = set()
        moved = [_shifted(seen.box, shift) for seen in last_seen]
        for i in left:  # joined here: this box spans several of the last frame's lines, with no word between them
            parts = [k for k, box in enumerate(moved) if _within(box, boxes[i])]
            spans = sorted((moved[k][0], moved[k][2]) for k in parts)
            gaps = [b[0] - a[1] for a, b in pairwise(spans)]
            if len(parts) < 2 or max(gaps) > MAX_GAP * (boxes[i][3] - boxes[i][1]):
                continue  # a word the last frame did not find as a line of its own may lie in a gap
            if self._same_stretch(last_grey, grey, boxes[i], [moved[k] for k in parts], shift):
                lines = [last_seen[k].line for k in parts]
                if all(line is not None and line.score >= MIN_CARRY_SCORE for line in lines):
                    out[i] = [(moved[k], line) for k, line in zip(parts, lines, strict=True) if line is not None]
                    taken.add(i)
        for k, seen in enumerate(last_seen):  # split here: several boxes span one of the last frame's lines
            parts = [i for i in left if i not in taken and _within(boxes[i], moved[k])]
            if len(parts) < 2 or seen.line is None or seen.line.score < MIN_CARRY_SCORE:
                continue
            if self._same_stretch(last_grey, grey, moved[k], [boxes[i] for i in parts], shift):
                out[parts[0]] = [(moved[k], seen.line)]
                out |= {i: [] for i in parts[1:]}
                taken.update(parts)
        return out

    def _same_stretch(
        self, last_grey: NDArray[np.float32], grey: NDArray[np.float32], whole: PxBox, parts: list[PxBox],
        shift: tuple[int, int],
    ) -> bool:  # fmt: skip
        """``parts`` cover ``whole`` end to end, and ``whole``'s pixels only moved (`_only_moved`)."""
        slack = _slack(whole)
        if abs(min(p[0] for p in parts) - whole[0]) > slack or abs(max(p[2] for p in parts) - whole[2]) > slack:
            return False
        return self._only_moved(last_grey, grey, whole, shift)


def _shifted(box: PxBox, shift: tuple[int, int]) -> PxBox:
    return (box[0] + shift[0], box[1] + shift[1], box[2] + shift[0], box[3] + shift[1])


def _slack(box: PxBox) -> float:
    """How far an edge may lie from where ``box``'s edge is and still be the same edge: `EDGE_SLACK` of its height."""
    return max(2.0, EDGE_SLACK * (box[3] - box[1]))


def _within(inner: PxBox, outer: PxBox) -> bool:
    """``inner`` lies on ``outer``'s row (top and bottom within `_slack`) and between its ends."""
    slack = _slack(outer)
    return (
        abs(inner[1] - outer[1]) <= slack
        and abs(inner[3] - outer[3]) <= slack
        and inner[0] >= outer[0] - slack
        and inner[2] <= outer[2] + slack
    )


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
