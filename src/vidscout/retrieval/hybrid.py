"""Hybrid search over one video's store: dense text, BM25 and text→frame rankings, fused by rank.

`SegmentSearcher` does the IO (SQLite rows, FAISS files, query embeddings); the ranking itself is
the pure functions of `vidscout.retrieval.search`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from vidscout.errors import ConfigError, StoreError
from vidscout.memory.entities import search_words
from vidscout.memory.index import VectorIndex
from vidscout.memory.store import LAYER_INDEXES, SpeechRow, VideoStore
from vidscout.models.base import ImageTextEmbedder, TextEmbedder
from vidscout.retrieval.bm25 import BM25Index, BM25Options
from vidscout.retrieval.search import (
    Hit,
    HitKind,
    Utterance,
    clip_index_at,
    clip_key,
    diversify,
    filter_kinds,
    filter_window,
    hit_key,
    in_window,
    match_span,
    reciprocal_rank_fusion,
    snippet,
)
from vidscout.text import tokenize
from vidscout.types import TimeSpan

DOC_KINDS: tuple[HitKind, ...] = ("speech", "ocr", "visual")
"""Kinds of the per-clip documents (text.faiss and BM25); the frame ranker yields kind "frame"."""


class SearchOptions(BaseModel, frozen=True):
    """Ranking knobs of `SegmentSearcher.search`."""

    candidates: int = Field(default=50, ge=1)  # hits each ranker passes to fusion; more = deeper recall
    # RRF damping; larger flattens the gap between ranks 1 and 10. At 60 (the usual web-search value) rank 1 beat
    # rank 10 by only 13 %, so a clip that all three rankers listed low (the frame ranker lists nearly every clip)
    # outranked one both text rankers put first ("SALE 70% OFF" left the top six); at 20, by 43 %.
    rrf_k: float = Field(default=20.0, gt=0)
    text_weight: float = Field(default=1.0, ge=0)  # RRF weight of dense text (paraphrases); 0 disables
    bm25_weight: float = Field(default=1.0, ge=0)  # RRF weight of BM25 (exact words, names, numbers)
    frame_weight: float = Field(default=0.5, ge=0)  # RRF weight of text→frame; lower: noisier embedders
    min_text_score: float = 0.15  # drop dense text hits at or below this cosine (MiniLM: unrelated ~0-0.1)
    min_frame_score: float = 0.0  # frame hits with cosine at or below this are dropped
    min_gap_s: float = Field(default=10.0, ge=0)  # a result repeating a better one closer than this (s) is dropped
    fuse_by: Literal["clip", "item"] = "clip"  # "clip": one result per clip; "item": per doc / frame
    snippet_chars: int = Field(default=200, ge=20)  # length of the evidence text shown per hit (chars)
    bm25: BM25Options = BM25Options()


@dataclass(frozen=True)
class _Doc:
    id: int
    clip: int | None
    kind: HitKind
    span: TimeSpan
    text: str


def _span(start_s: float, end_s: float) -> TimeSpan:
    """A span from stored times, tolerating tiny inversions that ASR sometimes writes."""
    a = max(0.0, float(start_s))
    return TimeSpan(start_s=a, end_s=max(a, float(end_s)))


def _load_index(store: VideoStore, layer: str, embedder: TextEmbedder | ImageTextEmbedder | None) -> VectorIndex | None:
    """The FAISS file of ``layer`` when an embedder can query it; None when there is no embedder or nothing indexed.

    Raises:
        StoreError: The file is missing or unreadable, or holds another number of vectors than its table
            has rows (``vidscout ingest`` rebuilds it): searching without it would silently lose a ranker.
    """
    file, table = LAYER_INDEXES[layer]
    path = store.root / file
    if embedder is None:
        return None
    rows = store.count(table)
    if not path.exists():
        if rows == 0:
            return None
        raise StoreError(f"{path} is missing ({table} has {rows} rows); `vidscout ingest VIDEO` rebuilds it.")
    index = VectorIndex.load(path)
    if index.size != rows:
        raise StoreError(
            f"{path} holds {index.size} vectors but {table} has {rows} rows; `vidscout ingest VIDEO` rebuilds it."
        )
    if index.size and index.dim != embedder.dim:
        raise ConfigError(
            f"{path.name} holds {index.dim}-d vectors but the {embedder.name!r} embedder makes "
            f"{embedder.dim}-d ones; search with the models the video was ingested with, or re-ingest it."
        )
    return index


def _sample_period(store: VideoStore, times: Sequence[float]) -> float:
    """Seconds between keyframes: the scan layer's setting, else the median gap, else 2 s."""
    scan = store.layer("scan")
    every = scan.params.get("every") if scan else None
    if isinstance(every, int | float) and every > 0:
        return float(every)
    gaps = np.diff(np.sort(np.asarray(times, dtype=np.float64)))
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if len(gaps) else 2.0


