"""Hand-built stores for retrieval tests: real SQLite and FAISS files, rows inserted directly."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vidscout.memory.index import VectorIndex
from vidscout.memory.store import VideoStore, blob_to_vec, vec_to_blob
from vidscout.models.base import TextEmbedder


def build_store(
    root: Path,
    *,
    clips: Sequence[tuple[float, float]],
    docs: Sequence[tuple[int, str, str]] = (),
    frames: Sequence[tuple[float, str]] = (),
    speech: Sequence[tuple[float, float, str]] = (),
    text_embedder: TextEmbedder,
    image_embedder: TextEmbedder | None = None,
    every_s: float = 2.0,
) -> VideoStore:
    """A store with clip segments, documents (clip index, kind, text), keyframes and speech.

    A keyframe is given as (t_s, description): its "image" vector is the description's text
    embedding, and its words are its tags, so text→frame search has known answers.
    """
    store = VideoStore.open(root, create=True)
    store.begin_layer("scan", "test", "test", {"every": every_s})
    image_embedder = image_embedder or text_embedder
    with store.transaction() as c:
        seg_ids = [
            c.execute(
                "INSERT INTO segments (level, idx, start_s, end_s, parent) VALUES ('clip', ?, ?, ?, NULL)",
                (i, a, b),
            ).lastrowid
            for i, (a, b) in enumerate(clips)
        ]
        doc_vecs = text_embedder.embed_text([d[2] for d in docs]) if docs else []
        c.executemany(
            "INSERT INTO docs (segment_id, kind, start_s, end_s, text, vec) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (seg_ids[ci], kind, clips[ci][0], clips[ci][1], text, vec_to_blob(v))
                for (ci, kind, text), v in zip(docs, doc_vecs, strict=True)
            ],
        )
        frame_vecs = image_embedder.embed_text([f[1] for f in frames]) if frames else []
        for (t, desc), v in zip(frames, frame_vecs, strict=True):
            fid = c.execute(
                "INSERT INTO frames (t_s, file, text_score) VALUES (?, ?, 0)", (t, f"{t:010.3f}.jpg")
            ).lastrowid
            c.execute("INSERT INTO frame_vectors VALUES (?, ?)", (fid, vec_to_blob(v)))
            c.execute("INSERT INTO tags VALUES (?, ?)", (fid, json.dumps([[w, 0.5] for w in desc.split()])))
        for a, b, text in speech:
            words = text.split()
            step = (b - a) / len(words)
            times = [[w, round(a + i * step, 3), round(a + (i + 1) * step, 3), 1.0] for i, w in enumerate(words)]
            c.execute(
                "INSERT INTO speech (start_s, end_s, text, words, avg_logprob) VALUES (?, ?, ?, ?, 0)",
                (a, b, text, json.dumps(times)),
            )
    _save_index(store, "SELECT id, vec FROM docs ORDER BY id", store.root / "text.faiss")
    _save_index(store, "SELECT frame_id, vec FROM frame_vectors ORDER BY frame_id", store.root / "frames.faiss")
    return store


def _save_index(store: VideoStore, sql: str, path: Path) -> None:
    rows = store.query(sql)
    if rows:
        vecs = np.stack([blob_to_vec(r[1]) for r in rows])
        VectorIndex.build(vecs, np.array([r[0] for r in rows], dtype=np.int64)).save(path)
