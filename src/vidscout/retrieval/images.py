"""Image-to-image search over one video's keyframes: where a picture appears, and every time it appears again.

Keyframe vectors (`vidscout.models.base.ImageEmbedder`, stored in ``images.faiss``) are compared with the
query picture's; matching keyframes in a row are one appearance (`group_appearances`, pure).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from vidscout.errors import ConfigError, StoreError
from vidscout.memory.index import VectorIndex
from vidscout.memory.store import LAYER_INDEXES, VideoStore
from vidscout.models.base import Image, ImageEmbedder
from vidscout.types import TimeSpan


class ImageSearchOptions(BaseModel, frozen=True):
    """Knobs of image search and recurrence finding."""

    min_score: float = Field(
        default=0.5, description="Keyframes under this cosine with a query picture are not matches (unrelated "
        "photos and film frames stay under ~0.53 with EfficientNet features; the same picture recropped and "
        "recompressed keeps 0.70 or more).",
    )  # fmt: skip
    same_picture: float = Field(
        default=0.8, description="Cosine with one of the shown shot's keyframes at which a keyframe shows the same "
        "picture or shot (Big Buck Bunny frames 1 s apart in one shot: median 0.82; a frame's best match over "
        "30 s away: median 0.65, 95th percentile 0.81; bench/visual_eval.py measures the counts).",
    )  # fmt: skip
    shot_window_s: float = Field(
        default=6.0, ge=0, description="The shown picture is the keyframes of its shot within this many seconds "
        "of the asked time: an insertion sampled at other instants than the first still meets one of them.",
    )  # fmt: skip
    join_gap: int = Field(
        default=1, ge=0, description="Matching keyframes of one shot with at most this many non-matching ones "
        "between them are one appearance (one frame of an occlusion or a flash does not split it).",
    )  # fmt: skip


class Appearance(BaseModel, frozen=True):
    """One stretch of consecutive keyframes showing the picture."""

    span: TimeSpan = Field(description="From the first matching keyframe to one sample period past the last.")
    score: float = Field(description="Best cosine of its keyframes with the query.")
    frames: int = Field(description="How many keyframes of it match.")
    best_t_s: float = Field(description="Time of its best-matching keyframe.")


class ImageSearcher:
    """Finds where a picture appears among one video's keyframes; open with `ImageSearcher.open`."""

    def __init__(
        self,
        store: VideoStore,
        index: VectorIndex,
        embedder: ImageEmbedder,
        *,
        times: dict[int, float],
        shot_starts: Sequence[float],
        sample_period_s: float,
        options: ImageSearchOptions,
    ) -> None:
        self.store = store
        self.options = options
        self.sample_period_s = sample_period_s
        self._index = index
        self._embedder = embedder
        self._times = times
        self._order = sorted(times, key=lambda i: times[i])
        self._position = {fid: n for n, fid in enumerate(self._order)}
        self._shot_starts = list(shot_starts)

    @classmethod
    def open(
        cls, store: VideoStore, embedder: ImageEmbedder, *, options: ImageSearchOptions | None = None
    ) -> ImageSearcher:
        """Load the keyframe vectors of an ingested store.

        Raises:
            StoreError: The store has no image vectors (ingested by an older vidscout), or its FAISS file is
                missing or out of step; ``vidscout ingest VIDEO`` builds it.
            ConfigError: The vectors were made by an embedder of another dimension.
        """
        state = store.layer("image_vectors")
        file, table = LAYER_INDEXES["image_vectors"]
        if state is None or not state.done:
            raise StoreError(f"{store.root} has no image vectors yet; run `vidscout ingest VIDEO` to add them.")
        path = store.root / file
        rows = store.count(table)
        if not path.exists() or (index := VectorIndex.load(path)).size != rows:
            raise StoreError(f"{path} is missing or out of step with its rows; `vidscout ingest VIDEO` rebuilds it.")
        if index.size and index.dim != embedder.dim:
            raise ConfigError(
                f"{file} holds {index.dim}-d vectors but the {embedder.name!r} image embedder makes {embedder.dim}-d "
                "ones; search with the models the video was ingested with, or re-ingest it."
            )
        times = store.frame_times()
        scan = store.layer("scan")
        every = scan.params.get("every") if scan else None
        period = float(every) if isinstance(every, int | float) and every > 0 else 2.0
        shots = [s.span.start_s for s in store.segments("shot")]
        return cls(store, index, embedder, times=times, shot_starts=shots, sample_period_s=period,
                   options=options or ImageSearchOptions())  # fmt: skip

    @property
    def size(self) -> int:
        """Keyframes indexed."""
        return self._index.size

    def search(self, image: Image, *, top_k: int = 5, min_score: float | None = None) -> list[Appearance]:
        """The appearances that best match ``image`` (an RGB frame), best first."""
        vec = self._embedder.embed_images([image])[0]
        floor = self.options.min_score if min_score is None else min_score
        found = sorted(self.appearances(vec, min_score=floor), key=lambda a: (-a.score, a.span.start_s))
        return found[:top_k]

    def vectors_at(self, t_s: float) -> tuple[float, NDArray[np.float32]]:
        """The keyframe nearest to ``t_s`` (its time) and the stored vectors of the picture shown there.

        Those are the vectors of its shot's keyframes within ``options.shot_window_s`` of it, shape (k, dim).

        Raises:
            StoreError: The video has no keyframes (or no vectors for them).
        """
        if not self._order:
            raise StoreError(f"{self.store.root} has no keyframes; run `vidscout ingest VIDEO`.")
        fid = min(self._order, key=lambda i: (abs(self._times[i] - t_s), self._times[i]))
        t = self._times[fid]
        shot = bisect.bisect_right(self._shot_starts, t) - 1
        near = [
            i for i in self._order
            if abs(self._times[i] - t) <= self.options.shot_window_s
            and bisect.bisect_right(self._shot_starts, self._times[i]) - 1 == shot
        ]  # fmt: skip
        vecs = self.store.image_vectors_of(near)
        if not vecs:
            raise StoreError(f"{self.store.root} has no image vector for the keyframe at {t:.1f} s.")
        return t, np.stack(vecs)

    def appearances(self, vecs: NDArray[np.float32], *, min_score: float) -> list[Appearance]:
        """Every appearance of a picture, in time order: keyframes within ``min_score`` cosine of a row of ``vecs``.

        ``vecs`` is one vector (dim,) or several views of the picture (k, dim); a keyframe's score is its best.
        """
        by_frame: dict[int, float] = {}
        for vec in np.atleast_2d(vecs):
            for i, s in self._index.search(vec, self._index.size):
                if s >= min_score and i in self._times:
                    by_frame[i] = max(by_frame.get(i, s), s)
        matched = sorted(((self._position[i], s) for i, s in by_frame.items()), key=lambda x: x[0])
        times = [self._times[self._order[p]] for p, _ in matched]
        shots = [bisect.bisect_right(self._shot_starts, t) - 1 for t in times]
        runs = group_appearances([p for p, _ in matched], shots, join_gap=self.options.join_gap)
        out: list[Appearance] = []
        for run in runs:
            scores = [matched[k][1] for k in run]
            best = run[int(np.argmax(scores))]
            out.append(
                Appearance(
                    span=TimeSpan(start_s=times[run[0]], end_s=times[run[-1]] + self.sample_period_s),
                    score=round(float(max(scores)), 4),
                    frames=len(run),
                    best_t_s=times[best],
                )
            )
        return out


def group_appearances(positions: Sequence[int], shots: Sequence[int], *, join_gap: int = 1) -> list[list[int]]:
    """Group matching keyframes (their positions in time order, ascending) into appearances.

    A keyframe continues the current appearance when it directly follows the last one, or when it is in the
    same shot with at most ``join_gap`` non-matching keyframes between; otherwise it starts a new one.
    Returns lists of indices into ``positions``.
    """
    runs: list[list[int]] = []
    for k, pos in enumerate(positions):
        if runs:
            last = runs[-1][-1]
            gap = pos - positions[last] - 1
            if gap == 0 or (gap <= join_gap and shots[k] == shots[last]):
                runs[-1].append(k)
                continue
        runs.append([k])
    return runs


def read_image(path: Path) -> Image:
    """An image file as an RGB uint8 array.

    Raises:
        ConfigError: The file is missing or not an image OpenCV can read.
    """
    if not path.is_file():
        raise ConfigError(f"No image file at {path}.")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ConfigError(f"{path} is not an image OpenCV can read (JPEG, PNG, WebP, BMP, TIFF ...).")
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
