"""RapidOCR on text drawn with OpenCV."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from tests.models.conftest import OPENCV_DATA, text_frame
from vidscout.errors import ConfigError
from vidscout.media.planted import FONT_DIR, TextPlant, drawtext_filter
from vidscout.memory.moved_text import MovedLines
from vidscout.models.base import OCR, LineReader, TextBox
from vidscout.models.ocr import RapidOCR, keep_text_rows
from vidscout.models.registry import Backends, make_ocr
from vidscout.settings import Settings
from vidscout.text import normalise_words


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


def _arenas(ocr: RapidOCR) -> list[bool]:
    """Whether each loaded onnxruntime session keeps a CPU memory arena."""
    models = (ocr._finder.text_det, ocr._detector.text_det, ocr._recogniser.text_rec)
    return [m.session.session.get_session_options().enable_cpu_mem_arena for m in models if m is not None]


def test_onnxruntime_keeps_its_memory_arena_unless_asked_not_to(tmp_path: Path) -> None:
    """``arena=false`` gives memory back after a page of credits (`bench/ocr_memory.py`) and reads the same."""
    frame = text_frame(["GATE B22"])
    kept = RapidOCR(threads=2)
    assert [t.text for t in kept.read(frame)] == ["GATE B22"]
    kept.count_text_regions(frame)
    assert _arenas(kept) == [True, True, True]
    freed = make_ocr("rapidocr?arena=false", Settings(data_dir=tmp_path))
    assert isinstance(freed, RapidOCR)
    assert [t.text for t in freed.read(frame)] == ["GATE B22"]
    freed.count_text_regions(frame)
    assert _arenas(freed) == [False, False, False]
    assert _spinning(freed) == ["0", "0", "0"]  # still asleep when idle
    with pytest.raises(ConfigError, match="arena='some' must be true or false"):
        make_ocr("rapidocr?arena=some", Settings(data_dir=tmp_path))


def _line(text: str, box: tuple[float, float, float, float], score: float = 0.99) -> TextBox:
    x0, y0, x1, y1 = box  # pixels of a 640x360 frame
    return TextBox(text=text, score=score, box=(x0 / 640, y0 / 360, x1 / 640, y1 / 360))


def test_short_lines_are_kept_only_where_they_continue_a_row_of_text() -> None:
    score = _line("Score", (151, 150, 317, 209))
    four, two = _line("4", (329, 155, 365, 200)), _line("2", (444, 156, 480, 202))  # 0.2 and 1.7 heights apart
    lone = _line("A", (40, 20, 70, 60))  # a glyph read into a texture, far from any text
    assert keep_text_rows([score, four, two, lone], width=640, height=360) == [score, four, two]
    assert keep_text_rows([four, two], width=640, height=360) == []  # no row of text to continue
    unsure = _line("4", (329, 155, 365, 200), score=0.6)
    assert keep_text_rows([score, unsure, two], width=640, height=360) == [score]  # the "2" was joined through it
    far = _line("2", (580, 156, 616, 202))  # 3.5 heights beyond the "4"
    assert keep_text_rows([score, four, far], width=640, height=360) == [score, four]
    small = _line("2", (329, 180, 345, 200))  # a third of the word's height: not the same row of text
    assert keep_text_rows([score, small], width=640, height=360) == [score]


def test_a_monospaced_score_keeps_its_digits_and_a_lone_glyph_is_still_dropped(tmp_path: Path) -> None:
    """The detector cuts "Score 4 - 2" at its wide spaces; the digits are read surely and kept with their row."""
    if not (FONT_DIR / "DejaVuSansMono.ttf").exists():
        pytest.skip("DejaVu fonts missing (Debian fonts-dejavu-core, installed with ffmpeg)")
    plants = [
        TextPlant(text="Score 4 - 2", start_s=0, duration_s=5, size_px=48, boxed=True, light=True,
                  position="middle", font="DejaVuSansMono.ttf"),
        TextPlant(text="7", start_s=0, duration_s=5, size_px=48, boxed=True, light=True, position="top",
                  font="DejaVuSansMono.ttf"),
    ]  # fmt: skip
    frame = _photo_with_text(plants, (640, 360), tmp_path)
    ocr = RapidOCR()
    assert len(ocr.find_lines(frame)) >= 4  # the score in 2-3 boxes, the "7", an advert in the photo
    texts = [t.text for t in ocr.read(frame)]
    assert {"score", "4", "2"} <= {w for t in texts for w in normalise_words(t)}
    assert "2" in texts  # a one-glyph line, kept with its row
    assert "7" not in texts  # alone on its row
    assert [t.text for t in MovedLines(ocr).read(frame)] == texts  # the carrying reader keeps the same lines


def test_small_text_of_a_wide_frame_is_read_from_the_frame_not_the_detectors_copy(tmp_path: Path) -> None:
    """16 px text of a 1280x720 frame is 8 px on the 640-px copy the detector first runs on, where its box cuts
    the first letter: it is found again on the frame itself and read from it, in the frame's coordinates."""
    plants = [
        TextPlant(text="Falcon & Harbor Bakery", start_s=0, duration_s=5, size_px=16, boxed=False, light=True,
                  position="bottom"),
        TextPlant(text="Platform 9 - Oslo", start_s=0, duration_s=5, size_px=48, boxed=True, light=False,
                  position="top"),
    ]  # fmt: skip
    frame = _photo_with_text(plants, (1280, 720), tmp_path)
    small, large = (set(normalise_words(p.text)) for p in plants)
    ocr = RapidOCR()
    lines = ocr.read(frame)
    assert small | large <= {w for t in lines for w in normalise_words(t.text)}, [t.text for t in lines]
    for line in lines:
        words = set(normalise_words(line.text))
        if words & small:
            assert line.box[1] > 0.8  # drawn at the bottom, and the box is the frame's, normalised
        if words & large:
            assert line.box[3] < 0.3
    quads = ocr.find_lines(frame)
    assert max(float(q[:, 0].max()) for q in quads) > 640  # in the frame's pixels, not the copy's
    copy = cv2.resize(frame, (640, 360), interpolation=cv2.INTER_AREA)
    from_copy = {w for t in RapidOCR(read_width=640).read(copy) for w in normalise_words(t.text)}
    assert large <= from_copy
    if small <= from_copy:
        pytest.fail("the 640-px copy reads the small line too: this test no longer shows the difference")


