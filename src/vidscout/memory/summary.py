"""A JSON-ready description of what a video database holds (for `vidscout info`)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from vidscout.errors import StoreError
from vidscout.memory.index import VectorIndex
from vidscout.memory.store import VideoStore, damaged_store_error, is_corruption


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
    speech = store.query("SELECT start_s, end_s, text, words FROM speech ORDER BY start_s")
    speech_s = sum(b - a for a, b, *_ in speech)
    ocr = store.query(
        "SELECT f.t_s, o.text, o.score FROM ocr o JOIN frames f ON f.id = o.frame_id ORDER BY f.t_s, o.id"
    )
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
            "segments": [{"start_s": a, "end_s": b, "text": t, "words": json.loads(w)} for a, b, t, w in speech],
        },
        "ocr": [{"t_s": t, "text": text, "score": round(score, 3)} for t, text, score in ocr],
        "indexes": indexes,
    }


def _span(seg: Any) -> dict[str, Any]:
    return {"index": seg.index, "start_s": round(seg.span.start_s, 3), "end_s": round(seg.span.end_s, 3),
            "parent": seg.parent}  # fmt: skip
