"""Complete a crawl's line (text moving sideways across the picture) from frames between two keyframes.

A line that crosses a 640 px frame in 3 s is whole on screen for well under a second, and keyframes 2 s apart
catch a piece of it ("Chapter 1: The Vi", "let Velvet"). When a keyframe's line is cut by the picture's left
or right edge, the OCR layer reads frames decoded between keyframes on the side where the rest of the line
is: after the keyframe for a line cut on the right (still coming in), before it for one cut on the left
(going out), nearest first: crawls move right to left, as tickers in Latin script do. Where that side holds no
whole line, the other side is read too, for a crawl moving left to right. The first line read that lies in the
same band, is whole in view and holds the piece's letters replaces the piece. A line within 0.75 of its height
of a side edge counts as cut there (`CLEARANCE`). Where the band's line goes from cut on one side to cut on the
other between two frames read, it was whole in between, and the gap is halved (`BISECT_DEPTH`): a crawl crossing
the picture in under 3 s can be whole for less than the step. Where no frame read shows the line that clear of
both edges, its longest reading clear of the edges themselves (`EDGE`) replaces the piece. A line cut on both
sides is wider than the picture and never whole, so it is left as read, and a band whose piece could not be
completed at `GIVE_UP_AFTER` keyframes in a row is not followed again while it holds a cut line (`Crawls`: a
ticker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from difflib import SequenceMatcher
from typing import Literal

from vidscout.models.base import TextBox

EDGE = 0.01
"""A box this close to the picture's left or right edge (share of its width) is cut by that edge."""

CLEARANCE = 0.75
"""A box closer than this share of its own height to a side edge is cut by it too. A crawl's word that has just left
the picture leaves the next one up to a space in, and a word just coming in shows a sliver the detector does not
box: "Moreau - Denver" was read 7 px from the left edge of a 640 px frame, "Dr." gone (a 52 px box); "Copper
Quartz" ended 41 px from the right edge with "52" entering (a 66 px box, monospaced: a space is 0.6 em, about
0.45 of a box's height)."""

MIN_PIECE = 3
"""Letters and digits a piece needs to be followed: fewer ("Dr.") match too many lines to tell which is its own."""

BISECT_DEPTH = 2
"""Frames read between two frames a step apart, halving the gap each time, where a crawl went from cut on one side
to cut on the other: its whole view, under a second for a line crossing the picture in 3 s, lay between them."""

MIN_BAND_OVERLAP = 0.5
"""Least vertical overlap of the piece and the whole line, as a share of the lower of the two boxes."""

MIN_SHARED = 0.6
"""Least share of the piece's letters and digits that the whole line holds in one unbroken run."""

GIVE_UP_AFTER = 2
"""Keyframes in a row whose piece in one band could not be completed before that band is no longer followed. One
is too few: a crawl is often whole on screen for under a second, after the keyframe following the one that first
showed it ("Saff" at 38 s found no whole line up to 39.5 s; at 40 s, "Tundra 5" was whole at 40.5 s)."""

RECIPE = {"edge": EDGE, "clearance": CLEARANCE, "min_piece": MIN_PIECE, "bisect_depth": BISECT_DEPTH,
          "min_band_overlap": MIN_BAND_OVERLAP, "min_shared": MIN_SHARED,
          "ticker": f"skip-band-after-{GIVE_UP_AFTER}-failures",
          "directions": "right-to-left, then left-to-right"}  # fmt: skip
"""Every threshold above, for the OCR layer's fingerprint."""

Side = Literal["left", "right"]

Readings = Callable[[list[float]], Iterable[list[TextBox]]]
"""Lines of the frames shown at given times, one list per time in order (empty past the video's end)."""


def _edges(line: TextBox, aspect: float, clearance: float = CLEARANCE) -> tuple[bool, bool]:
    """Whether ``line`` is cut by the left and by the right edge (`EDGE`, or ``clearance`` of its height)."""
    margin = max(EDGE, clearance * (line.box[3] - line.box[1]) * aspect)
    return line.box[0] <= margin, line.box[2] >= 1.0 - margin


def cut_side(line: TextBox, *, aspect: float) -> Side | None:
    """The one side edge ``line`` is cut by; None when it is clear of both or cut by both.

    ``aspect`` is the picture's height over its width (boxes are shares of each).
    """
    left, right = _edges(line, aspect)
    if left == right:
        return None
    return "left" if left else "right"


def sweeps(t_s: float, side: Side, *, every_s: float, step_s: float) -> tuple[list[float], list[float]]:
    """When to look for the rest of a line cut at ``t_s``: its own side's times, then the other's, nearest first.

    Between this keyframe and the next one after it for a line cut on the right, before it for one cut on the left
    (a crawl moving right to left); then the other way (left to right).
    """
    n = max(0, round(every_s / step_s) - 1)
    sign = 1.0 if side == "right" else -1.0
    own = [t_s + sign * step_s * k for k in range(1, n + 1)]
    other = [t_s - sign * step_s * k for k in range(1, n + 1)]
    return [t for t in own if t >= 0.0], [t for t in other if t >= 0.0]


