"""A JSON-ready description of what a video database holds (for `vidscout info`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from vidscout.errors import StoreError
from vidscout.memory.index import VectorIndex
from vidscout.memory.store import VideoStore, damaged_store_error, is_corruption
from vidscout.models.base import Word


def describe_store(store: VideoStore, *, video: Path | None = None) -> dict[str, Any]:
    """Video facts, layer manifest, segments, speech, OCR text and index sizes, all plain data.

    ``damaged`` maps finished layers whose files are missing or out of step with their rows to what is
    wrong (the next ingest rebuilds them); such a store is not ``complete``.

    Raises:
        StoreError: The database is damaged (the message names ``video`` and the fix).
    """
    try:
        return _describe(store)
    except sqlite3.DatabaseError as e:
        if is_corruption(e):
            raise damaged_store_error(store.root, str(e), video=video) from e
        raise


def _describe(store: VideoStore) -> dict[str, Any]:
    video = store.get_meta("video") or {}
    duration = float(video.get("duration_s") or 0.0)
    speech = store.utterances()
    speech_s = sum(u.end_s - u.start_s for u in speech)
    ocr = store.ocr_lines()
    indexes: dict[str, int] = {}
    for name in ("frames", "text"):
        path = store.root / f"{name}.faiss"
        if path.exists():
            try:
                indexes[name] = VectorIndex.load(path).size
            except StoreError:
                indexes[name] = -1  # unreadable; `damaged` says which layer it belongs to
    layers = store.layers()
    damaged = store.damaged_layers()
    return {
        "store": str(store.root),
        "video": video,
        "source_path": store.get_meta("source_path"),
        "versions": store.get_meta("versions") or {},
        "covered_s": store.get_meta("covered_s"),
        "complete": bool(store.get_meta("ingest_complete")) and all(layer.done for layer in layers) and not damaged,
        "damaged": damaged,
        "layers": [layer.model_dump() for layer in layers],
        "shots": [_span(s) for s in store.segments("shot")],
        "clips": [_span(s) for s in store.segments("clip")],
        "chapters": [_span(s) for s in store.segments("chapter")],
        "keyframes": store.count("frames"),
        "speech": {
            "coverage": round(speech_s / duration, 4) if duration else 0.0,
            "seconds": round(speech_s, 2),
            "segments": [
                {"start_s": u.start_s, "end_s": u.end_s, "text": u.text, "words": [_word(w) for w in u.words]}
                for u in speech
            ],
        },
        "ocr": [{"t_s": line.t_s, "text": line.text, "score": round(line.score, 3)} for line in ocr],
        "indexes": indexes,
    }


def _word(w: Word) -> list[Any]:
    """A word as the speech table stores it: ``[text, start_s, end_s, prob]``."""
    return [w.text, w.start_s, w.end_s, w.prob]


def _span(seg: Any) -> dict[str, Any]:
    return {"index": seg.index, "start_s": round(seg.span.start_s, 3), "end_s": round(seg.span.end_s, 3),
            "parent": seg.parent}  # fmt: skip
