"""Hand-built stores for retrieval tests: real SQLite and FAISS files, rows written by the store's writers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vidscout.memory.store import VideoStore
from vidscout.models.base import SpeechSegment, TextEmbedder, Word
from vidscout.types import Segment, TimeSpan


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
    with store.transaction():
        store.replace_segments(
            [Segment(level="clip", index=i, span=TimeSpan(start_s=a, end_s=b)) for i, (a, b) in enumerate(clips)]
        )
        seg_ids = [store.segment_id("clip", i) for i in range(len(clips))]
        doc_vecs = text_embedder.embed_text([d[2] for d in docs]) if docs else np.zeros((0, 1), np.float32)
        store.replace_documents(
            [(seg_ids[ci], kind, clips[ci][0], clips[ci][1], text) for ci, kind, text in docs], doc_vecs
        )
        store.add_keyframes([(t, f"{t:010.3f}.jpg", 0.0) for t, _ in frames])
        id_at = {f.t_s: f.id for f in store.frames()}
        ids = [id_at[t] for t, _ in frames]
        frame_vecs = image_embedder.embed_text([f[1] for f in frames]) if frames else []
        store.write_vectors("frame_vectors", list(zip(ids, frame_vecs, strict=True)))
        store.write_tags([(fid, [(w, 0.5) for w in desc.split()]) for fid, (_, desc) in zip(ids, frames, strict=True)])
        store.add_utterances([_utterance(a, b, text) for a, b, text in speech])
    store.write_index("text_index")
    store.write_index("frame_vectors")
    return store


def _utterance(a: float, b: float, text: str) -> SpeechSegment:
    """An utterance whose words are spread evenly over [a, b]."""
    words = text.split()
    step = (b - a) / len(words)
    timed = [Word(text=w, start_s=a + i * step, end_s=a + (i + 1) * step) for i, w in enumerate(words)]
    return SpeechSegment(text=text, start_s=a, end_s=b, words=tuple(timed))
