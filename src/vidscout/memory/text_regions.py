"""On-screen text: a cheap "is there text in this frame?" score, and the layout of OCR lines into blocks.

Classic text-region heuristic: morphological gradient, Otsu binarisation, a horizontal closing
that joins characters into words, then count the connected regions shaped like text lines.
About 2 ms per 640-px frame, against ~1 s for a full OCR pass.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray


def text_likelihood(image: NDArray[np.uint8]) -> float:
    """Number of text-line-shaped regions in an RGB frame (0 for plain footage)."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    grad = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    _, bw = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if float(bw.mean()) > 0.35 * 255:  # dense texture everywhere (foliage, noise): not text
        return 0.0
    joined = cv2.morphologyEx(bw, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, w // 80), 1)))
    _, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    count = 0
    for x, y, bw_, bh, area in stats[1:]:
        if not (max(6, h // 90) <= bh <= h // 6):
            continue
        if bw_ < 2.0 * bh or bw_ > 0.95 * w:
            continue
        fill = area / float(bw_ * bh)
        if fill < 0.45:
            continue
        # Characters alternate ink and gap: count edge transitions along the region's rows.
        strip = bw[y : y + bh, x : x + bw_] > 0
        transitions = float(np.abs(np.diff(strip.astype(np.int8), axis=1)).sum(axis=1).max())
        if transitions / bw_ >= 0.12:
            count += 1
    return float(count)


Box = tuple[float, float, float, float]
"""(x0, y0, x1, y1) normalised to [0, 1], as OCR lines are stored."""


def text_blocks(lines: Sequence[tuple[str, float, Box]]) -> list[tuple[str, float]]:
    """Group one frame's OCR lines into blocks in reading order: ``(text, lowest line score)`` per block.

    Lines side by side on one row form a row: a word gap continues the text, a wider gap is a column
    and is written ``" - "`` (a credits table keeps "SACHA GOEDEGEBURE - Director" together). Rows stacked
    close under each other (the gap under the row height, overlapping horizontally) form a block, its rows
    joined by ``" / "``; blocks far apart (two captions, two columns of a slide) stay apart. Blocks are
    ordered top to bottom, then left to right.
    """
    rows: list[list[int]] = []
    for i in sorted(range(len(lines)), key=lambda k: (lines[k][2][1], lines[k][2][0])):
        _, y0, _, y1 = lines[i][2]
        for row in rows:
            ry0 = min(lines[k][2][1] for k in row)
            ry1 = max(lines[k][2][3] for k in row)
            shared = min(y1, ry1) - max(y0, ry0)
            if shared > 0.5 * min(y1 - y0, ry1 - ry0):
                row.append(i)
                break
        else:
            rows.append([i])
    # Far apart on one row (more than 6 line heights: a slide's two columns) are two rows, not a table row.
    split: list[list[int]] = []
    for row in rows:
        items = sorted(row, key=lambda k: lines[k][2][0])
        h = max(lines[k][2][3] - lines[k][2][1] for k in items)
        split.append([items[0]])
        for a, b in itertools.pairwise(items):
            if lines[b][2][0] - lines[a][2][2] > 6 * h:
                split.append([])
            split[-1].append(b)
    rows = split

    def row_text(row: list[int]) -> tuple[str, Box]:
        items = sorted(row, key=lambda k: lines[k][2][0])
        h = max(lines[k][2][3] - lines[k][2][1] for k in items)
        text = lines[items[0]][0]
        for a, b in itertools.pairwise(items):
            gap = lines[b][2][0] - lines[a][2][2]
            text += (" " if gap < 1.5 * h else " - ") + lines[b][0]
        box = (min(lines[k][2][0] for k in items), min(lines[k][2][1] for k in items),
               max(lines[k][2][2] for k in items), max(lines[k][2][3] for k in items))  # fmt: skip
        return text, box

    built = [row_text(r) for r in rows]
    parent = list(range(len(built)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(built)):
        ax0, ay0, ax1, ay1 = built[i][1]
        for j in range(i + 1, len(built)):
            bx0, by0, bx1, by1 = built[j][1]
            h = max(ay1 - ay0, by1 - by0, 1e-6)
            if max(ay0, by0) - min(ay1, by1) < h and max(ax0, bx0) < min(ax1, bx1):
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(built)):
        groups.setdefault(find(i), []).append(i)
    order = sorted(groups.values(), key=lambda m: (min(built[i][1][1] for i in m), min(built[i][1][0] for i in m)))
    scores = [min(lines[k][1] for k in r) for r in rows]
    out: list[tuple[str, float]] = []
    for members in order:
        members.sort(key=lambda i: built[i][1][1])
        out.append((" / ".join(built[i][0] for i in members), min(scores[i] for i in members)))
    return out
