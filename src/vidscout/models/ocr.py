"""On-screen text with RapidOCR (PP-OCRv6 det/rec ONNX models that ship inside the ``rapidocr`` wheel).

About 1–1.6 s per 640×200 frame on a loaded 2-core machine (MODELS.md §7); the first call is slower.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from vidscout.errors import BackendError, ConfigError
from vidscout.models._env import missing_package, prepare_runtime
from vidscout.models.base import Image, Quad, TextBox
from vidscout.models.ocr_words import split_glued

logger = logging.getLogger(__name__)


class RapidOCR:
    """The `OCR` protocol over the ``rapidocr`` package with its bundled models."""

    def __init__(
        self,
        *,
        name: str = "rapidocr",
        threads: int = 2,
        min_score: float = 0.5,
        spin: bool = False,
        read_width: int | None = None,
        split_glued: bool = True,
        arena: bool = True,
    ) -> None:
        """Configure the detector and recogniser; their models load on first use.

        Args:
            name: The spec this backend was built from.
            threads: onnxruntime intra-op threads.
            min_score: Recognition confidence below which a line is dropped (0–1).
            spin: Let onnxruntime's idle intra-op threads spin-wait for work, as it does by default. Off, they
                sleep and leave the CPU to whatever runs beside the OCR (the speech layer, a server's queries).
                In ten-minute ingests side by side (`bench/ingest_hour.py --minutes 10 --compare-spinning`) the
                OCR layer took 0.92x and 1.02x the seconds of spinning: within the run-to-run noise.
            read_width: Frames narrower than this are enlarged to it before they are read (default `READ_WIDTH`;
                the frame's own width or less: never enlarged).
            split_glued: Put back the spaces the recogniser loses between capitalised words ("FILMTRANSFER" is
                read as "FILM TRANSFER"; `vidscout.models.ocr_words.split_glued`). Off, lines are kept as read.
            arena: Let onnxruntime keep a memory arena per session (its default): memory freed after a large batch
                of crops (a page of credits) is kept for the next one instead of going back to the system.
        """
        t0 = time.perf_counter()
        prepare_runtime()
        try:
            from rapidocr import RapidOCR as Engine
        except ImportError as e:
            raise missing_package("rapidocr", "rapidocr onnxruntime") from e
        self.name = name
        self._min_score = min_score
        self._read_width = READ_WIDTH if read_width is None else read_width
        if self._read_width <= 0:
            raise ConfigError(f"read_width must be a positive number of pixels, got {read_width}")
        common = {
            "Global.log_level": "error",  # it warns on every frame without text
            "Global.use_cls": False,  # video text is upright; the angle classifier doubled the cost
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        # The default resizes the *short* side up to 736 px: a 640x360 frame became 4x the pixels.
        self._finder = Engine(
            params={**common, "Global.use_rec": False, "Det.limit_type": "max", "Det.limit_side_len": 960}
        )
        # Only its recogniser is used (`read_lines`); its detector is never loaded.
        self._recogniser = Engine(params={**common, "Global.text_score": min_score})
        self._detector = Engine(
            params={**common, "Global.use_rec": False, "Det.limit_type": "max", "Det.limit_side_len": 320}
        )
        self._spin = spin
        self._arena = arena
        self._split_glued = split_glued
        self._ready: set[int] = set()  # ids of the engines whose sessions have this backend's options (`_prepared`)
        logger.info("Loaded %s in %.2f s", name, time.perf_counter() - t0)

    def count_text_regions(self, image: Image) -> int:
        """Text regions found by the detector alone on a 320-px copy: ~0.08 s, a gate for `read`.

        It misses small text (scrolling credits, captions in wide shots); callers combine it with
        another cue rather than trusting a zero.
        """
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        try:
            result = self._prepared(self._detector)(bgr)
        except Exception as e:  # onnxruntime raises its own exception types
            raise BackendError(f"RapidOCR detection failed: {e}") from e
        boxes = getattr(result, "boxes", None)
        return 0 if boxes is None else len(boxes)

    def read(self, image: Image) -> list[TextBox]:
        """Read all text lines in one RGB frame, in reading order; boxes are normalised to [0, 1].

        A frame narrower than `READ_WIDTH` is enlarged to it first (`_enlarged`). Lines are found on a 640-px copy
        of a wider frame, or on the frame as given, and again on the enlarged one where one is small (`_find`); they
        are recognised from the enlarged frame.

        Raises:
            ConfigError: ``image`` is not an (H, W, 3) uint8 array.
            BackendError: onnxruntime failed.
        """
        bgr = _bgr(image)
        big, _ = _enlarged(bgr, self._read_width)
        lines = [line for line in self._recognise(big, self._find(bgr, big)) if line is not None]
        return keep_text_rows(lines, width=big.shape[1], height=big.shape[0])

    def find_lines(self, image: Image) -> list[Quad]:
        """The detector alone, as `read` runs it: each line's corners in ``image``'s pixels, in reading order."""
        bgr = _bgr(image)
        big, scale = _enlarged(bgr, self._read_width)
        return [q / scale for q in self._find(bgr, big)]

    def read_lines(self, image: Image, quads: Sequence[Quad]) -> list[TextBox | None]:
        """Recognise the lines at ``quads`` (from `find_lines`) in one batch; ``None`` where a line is dropped.

        A line is dropped when its confidence is under ``min_score`` or when it holds no letter or digit. Short
        lines (one glyph, or two read unsurely) are returned: `keep_text_rows`, given all the frame's lines,
        keeps those that continue a row of text and drops the rest, as `read` does.
        """
        big, scale = _enlarged(_bgr(image), self._read_width)
        return self._recognise(big, [np.asarray(q, np.float32) * scale for q in quads])

    def _prepared(self, engine: Any) -> Any:
        """``engine``, its model loaded on first use and its session rebuilt with this backend's options.

        Rebuilt to sleep when idle (unless ``spin``) and without a memory arena (unless ``arena``).
        """
        if id(engine) not in self._ready:
            if not self._spin or not self._arena:
                model = engine._load_rec_model() if engine is self._recogniser else engine._load_det_model()
                _rebuild_session(model, spin=self._spin, arena=self._arena)
            self._ready.add(id(engine))
        return engine

    def _find(self, bgr: NDArray[np.uint8], big: NDArray[np.uint8]) -> list[Quad]:
        """Lines in ``big``'s pixels: found on ``bgr`` (shrunk to `DETECT_WIDTH`), again on ``big`` where one is small.

        ``big`` is ``bgr`` itself (up to 960 px) or ``bgr`` enlarged to `READ_WIDTH`. Recognition reads the crops
        from ``big``, so small text gets more pixels without the detector's cost growing with them, except on frames
        that show small text (`SMALL_LINE_PX`).
        """
        height, width = bgr.shape[:2]
        small = bgr
        if width > DETECT_WIDTH:
            small_h = max(2, round(height * DETECT_WIDTH / width))
            small = np.asarray(cv2.resize(bgr, (DETECT_WIDTH, small_h), interpolation=cv2.INTER_AREA), dtype=np.uint8)
        quads = self._detect(small)
        if big.shape[1] > small.shape[1] and any(float(q[:, 1].max() - q[:, 1].min()) < SMALL_LINE_PX for q in quads):
            return self._detect(big)
        scale = np.array([big.shape[1] / small.shape[1], big.shape[0] / small.shape[0]], dtype=np.float32)
        return [q * scale for q in quads]

    def _detect(self, bgr: NDArray[np.uint8]) -> list[Quad]:
        try:
            result = self._prepared(self._finder)(bgr)
        except Exception as e:  # onnxruntime raises its own exception types
            raise BackendError(f"RapidOCR detection failed on a {bgr.shape[1]}x{bgr.shape[0]} frame: {e}") from e
        boxes = getattr(result, "boxes", None)
        return [] if boxes is None else [np.asarray(q, dtype=np.float32).reshape(4, 2) for q in boxes]

    def _recognise(self, bgr: NDArray[np.uint8], quads: Sequence[Quad]) -> list[TextBox | None]:
        if not quads:
            return []
        height, width = bgr.shape[:2]
        try:
            recogniser = self._prepared(self._recogniser)
            crops = recogniser.crop_text_regions(bgr, np.stack([np.asarray(q, np.float32) for q in quads]))
            result = recogniser.recognize_txt(crops)
        except Exception as e:  # onnxruntime raises its own exception types
            raise BackendError(f"RapidOCR recognition failed on a {width}x{height} frame: {e}") from e
        txts, scores = result.txts or (), result.scores or ()
        lines: list[TextBox | None] = []
        for quad, text, score in zip(quads, txts, scores, strict=True):
            text = str(text).strip()
            if float(score) < self._min_score or not any(ch.isalnum() for ch in text):
                lines.append(None)
                continue
            if self._split_glued:  # only spaces are put in, so the test above reads the same either way
                text = split_glued(text)
            x0, y0 = quad.min(axis=0)
            x1, y1 = quad.max(axis=0)
            box = (
                float(np.clip(x0 / width, 0.0, 1.0)),
                float(np.clip(y0 / height, 0.0, 1.0)),
                float(np.clip(x1 / width, 0.0, 1.0)),
                float(np.clip(y1 / height, 0.0, 1.0)),
            )
            lines.append(TextBox(text=text, score=float(score), box=box))
        return lines


def _rebuild_session(model: Any, *, spin: bool, arena: bool) -> None:
    """Rebuild one of RapidOCR's onnxruntime sessions (``model.session.session``) with the options rapidocr lacks.

    Idle threads sleep unless ``spin``; no CPU memory arena unless ``arena``. rapidocr exposes no session option
    but its thread counts, and onnxruntime's own threads ignore ``OMP_WAIT_POLICY``: they spin between operators,
    taking CPU from whatever runs beside them.
    """
    from onnxruntime import InferenceSession

    old = model.session.session
    options = old.get_session_options()
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_cpu_mem_arena = arena
    model.session.session = InferenceSession(old._model_path, options, providers=old.get_providers())


def _enlarged(bgr: NDArray[np.uint8], to: int) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """``bgr`` enlarged (bicubic) to ``to`` px wide when narrower, and the (x, y) factor from its pixels to those."""
    height, width = bgr.shape[:2]
    if width >= to:
        return bgr, np.ones(2, np.float32)
    big_h = max(2, round(height * to / width))
    big = np.asarray(cv2.resize(bgr, (to, big_h), interpolation=cv2.INTER_CUBIC), dtype=np.uint8)
    return big, np.array([to / width, big_h / height], dtype=np.float32)


def _bgr(image: Image) -> NDArray[np.uint8]:
    """The BGR copy RapidOCR expects (it treats arrays as OpenCV images)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ConfigError(f"OCR expects an RGB uint8 (H, W, 3) frame, got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image[:, :, ::-1])


READ_WIDTH = 960
"""A frame narrower than this is enlarged (bicubic) to it before it is read: found again there where its text is
small, 16-20 px text of a 640x360 frame is boxed whole and read better ("SALE 42% OFF" where the frame as given
gave "E 42% OFF", "Score 1-2" for "Score 1-", "Chapter 7: The Canyon" for "Chapter_7: The Ganyon")."""

DETECT_WIDTH = 640
"""Width of the copy the detector first runs on (a wider frame is shrunk; its crops are still read from it)."""

SMALL_LINE_PX = 24.0
"""A line found shorter than this (box height, in `DETECT_WIDTH` pixels; the detector's boxes are about 2.5x the
height of the glyphs' core) has the frame searched again at its own size, up to 960 px. 16-24 px text of a
1280x720 frame is 8-12 px on the copy, found there in 13-22 px boxes that miss words or cut a first letter.
About one Big Buck Bunny keyframe in six has such a box (texture, or the end credits' many lines)."""

SHORT_LINE_MIN_SCORE = 0.8
"""Confidence a line of only two letters or digits needs: the recogniser reads pairs of glyphs into textures
("中饰" at 0.63 on a street scene's decoded keyframe), and a real two-letter sign is usually read surely."""


ROW_GAP = 2.0
"""Widest gap, in line heights, between a short line and the line of text it continues on the same row. A
monospaced "Score 4 - 2" at 48 px is three boxes ("Score", "4", "2"; the dash is not found) 0.2 and 1.7 heights
apart."""

ROW_HEIGHTS = 0.6
"""Smallest ratio of two lines' heights for them to be on one row of text (a digit's box against a word's)."""


def _short(line: TextBox) -> bool:
    letters = sum(ch.isalnum() for ch in line.text)
    return letters < 2 or (letters == 2 and line.score < SHORT_LINE_MIN_SCORE)


def keep_text_rows(lines: Sequence[TextBox], *, width: int, height: int) -> list[TextBox]:
    """``lines`` (one frame's, in order) without the short ones that stand alone.

    The recogniser reads lone glyphs into textures ("A", "D", "福") and unsure pairs of them; but a short line
    read surely (at least `SHORT_LINE_MIN_SCORE`) that continues a row of text, directly or through other such
    lines, is part of it: the "4" and "2" of a score the detector cut at its spaces. A row: boxes of similar
    height (`ROW_HEIGHTS`) overlapping by half the lower one vertically, at most `ROW_GAP` heights apart.
    ``width`` and ``height`` are the frame's pixels (the boxes are normalised).
    """
    px = [(ln.box[0] * width, ln.box[1] * height, ln.box[2] * width, ln.box[3] * height) for ln in lines]
    kept = [not _short(ln) for ln in lines]
    maybe = [i for i, ln in enumerate(lines) if _short(ln) and ln.score >= SHORT_LINE_MIN_SCORE]
    grown = True
    while grown:
        grown = False
        for i in maybe:
            if not kept[i] and any(kept[j] and _same_row(px[i], px[j]) for j in range(len(lines)) if j != i):
                kept[i] = grown = True
    return [ln for ln, k in zip(lines, kept, strict=True) if k]


def _same_row(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    ha, hb = a[3] - a[1], b[3] - b[1]
    if min(ha, hb) <= 0 or min(ha, hb) < ROW_HEIGHTS * max(ha, hb):
        return False
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    gap = max(a[0], b[0]) - min(a[2], b[2])
    return overlap >= 0.5 * min(ha, hb) and gap <= ROW_GAP * max(ha, hb)