def _letters(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def completes(piece: TextBox, whole: TextBox, *, aspect: float, clearance: float = CLEARANCE) -> bool:
    """Whether ``whole`` is the line ``piece`` is a part of, read where all of it is in view.

    With ``clearance=0``, only the `EDGE` tells whether ``whole`` is in view: a longer reading of the piece.
    """
    if any(_edges(whole, aspect, clearance)):
        return False
    if not _same_band((piece.box[1], piece.box[3]), (whole.box[1], whole.box[3])):
        return False
    a, b = _letters(piece.text), _letters(whole.text)
    if len(b) <= len(a) or len(a) < MIN_PIECE:
        return False
    run = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size
    return run >= MIN_SHARED * len(a)


class Crawls:
    """Completes the crawl pieces of keyframes read one after another (one per OCR pass; not thread-safe).

    A band of the picture where the rest of a piece was not found at `GIVE_UP_AFTER` keyframes in a row, and
    which still holds a cut line at the next keyframe, is not followed again until a keyframe shows no cut line
    there: a ticker longer than the picture scrolls on for minutes, and following it on every keyframe would read
    up to four times the frames.
    ``completed`` and ``followed`` count pieces since construction.
    """

    def __init__(self, *, every_s: float, step_s: float, aspect: float) -> None:
        """``aspect``: the picture's height over its width."""
        self._every_s = every_s
        self._step_s = step_s
        self._aspect = aspect
        self._failed: list[tuple[tuple[float, float], int]] = []  # bands cut at the last keyframe, failures in a row
        self._longer: TextBox | None = None  # the longest reading of the piece followed now clear of `EDGE`
        self.completed = 0
        self.followed = 0

    def complete(self, lines: list[TextBox], t_s: float, readings: Readings) -> list[TextBox]:
        """``lines`` of the keyframe at ``t_s``, each crawl piece replaced by its whole line where one is found.

        ``readings(times)`` yields the lines of the frame shown at each time in turn (none past the video's end),
        read as they are asked for: the search stops at the first whole line. The whole line keeps the piece's
        box: where the line was at ``t_s``.
        """
        failed: list[tuple[tuple[float, float], int]] = []
        out: list[TextBox] = []
        for line in lines:
            side = cut_side(line, aspect=self._aspect)
            band = (line.box[1], line.box[3])
            if side is None or len(_letters(line.text)) < MIN_PIECE:
                out.append(line)
                continue
            before = max((n for other, n in self._failed if _same_band(band, other)), default=0)
            if before >= GIVE_UP_AFTER:
                failed.append((band, before))
                out.append(line)
                continue
            self.followed += 1
            whole, self._longer = None, None
            for sweep in sweeps(t_s, side, every_s=self._every_s, step_s=self._step_s):
                whole, crossed = self._search(line, (t_s, side), sweep, readings)
                if whole is not None or crossed:
                    break
            whole = whole or self._longer
            if whole is None:
                failed.append((band, before + 1))
                out.append(line)
            else:
                self.completed += 1
                out.append(TextBox(text=whole.text, score=whole.score, box=line.box))
        self._failed = failed
        return out

    def _search(
        self, piece: TextBox, start: tuple[float, Side], times: list[float], readings: Readings
    ) -> tuple[TextBox | None, bool]:
        """The whole line of ``piece`` in the frames at ``times`` (in order), and whether the crawl was seen crossing.

        Where the piece's band went from cut on one side to cut on the other between two frames, the line passed its
        whole view between them: up to `BISECT_DEPTH` frames are read there, and the frames after show less of it.
        """
        last = start
        for when, found in zip(times, readings(times), strict=True):
            whole = self._whole(piece, found)
            if whole is not None:
                return whole, False
            seen = self._band_side(piece, found)
            if seen is not None and seen != last[1]:
                return self._bisect(piece, last, (when, seen), readings, BISECT_DEPTH), True
            if seen is not None:
                last = (when, seen)
        return None, False

    def _bisect(
        self, piece: TextBox, a: tuple[float, Side], b: tuple[float, Side], readings: Readings, depth: int
    ) -> TextBox | None:
        if depth <= 0:
            return None
        mid = (a[0] + b[0]) / 2
        found = next(iter(readings([mid])))
        whole = self._whole(piece, found)
        seen = self._band_side(piece, found)
        if whole is not None or seen is None:
            return whole
        return (
            self._bisect(piece, (mid, seen), b, readings, depth - 1)
            if seen == a[1]
            else self._bisect(piece, a, (mid, seen), readings, depth - 1)
        )

    def _whole(self, piece: TextBox, found: list[TextBox]) -> TextBox | None:
        """The line of ``found`` that `completes` ``piece``; the longest reading clear of `EDGE` is kept aside."""
        longer = [w for w in found if completes(piece, w, aspect=self._aspect, clearance=0.0)]
        for w in longer:
            if self._longer is None or len(_letters(w.text)) > len(_letters(self._longer.text)):
                self._longer = w
        # `completes` with `CLEARANCE` is the same test with a wider margin: only that margin is left to check.
        return next((w for w in longer if not any(_edges(w, self._aspect, CLEARANCE))), None)

    def _band_side(self, piece: TextBox, found: list[TextBox]) -> Side | None:
        """The side the lines of ``piece``'s band in ``found`` are cut by; None where none or both sides are."""
        band = (piece.box[1], piece.box[3])
        sides: set[Side] = set()
        for w in found:
            side = cut_side(w, aspect=self._aspect) if _same_band(band, (w.box[1], w.box[3])) else None
            if side is not None:
                sides.add(side)
        return next(iter(sides)) if len(sides) == 1 else None


def _same_band(a: tuple[float, float], b: tuple[float, float]) -> bool:
    lower = min(a[1] - a[0], b[1] - b[0])
    return lower > 0 and min(a[1], b[1]) - max(a[0], b[0]) >= MIN_BAND_OVERLAP * lower
