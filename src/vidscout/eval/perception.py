"""Perception recall: how much of what a planted video says and shows reached its database.

Scores a store built from a `vidscout.media.planted.PlantedVideo` against the video's ground truth:
on-screen text recall and precision (per planted line, by words), speech word error rate per planted
line, utterance boundaries against the measured voice onsets and offsets, utterances that run across a
pause, and speaker diarization error. Used by ``bench/perception_recall.py`` and its tests.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Mapping, Sequence

from pydantic import BaseModel, Field

from vidscout.eval.metrics import word_error_rate
from vidscout.media.planted import PlantedVideo, SpokenLine
from vidscout.memory.diarize import score_diarization
from vidscout.memory.documents import ocr_blocks
from vidscout.memory.store import OcrLine, VideoStore
from vidscout.text import normalise_words

TEXT_READ_AT = 0.8
"""A planted line counts as read when this share of its words is read on some keyframe while it is shown."""


class TextScore(BaseModel, frozen=True):
    """On-screen text recall and precision over one video."""

    planted: int
    read: int = Field(description="Planted lines read (>= TEXT_READ_AT of their words on one keyframe).")
    word_recall: float = Field(description="Mean share of each planted line's words read, best keyframe.")
    blocks: int = Field(description="Text blocks read, counted once per keyframe.")
    correct_blocks: int = Field(description="Blocks whose words are mostly words of a line shown at that time.")
    footage_blocks: int = Field(
        default=0, description="Other blocks whose words are mostly words the same keyframe shows without the plants "
        "(the footage's own text: a sign, a logo). Counted only when that text is given to `score_text`."
    )  # fmt: skip
    missed: list[str] = Field(default_factory=list[str], description="Planted lines not read, with their style.")

    @property
    def recall(self) -> float:
        """Share of planted lines read."""
        return self.read / self.planted if self.planted else 1.0

    @property
    def precision(self) -> float:
        """Share of read blocks that belong to a planted line, of those that are not the footage's own text."""
        judged = self.blocks - self.footage_blocks
        return self.correct_blocks / judged if judged else 1.0

    @property
    def precision_all(self) -> float:
        """Share of all read blocks that belong to a planted line (the footage's own text counts against it)."""
        return self.correct_blocks / self.blocks if self.blocks else 1.0


class SpeechScore(BaseModel, frozen=True):
    """Speech recognition, segmentation and speaker labels over one video."""

    lines: int
    wer_by_kind: dict[str, float] = Field(description="Word error rate per speaker kind (espeak, librivox).")
    ref_words_by_kind: dict[str, int]
    onset_errors_s: list[float] = Field(description="|first word start - voice onset| per line.")
    offset_errors_s: list[float] = Field(description="|last word end - voice offset| per line.")
    across_pause: int = Field(description="Stored utterances that run across a pause longer than 1 s.")
    utterances: int
    der: float | None = Field(default=None, description="Diarization error rate; None without speaker labels.")
    speakers_true: int = 0
    speakers_found: int = 0

    @property
    def within_03(self) -> float:
        """Share of line boundaries (onsets and offsets) within 0.3 s of the truth."""
        errors = [*self.onset_errors_s, *self.offset_errors_s]
        return sum(e <= 0.3 for e in errors) / len(errors) if errors else 1.0


def words_read(plant: Sequence[str], blocks: Sequence[str]) -> float:
    """Share of a planted line's words (normalised) found among the words of ``blocks``."""
    got = {w for b in blocks for w in normalise_words(b)}
    return sum(w in got for w in plant) / len(plant) if plant else 1.0


