"""Search across the videos of a library: the rankers of one video's search, run on the library index.

FTS5's ``bm25()`` (exact words), dense text (clip documents) and text→frame rankings over every member at
once, fused by reciprocal rank per (video, clip) and spread out in time within each video. The index is
`vidscout.memory.library_index.LibraryIndex`; a hit names its video.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field

from vidscout.memory.library_index import IndexedVideo, LibraryIndex, split_id
from vidscout.models.base import ImageTextEmbedder, TextEmbedder
from vidscout.retrieval.hybrid import DOC_KINDS, SearchOptions
from vidscout.retrieval.search import Hit, HitKind, diversify, reciprocal_rank_fusion, snippet
from vidscout.text import tokenize
from vidscout.types import TimeSpan


class LibraryHit(Hit, frozen=True):
    """A search hit in one video of a library; ``doc_id`` and ``frame_id`` are ids in that video's store."""

    video: Path = Field(description="The video file.")
    video_name: str = Field(description="The video's name in the library.")
    video_key: str = Field(description="The content key of the video's database.")


def _video_key(hit: Hit) -> Hashable:
    """Fusion key: the clip of a video (documents and frames of one clip reinforce each other)."""
    row = hit.doc_id if hit.doc_id is not None else hit.frame_id
    slot = split_id(row)[0] if row is not None else -1
    return ("clip", slot, hit.clip) if hit.clip is not None else ("row", slot, row, hit.kind)


