"""A PNG bar chart of a run's accuracies, one section per breakdown (drawn with OpenCV: no plotting dependency)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vidscout.eval.scoring import Metrics

_W, _ROW, _LABEL_W, _TOP = 900, 26, 250, 60
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_GROUP_COLOURS = [(66, 133, 244), (52, 168, 83), (251, 188, 5), (234, 67, 53), (155, 89, 182), (26, 188, 156)]


def plot_metrics(metrics: Metrics, path: Path, *, title: str) -> Path:
    """Draw one horizontal bar (0-100 %) per metric row, grouped, with ``correct / total`` beside it."""
    groups: list[str] = list(dict.fromkeys(r.group for r in metrics.rows))
    n_lines = len(metrics.rows) + len(groups)
    h = _TOP + n_lines * _ROW + 40
    img = np.full((h, _W, 3), 255, np.uint8)
    cv2.putText(img, title[:90], (16, 32), _FONT, 0.62, (20, 20, 20), 1, cv2.LINE_AA)
    bar_x0, bar_x1 = _LABEL_W, _W - 130
    y = _TOP
    for gi, group in enumerate(groups):
        colour = _GROUP_COLOURS[gi % len(_GROUP_COLOURS)]
        cv2.putText(img, group, (16, y + 18), _FONT, 0.55, (90, 90, 90), 1, cv2.LINE_AA)
        y += _ROW
        for row in (r for r in metrics.rows if r.group == group):
            cv2.putText(img, row.name[:28], (28, y + 18), _FONT, 0.5, (20, 20, 20), 1, cv2.LINE_AA)
            length = int((bar_x1 - bar_x0) * max(0.0, min(row.accuracy, 100.0)) / 100.0)
            cv2.rectangle(img, (bar_x0, y + 5), (bar_x1, y + _ROW - 5), (235, 235, 235), -1)
            if length:
                cv2.rectangle(img, (bar_x0, y + 5), (bar_x0 + length, y + _ROW - 5), colour[::-1], -1)
            counts = f" ({row.correct}/{row.total})" if row.total is not None else ""
            cv2.putText(img, f"{row.accuracy:.1f}%{counts}", (bar_x1 + 6, y + 18), _FONT, 0.45, (20, 20, 20), 1,
                        cv2.LINE_AA)  # fmt: skip
            y += _ROW
    for pct in (0, 25, 50, 75, 100):
        x = bar_x0 + (bar_x1 - bar_x0) * pct // 100
        cv2.line(img, (x, _TOP), (x, h - 32), (200, 200, 200), 1)
        cv2.putText(img, f"{pct}", (x - 8, h - 14), _FONT, 0.4, (120, 120, 120), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img):
        raise OSError(f"could not write {path}")
    return path