def test_small_text_of_a_narrow_frame_is_read_from_it_enlarged(tmp_path: Path) -> None:
    """18 px monospaced text of a 640x360 frame: read whole once the frame is enlarged to 960 px (`READ_WIDTH`);
    at its own size the detector boxes only "Score". Boxes and quads stay in the frame's own terms."""
    plant = TextPlant(text="Score 4 - 7", start_s=0, duration_s=5, size_px=18, boxed=False, light=True,
                      position="bottom", font="DejaVuSansMono.ttf")  # fmt: skip
    frame = _photo_with_text([plant], (640, 360), tmp_path)
    want = set(normalise_words(plant.text))
    ocr = RapidOCR()
    lines = ocr.read(frame)
    assert want <= {w for t in lines for w in normalise_words(t.text)}, [t.text for t in lines]
    assert all(line.box[1] > 0.8 for line in lines if set(normalise_words(line.text)) & want)
    quads = ocr.find_lines(frame)
    assert quads and max(float(q[:, 0].max()) for q in quads) <= 640  # in the frame's pixels, not the enlarged ones
    read = ocr.read_lines(frame, quads)
    assert want <= {w for t in read if t is not None for w in normalise_words(t.text)}
    as_given = {w for t in RapidOCR(read_width=640).read(frame) for w in normalise_words(t.text)}
    if want <= as_given:
        pytest.fail("the frame at its own size reads the line too: this test no longer shows the difference")
    with pytest.raises(ConfigError, match="read_width"):
        RapidOCR(read_width=0)
    with pytest.raises(ConfigError, match="read_width"):
        make_ocr("rapidocr?read_width=wide", Settings(data_dir=tmp_path))


def _photo_with_text(plants: list[TextPlant], size: tuple[int, int], tmp_path: Path) -> NDArray[np.uint8]:
    """An opencv-doc photo scaled to ``size`` with ``plants`` drawn on it by ffmpeg, as an RGB frame."""
    photo = OPENCV_DATA / "messi5.jpg"
    if not photo.exists():
        pytest.skip(f"{photo} missing (apt-get install opencv-doc)")
    drawn = ",".join([f"scale={size[0]}:{size[1]}", *(drawtext_filter(p, i, tmp_path) for i, p in enumerate(plants))])
    out = tmp_path / "frame.png"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(photo), "-vf", drawn, "-frames:v", "1", str(out)],
                   check=True)  # fmt: skip
    bgr = cv2.imread(str(out))
    assert bgr is not None, out
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