class SegmentSearcher:
    """Finds the clips of one video that match a text query; open with `SegmentSearcher.open`.

    Holds the store (not closed here), the FAISS indexes and the document rows; the BM25 indexes
    are built in memory on first use and cached. BM25 indexes each document and utterance with the kinds of thing
    it holds (`vidscout.memory.entities.search_words`: "phone number" for "Call 822-7294"), so a question naming
    the kind finds a line that holds one; the texts shown and embedded are the lines as read.
    """

    def __init__(
        self,
        store: VideoStore,
        *,
        docs: Sequence[_Doc],
        clip_spans: Sequence[TimeSpan],
        frame_times: dict[int, float],
        sample_period_s: float,
        text_index: VectorIndex | None,
        frame_index: VectorIndex | None,
        text_embedder: TextEmbedder | None,
        image_text_embedder: ImageTextEmbedder | None,
        options: SearchOptions,
    ) -> None:
        self.store = store
        self.options = options
        self.clip_spans = list(clip_spans)
        self.sample_period_s = sample_period_s
        self._docs = list(docs)
        self._doc_pos = {d.id: i for i, d in enumerate(self._docs)}
        self._clip_starts = [s.start_s for s in self.clip_spans]
        self._frame_times = frame_times
        self._text_index = text_index
        self._frame_index = frame_index
        self._text_embedder = text_embedder
        self._image_text = image_text_embedder

    @classmethod
    def open(
        cls,
        store: VideoStore,
        *,
        text_embedder: TextEmbedder | None = None,
        image_text_embedder: ImageTextEmbedder | None = None,
        options: SearchOptions | None = None,
    ) -> SegmentSearcher:
        """Load what search needs from an ingested store; a missing index or embedder skips its ranker.

        Args:
            store: An open store; the searcher reads from it and leaves closing it to the caller.
            text_embedder: The embedder that built ``text.faiss`` (None: no dense text ranking).
            image_text_embedder: The embedder that built ``frames.faiss`` (None: no frame ranking).
            options: Default ranking knobs of `search`.

        Raises:
            ConfigError: An index's dimension does not match its embedder's.
            StoreError: A FAISS file is missing, unreadable or out of step with its rows.
        """
        clips = store.segments("clip")
        clip_of_row = store.segment_row_ids("clip")
        starts = [c.span.start_s for c in clips]
        docs = [
            _Doc(
                id=d.id,
                clip=clip_of_row.get(d.segment_id, clip_index_at(starts, float(d.start_s))),
                kind=d.kind,
                span=_span(d.start_s, d.end_s),
                text=d.text,
            )
            for d in store.documents()
            if d.kind in DOC_KINDS
        ]
        frame_times = store.frame_times()
        return cls(
            store,
            docs=docs,
            clip_spans=[c.span for c in clips],
            frame_times=frame_times,
            sample_period_s=_sample_period(store, list(frame_times.values())),
            text_index=_load_index(store, "text_index", text_embedder),
            frame_index=_load_index(store, "frame_vectors", image_text_embedder),
            text_embedder=text_embedder,
            image_text_embedder=image_text_embedder,
            options=options or SearchOptions(),
        )

    # --- fused search ----------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        top_k: int = 8,
        kinds: Collection[HitKind] | None = None,
        window: TimeSpan | None = None,
        options: SearchOptions | None = None,
    ) -> list[Hit]:
        """The clips (or items) best matching ``query``, fused over every available ranker.

        Each ranker's hits are filtered by ``kinds`` and ``window`` before fusion, so a narrow
        window still gets its full share of candidates; then reciprocal rank fusion (by clip
        unless ``options.fuse_by == "item"``) and temporal diversity (``options.min_gap_s``).

        Args:
            query: Plain words.
            top_k: Most results to return (fewer when diversity suppresses neighbours).
            kinds: Evidence kinds to use (speech, ocr, visual, frame); None uses all.
            window: Only evidence overlapping this span of the video.
            options: Ranking knobs for this call (default: the searcher's).

        Raises:
            ConfigError: The query has no words.
        """
        o = options or self.options
        if not query.strip():
            raise ConfigError("The search query is empty; describe what to look for in plain words.")
        rankings: list[list[Hit]] = []
        weights: list[float] = []
        for weight, rank in (
            (o.text_weight, self.rank_text),
            (o.bm25_weight, self.rank_bm25),
            (o.frame_weight, self.rank_frames),
        ):
            if weight > 0:
                hits = rank(query, kinds=kinds, window=window, options=o)
                if hits:
                    rankings.append(hits)
                    weights.append(weight)
        fused = reciprocal_rank_fusion(
            rankings, k=o.rrf_k, weights=weights, key=clip_key if o.fuse_by == "clip" else hit_key
        )
        terms = tokenize(query)
        return [self._located(h, terms) for h in diversify(fused, min_gap_s=o.min_gap_s, top_k=top_k)]

    # --- single rankers ----------------------------------------------------------------------

    def rank_text(
        self,
        query: str,
        *,
        kinds: Collection[HitKind] | None = None,
        window: TimeSpan | None = None,
        options: SearchOptions | None = None,
    ) -> list[Hit]:
        """Dense text ranking: the query's embedding against ``text.faiss`` (clip documents)."""
        o = options or self.options
        if self._text_index is None or self._text_embedder is None or not _wants(kinds, DOC_KINDS):
            return []
        qvec = self._text_embedder.embed_text([query])[0]
        k = o.candidates if window is None and kinds is None else self._text_index.size
        terms = tokenize(query)
        hits = [
            self._doc_hit(self._docs[self._doc_pos[i]], "text", score, terms, o)
            for i, score in self._text_index.search(qvec, k)
            if i in self._doc_pos and score > o.min_text_score
        ]
        return filter_window(filter_kinds(hits, kinds), window)[: o.candidates]

    def rank_bm25(
        self,
        query: str,
        *,
        kinds: Collection[HitKind] | None = None,
        window: TimeSpan | None = None,
        options: SearchOptions | None = None,
    ) -> list[Hit]:
        """BM25 ranking over the clip documents' texts and their kinds (only documents sharing a query word)."""
        o = options or self.options
        if not self._docs or not _wants(kinds, DOC_KINDS):
            return []
        allowed = np.array(
            [(kinds is None or d.kind in kinds) and (window is None or in_window(d.span, window)) for d in self._docs]
        )
        terms = tokenize(query)
        index = self._doc_bm25 if o.bm25 == self.options.bm25 else BM25Index(self._doc_words, options=o.bm25)
        return [
            self._doc_hit(self._docs[i], "bm25", score, terms, o)
            for i, score in index.top(terms, o.candidates, allowed=allowed)
        ]

    def rank_frames(
        self,
        query: str,
        *,
        kinds: Collection[HitKind] | None = None,
        window: TimeSpan | None = None,
        options: SearchOptions | None = None,
    ) -> list[Hit]:
        """Text→image ranking of keyframes; a frame at t covers [t, t + sample period) of its clip."""
        o = options or self.options
        if self._frame_index is None or self._image_text is None or not _wants(kinds, ("frame",)):
            return []
        qvec = self._image_text.embed_text([query])[0]
        k = o.candidates if window is None else self._frame_index.size
        hits: list[Hit] = []
        for i, score in self._frame_index.search(qvec, k):
            t = self._frame_times.get(i)
            if t is None or score <= o.min_frame_score:
                continue
            span = TimeSpan(start_s=t, end_s=t + self.sample_period_s)
            if window is not None and not in_window(span, window):
                continue
            hits.append(
                Hit(source="frame", kind="frame", span=span, score=score,
                    clip=clip_index_at(self._clip_starts, t), frame_id=i)
            )  # fmt: skip
            if len(hits) >= o.candidates:
                break
        return self._with_tags(hits)

    # --- transcript ----------------------------------------------------------------------------

    def search_transcript(self, query: str, *, window: TimeSpan | None = None, top_k: int = 5) -> list[Utterance]:
        """The utterances that best match ``query`` (BM25), with where its words are said.

        Args:
            query: Words to find in the speech.
            window: Only utterances overlapping this span.
            top_k: Most utterances to return.

        Returns:
            Utterances best first, each with its ``score`` and, from word times, ``match``: the
            stretch where most of the query's words are said.
        """
        utterances, index = self._speech
        terms = tokenize(query)
        allowed = None if window is None else np.array([in_window(u.span, window) for u in utterances])
        return [
            utterances[i].model_copy(update={"score": score, "match": match_span(utterances[i].words, terms)})
            for i, score in index.top(terms, top_k, allowed=allowed)
        ]

    def speech_in(self, window: TimeSpan) -> list[Utterance]:
        """Every utterance overlapping ``window``, in time order, with word times."""
        rows = self.store.utterances(window.start_s, window.end_s, closed=True)
        labels = self._speakers
        return [_utterance(r, labels) for r in rows if in_window(_span(r.start_s, r.end_s), window)]

    # --- helpers -------------------------------------------------------------------------------

    def locate(self, hit: Hit, terms: Sequence[str]) -> Hit:
        """``hit`` with ``at``: the utterance, or the keyframes' stretch, inside its span that holds most of ``terms``.

        A clip can run for half a minute; answering "when" or citing evidence needs the few seconds that matter.
        ``terms`` are `tokenize` tokens (the query's, or an answer's once it is known); a line's words include the
        kinds of thing it holds (`search_words`: "phone number" for "Call 822-7294"), as its clip's document does. Hits
        of other kinds, or with none of the words inside, come back unchanged.
        """
        wanted = set(terms)
        if not wanted or hit.kind not in ("speech", "ocr"):
            return hit
        if hit.kind == "speech":
            best: tuple[int, TimeSpan] | None = None
            for u in self.speech_in(hit.span):
                found = len(set(search_words(u.text)) & wanted)
                if found and (best is None or found > best[0]):
                    best = (found, u.span)
            return hit if best is None else hit.model_copy(update={"at": best[1]})
        per_frame: dict[float, set[str]] = {}
        for line in self.store.ocr_lines(hit.span.start_s, hit.span.end_s):
            per_frame.setdefault(line.t_s, set()).update(search_words(line.text))
        scores = {t: len(words & wanted) for t, words in per_frame.items()}
        top = max(scores.values(), default=0)
        if not top:
            return hit
        times = [t for t, n in scores.items() if n == top]
        span = TimeSpan(start_s=min(times), end_s=min(hit.span.end_s, max(times) + self.sample_period_s))
        return hit.model_copy(update={"at": span})

    def _located(self, hit: Hit, terms: Sequence[str]) -> Hit:
        """``hit`` and its ``others`` located (`locate`), keeping only the others that hold one of ``terms``.

        A clip's other document found by the dense ranker alone may share no word with the query ("ROOM 890" for
        "the number to call"): shown beside the hit, it would only be one more line to read past.
        """
        wanted = set(terms)
        others = tuple(self.locate(x, terms) for x in hit.others if wanted & set(search_words(x.text)))
        return self.locate(hit, terms).model_copy(update={"others": others})

    @cached_property
    def _speakers(self) -> dict[int, str]:
        return self.store.speakers()

    @cached_property
    def _doc_words(self) -> list[list[str]]:
        """Each document's `search_words`, made once for every BM25 index built over them."""
        return [search_words(d.text) for d in self._docs]

    @cached_property
    def _doc_bm25(self) -> BM25Index:
        return BM25Index(self._doc_words, options=self.options.bm25)

    @cached_property
    def _speech(self) -> tuple[list[Utterance], BM25Index]:
        utterances = [_utterance(r, self._speakers) for r in self.store.utterances()]
        return utterances, BM25Index([search_words(u.text) for u in utterances], options=self.options.bm25)

    def _doc_hit(self, doc: _Doc, source: Literal["text", "bm25"], score: float, terms: list[str],
                 o: SearchOptions) -> Hit:  # fmt: skip
        return Hit(
            source=source, kind=doc.kind, span=doc.span, score=score, clip=doc.clip, doc_id=doc.id,
            text=snippet(doc.text, terms, width=o.snippet_chars),
        )  # fmt: skip

    def _with_tags(self, hits: list[Hit]) -> list[Hit]:
        """Frame hits with their keyframe's visual labels as text, when the tags layer exists."""
        if not hits:
            return hits
        tags = self.store.tags_of([h.frame_id for h in hits if h.frame_id is not None])
        labels = {fid: ", ".join(label for label, _ in found) for fid, found in tags.items()}
        return [h.model_copy(update={"text": labels.get(h.frame_id or -1, "")}) for h in hits]


def _wants(kinds: Collection[HitKind] | None, offered: Sequence[HitKind]) -> bool:
    return kinds is None or any(k in kinds for k in offered)


def _utterance(row: SpeechRow, speakers: dict[int, str]) -> Utterance:
    return Utterance(
        id=row.id, span=_span(row.start_s, row.end_s), text=row.text, words=row.words, speaker=speakers.get(row.id)
    )