def score_text(
    store: VideoStore,
    video: PlantedVideo,
    *,
    read: Callable[[int], list[str]] | None = None,
    footage: Mapping[int, Sequence[str]] | None = None,
) -> TextScore:
    """Score the store's OCR rows (or, with ``read``, another reader's blocks per keyframe id) against the plants.

    ``footage``: the blocks read on each keyframe (by id) of the same video built without its plants. A block read
    that is mostly their words, and not a planted line's, is the footage's own text: precision leaves it out.
    """
    frames = store.frames()
    if read is None:
        per_frame: dict[int, list[OcrLine]] = {}
        for line in store.ocr_lines():
            per_frame.setdefault(line.frame_id, []).append(line)
        blocks_of = {f.id: [t for t, _ in ocr_blocks(per_frame.get(f.id, []))] for f in frames}
    else:
        blocks_of = {f.id: read(f.id) for f in frames}
    plants = video.spec.texts
    read_n, recalls, missed = 0, [], []
    for p in plants:
        want = normalise_words(p.text)
        shown = [f for f in frames if p.start_s <= f.t_s < p.start_s + p.duration_s]
        best = max((words_read(want, blocks_of[f.id]) for f in shown), default=0.0)
        recalls.append(best)
        if best >= TEXT_READ_AT:
            read_n += 1
        else:
            style = f"{p.size_px}px {'boxed' if p.boxed else 'bare'} {'light' if p.light else 'dark'}"
            style += f"{' outlined' if p.outline else ''}{' crawl' if p.crawl else ''} {p.position}"
            missed.append(f"{p.text!r} ({style}, {p.duration_s:.1f} s, {len(shown)} keyframes, best {best:.2f})")
    total, correct, own = 0, 0, 0
    for f in frames:
        on_screen = [
            set(normalise_words(p.text)) for p in plants if p.start_s - 0.1 <= f.t_s < p.start_s + p.duration_s + 0.1
        ]
        native = [set(normalise_words(b)) for b in (footage or {}).get(f.id, ())]
        for block in blocks_of[f.id]:
            words = normalise_words(block)
            if not words:
                continue
            total += 1
            if any(_mostly(words, line) for line in on_screen):
                correct += 1
            elif any(_mostly(words, line) for line in native):
                own += 1
    return TextScore(planted=len(plants), read=read_n, word_recall=statistics.fmean(recalls) if recalls else 1.0,
                     blocks=total, correct_blocks=correct, footage_blocks=own, missed=missed)  # fmt: skip


def _mostly(words: Sequence[str], of: set[str]) -> bool:
    """Whether at least half of ``words`` are in ``of``."""
    return sum(w in of for w in words) / len(words) >= 0.5


def _kind(line: SpokenLine) -> str:
    return line.speaker.split(":", 1)[0]


def score_speech(store: VideoStore, video: PlantedVideo, *, pause_s: float = 1.0) -> SpeechScore:
    """Score the store's speech rows against the planted lines (words placed by their midpoints)."""
    utterances: list[tuple[float, float, list[tuple[str, float, float]]]] = []
    for u in store.utterances():
        words = [(w.text, w.start_s, w.end_s) for w in u.words]
        utterances.append((float(u.start_s), float(u.end_s), words))
    all_words = sorted((w for _, _, ws in utterances for w in ws), key=lambda w: w[1])
    lines = sorted(video.spoken, key=lambda s: s.onset_s)
    refs: dict[str, list[str]] = {}
    hyps: dict[str, list[str]] = {}
    onset_err: list[float] = []
    offset_err: list[float] = []
    for line in lines:
        said = [w for w in all_words if line.onset_s - 0.5 <= (w[1] + w[2]) / 2 <= line.offset_s + 0.5]
        refs.setdefault(_kind(line), []).append(line.text)
        hyps.setdefault(_kind(line), []).append(" ".join(w[0] for w in said))
        if said:
            onset_err.append(abs(said[0][1] - line.onset_s))
            offset_err.append(abs(said[-1][2] - line.offset_s))
        else:
            onset_err.append(float("inf"))
            offset_err.append(float("inf"))
    wer = {k: word_error_rate(" ".join(refs[k]), " ".join(hyps[k])) for k in refs}
    across = 0
    for start, end, words in utterances:
        touched = [ln for ln in lines if min(end, ln.offset_s) > max(start, ln.onset_s)]
        gaps = [b.onset_s - a.offset_s for a, b in itertools.pairwise(touched)]
        inner = [b[1] - a[2] for a, b in itertools.pairwise(words)]
        if any(g > pause_s for g in gaps) or any(g > pause_s for g in inner):
            across += 1
    der, found = None, 0
    labelled = store.speaker_turns()
    if labelled:
        hyp = [(a, b, k) for a, b, k in labelled]
        ref = [(ln.onset_s, ln.offset_s, ln.speaker) for ln in lines]
        der = score_diarization(ref, hyp).rate
        found = len({k for _, _, k in hyp})
    return SpeechScore(
        lines=len(lines), wer_by_kind={k: v.wer for k, v in wer.items()},
        ref_words_by_kind={k: v.ref_words for k, v in wer.items()}, onset_errors_s=onset_err,
        offset_errors_s=offset_err, across_pause=across, utterances=len(utterances), der=der,
        speakers_true=len({ln.speaker for ln in lines}), speakers_found=found,
    )  # fmt: skip