class LibrarySearcher:
    """Finds the clips of any video of a library that match a text query."""

    def __init__(
        self,
        index: LibraryIndex,
        *,
        text_embedder: TextEmbedder | None = None,
        image_text_embedder: ImageTextEmbedder | None = None,
        options: SearchOptions | None = None,
    ) -> None:
        """Search ``index`` (left open; the caller closes it) with the embedders its vectors were made by."""
        self.index = index
        self.options = options or SearchOptions()
        self._text_embedder = text_embedder
        self._image_text = image_text_embedder

    @property
    def videos(self) -> dict[int, IndexedVideo]:
        """The indexed videos by slot."""
        return self.index.videos

    def search(
        self,
        query: str,
        *,
        top_k: int = 8,
        kinds: Collection[HitKind] | None = None,
        options: SearchOptions | None = None,
    ) -> list[LibraryHit]:
        """The clips best matching ``query`` across the library, fused over every available ranker.

        Hits are spread out in time within each video (``options.min_gap_s``), never across videos.

        Args:
            query: Plain words.
            top_k: Most results to return.
            kinds: Evidence kinds to use (speech, ocr, visual, frame); None uses all.
            options: Ranking knobs for this call (default: the searcher's).
        """
        o = options or self.options
        if not query.strip():
            return []
        rankings: list[list[Hit]] = []
        weights: list[float] = []
        for weight, rank in ((o.text_weight, self.rank_text), (o.bm25_weight, self.rank_bm25),
                             (o.frame_weight, self.rank_frames)):  # fmt: skip
            if weight > 0:
                hits = rank(query, kinds=kinds, options=o)
                if hits:
                    rankings.append(hits)
                    weights.append(weight)
        fused = reciprocal_rank_fusion(rankings, k=o.rrf_k, weights=weights, key=_video_key)
        per_video: dict[int, list[Hit]] = {}
        for hit in fused:
            per_video.setdefault(_slot(hit), []).append(hit)
        kept = [h for hits in per_video.values() for h in diversify(hits, min_gap_s=o.min_gap_s, top_k=top_k)]
        kept.sort(key=lambda h: (-h.score, _slot(h), h.span.start_s))
        return [self._named(h) for h in kept[:top_k]]

    def rank_videos(self, query: str, *, top_k: int = 3, candidates: int = 20) -> list[tuple[IndexedVideo, float]]:
        """The videos whose clips match ``query`` best: each scored by the sum of its fused hits among the top."""
        scores: dict[Path, tuple[IndexedVideo, float]] = {}
        by_path = {v.path: v for v in self.videos.values()}
        for hit in self.search(query, top_k=candidates):
            video, total = scores.get(hit.video, (by_path[hit.video], 0.0))
            scores[hit.video] = (video, total + hit.score)
        return sorted(scores.values(), key=lambda vs: (-vs[1], vs[0].slot))[:top_k]

    # --- single rankers ------------------------------------------------------------------------

    def rank_bm25(
        self, query: str, *, kinds: Collection[HitKind] | None = None, options: SearchOptions | None = None
    ) -> list[Hit]:
        """FTS5 ``bm25()`` over every member's clip documents (only documents sharing a query word)."""
        o = options or self.options
        wanted = _doc_kinds(kinds)
        if not wanted:
            return []
        terms = tokenize(query)
        found = self.index.bm25(terms, o.candidates, kinds=None if kinds is None else wanted)
        return self._doc_hits(found, "bm25", terms, o)

    def rank_text(
        self, query: str, *, kinds: Collection[HitKind] | None = None, options: SearchOptions | None = None
    ) -> list[Hit]:
        """Dense text ranking: the query's embedding against every member's clip documents."""
        o = options or self.options
        index = self.index.text_index
        wanted = _doc_kinds(kinds)
        if index is None or self._text_embedder is None or not wanted:
            return []
        qvec = self._text_embedder.embed_text([query])[0]
        k = o.candidates if kinds is None else min(index.size, 8 * o.candidates)  # over-fetch: other kinds drop out
        found = [(i, s) for i, s in index.search(qvec, k) if s > o.min_text_score]
        hits = self._doc_hits(found, "text", tokenize(query), o)
        return [h for h in hits if h.kind in wanted][: o.candidates]

    def rank_frames(
        self, query: str, *, kinds: Collection[HitKind] | None = None, options: SearchOptions | None = None
    ) -> list[Hit]:
        """Text→image ranking of every member's keyframes; a frame at t covers [t, t + its sample period)."""
        o = options or self.options
        index = self.index.frame_index
        if index is None or self._image_text is None or (kinds is not None and "frame" not in kinds):
            return []
        qvec = self._image_text.embed_text([query])[0]
        found = [(i, s) for i, s in index.search(qvec, o.candidates) if s > o.min_frame_score]
        rows = self.index.frames([i for i, _ in found])
        hits: list[Hit] = []
        for i, score in found:
            row = rows.get(i)
            video = self.videos.get(row.slot) if row is not None else None
            if row is None or video is None:
                continue  # dropped by an update since the vectors were loaded
            span = TimeSpan(start_s=row.t_s, end_s=row.t_s + video.sample_period_s)
            hits.append(Hit(source="frame", kind="frame", span=span, score=score, clip=row.clip, frame_id=i,
                            text=row.tags))  # fmt: skip
        return hits

    # --- helpers ---------------------------------------------------------------------------------

    def _doc_hits(
        self, found: Sequence[tuple[int, float]], source: Literal["text", "bm25"], terms: list[str], o: SearchOptions
    ) -> list[Hit]:
        rows = self.index.docs([i for i, _ in found])
        hits: list[Hit] = []
        for i, score in found:
            row = rows.get(i)
            if row is None or row.kind not in DOC_KINDS or row.slot not in self.videos:
                continue
            hits.append(
                Hit(source=source, kind=row.kind,
                    span=TimeSpan(start_s=row.start_s, end_s=row.end_s), score=score, clip=row.clip, doc_id=i,
                    text=snippet(row.text, terms, width=o.snippet_chars))
            )  # fmt: skip
        return hits

    def _named(self, hit: Hit) -> LibraryHit:
        video = self.videos[_slot(hit)]
        local = {
            "doc_id": split_id(hit.doc_id)[1] if hit.doc_id is not None else None,
            "frame_id": split_id(hit.frame_id)[1] if hit.frame_id is not None else None,
            "others": tuple(
                x.model_copy(update={"doc_id": split_id(x.doc_id)[1] if x.doc_id is not None else None})
                for x in hit.others
            ),
        }
        named = {"video": video.path, "video_name": video.name, "video_key": video.key}
        return LibraryHit.model_validate({**dict(hit), **local, **named})


def _slot(hit: Hit) -> int:
    row = hit.doc_id if hit.doc_id is not None else hit.frame_id
    return split_id(row)[0] if row is not None else -1


def _doc_kinds(kinds: Collection[HitKind] | None) -> tuple[HitKind, ...]:
    return DOC_KINDS if kinds is None else tuple(k for k in DOC_KINDS if k in kinds)
