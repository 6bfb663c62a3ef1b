"""RapidOCR on text drawn with OpenCV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.models.conftest import text_frame
from vidscout.errors import ConfigError
from vidscout.models.base import OCR, LineReader
from vidscout.models.ocr import RapidOCR
from vidscout.models.registry import Backends, make_ocr
from vidscout.settings import Settings


def test_reads_drawn_text_with_normalised_boxes(backends: Backends) -> None:
    ocr = backends.ocr
    assert isinstance(ocr, OCR)
    lines = ocr.read(text_frame(["EXIT 42 - Kitchen", "Scene 3: the red car"]))
    assert [t.text for t in lines] == ["EXIT 42 - Kitchen", "Scene 3: the red car"]
    for t in lines:
        x0, y0, x1, y1 = t.box
        assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0
        assert t.score >= 0.5
    assert lines[0].box[3] <= lines[1].box[1] + 0.05  # first line above the second


def test_blank_frame_reads_nothing(backends: Backends) -> None:
    assert backends.ocr.read(np.full((120, 320, 3), 255, np.uint8)) == []


def test_lines_are_found_then_only_the_ones_asked_for_are_recognised(backends: Backends) -> None:
    ocr = backends.ocr
    assert isinstance(ocr, LineReader)
    frame = text_frame(["GATE B22", "Flight KQ 4821 to Oslo", "Score 3 - 1"])
    quads = ocr.find_lines(frame)
    assert len(quads) == 3 and all(q.shape == (4, 2) for q in quads)
    assert [t.text for t in ocr.read_lines(frame, quads) if t] == ["GATE B22", "Flight KQ 4821 to Oslo", "Score 3 - 1"]
    # Only the lines asked for are recognised, in the order asked.
    assert [t.text for t in ocr.read_lines(frame, quads[::-2]) if t] == ["Score 3 - 1", "GATE B22"]
    assert ocr.read_lines(frame, []) == []


def _spinning(ocr: RapidOCR) -> list[str]:
    """Each loaded onnxruntime session's allow_spinning entry ("" when unset: onnxruntime's default, spin)."""
    entries: list[str] = []
    for model in (ocr._finder.text_det, ocr._detector.text_det, ocr._recogniser.text_rec):
        if model is None:
            continue
        options = model.session.session.get_session_options()
        try:
            entries.append(options.get_session_config_entry("session.intra_op.allow_spinning"))
        except RuntimeError:  # never set
            entries.append("")
    return entries


def test_onnxruntime_threads_sleep_when_idle_unless_asked_to_spin(tmp_path: Path) -> None:
    frame = text_frame(["GATE B22"])
    quiet = RapidOCR(threads=2)
    assert [t.text for t in quiet.read(frame)] == ["GATE B22"]
    assert quiet.count_text_regions(frame) == 1
    assert _spinning(quiet) == ["0", "0", "0"]
    spinning = make_ocr("rapidocr?spin=true", Settings(data_dir=tmp_path))
    assert isinstance(spinning, RapidOCR)
    assert [t.text for t in spinning.read(frame)] == ["GATE B22"]
    assert _spinning(spinning) and "0" not in _spinning(spinning)
    with pytest.raises(ConfigError, match="spin='sometimes' must be true or false"):
        make_ocr("rapidocr?spin=sometimes", Settings(data_dir=tmp_path))
