"""Speech recognition with faster-whisper (CTranslate2 conversions of OpenAI Whisper).

Measured on 7.1 s of espeak speech, 2 threads, int8 (MODELS.md §4): tiny.en loads in 0.4 s and
transcribes in 1.2 s at beam 5; base loads in 0.9 s and takes 1.7 s.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from vidscout.errors import BackendError, ConfigError
from vidscout.models._env import hub_hint, missing_package, prepare_runtime
from vidscout.models.base import SpeechSegment, Word
from vidscout.video.decode import SAMPLE_RATE

logger = logging.getLogger(__name__)

MAX_COMPRESSION = 2.4
"""Whisper's own test for a decode stuck in a loop: its text compresses (gzip) more than this. With the temperature
fallback, faster-whisper decodes a looping window again by sampling from a generator it cannot seed, and keeps the
best-scoring decode when all of them loop or score low: on 6 s of Big Buck Bunny's soundtrack that stored "Hmmmm..."
in some runs and nothing in others. Without the fallback, the temperature-0 decode (a loop of "m", compression 31.9)
is the only one: it is dropped here, and the speech chunks it covered are decoded again on their own, where a loop
over real speech usually comes out right (`FasterWhisperASR.transcribe`)."""


class FasterWhisperASR:
    """The `ASR` protocol over a faster-whisper model directory (or a hub name, where a hub exists)."""

    def __init__(
        self,
        model: str | Path,
        *,
        name: str = "faster-whisper",
        threads: int = 2,
        beam_size: int = 5,
        language: str | None = None,
        vad_filter: bool = True,
        vad_threshold: float = 0.5,
        vad_min_silence_ms: int = 2000,
        vad_pad_ms: int = 400,
        vad_gap_ms: int = 500,
        condition_on_previous_text: bool = False,
        fallback: bool = False,
        max_compression: float | None = MAX_COMPRESSION,
        offline: bool = True,
    ) -> None:
        """Load the model.

        Args:
            model: A CTranslate2 model directory, or a faster-whisper size/hub name ("small").
            name: The spec this backend was built from (shown in listings and traces).
            threads: CPU threads for CTranslate2.
            beam_size: Beam width; 5 fixes mishearings that greedy decoding makes on tiny.en.
            language: ISO code, or None to detect (English-only models ignore it).
            vad_filter: Skip non-speech with Silero VAD; timestamps still refer to the input audio.
            vad_threshold: Silero's speech probability a frame needs to start a speech chunk (it ends below this
                less 0.15). Speech quieter than the footage around it can stay under 0.5.
            vad_min_silence_ms: Pauses shorter than this stay inside one speech chunk (milliseconds).
            vad_pad_ms: Audio kept on each side of a speech chunk (milliseconds).
            vad_gap_ms: Silence put between speech chunks when they are joined for decoding (milliseconds). Joined
                back to back (faster-whisper's own VAD path), the first word after a join was often timed at the
                end of the chunk before it, seconds from where it is said.
            condition_on_previous_text: Feed the previous window's text as the prompt of the next. Off by default:
                with it, Whisper skipped a sentence that repeated an earlier one (bench/asr_wer.py).
            fallback: Decode a window again at rising temperatures when its text loops or scores low (Whisper's
                own default). Off by default: those decodes sample from a random generator that faster-whisper
                cannot seed, so the same audio gave different words from run to run (see `MAX_COMPRESSION`).
            max_compression: Drop a segment whose text compresses more than this (gzip), a loop rather than
                speech; None keeps every segment.
            offline: Forbid hub downloads (True for packaged weights).
        """
        t0 = time.perf_counter()
        prepare_runtime(offline=offline)
        try:
            from faster_whisper import WhisperModel
        except ImportError as e:
            raise missing_package("faster-whisper", "faster-whisper") from e
        self.name = name
        self._beam_size = beam_size
        self._language = language
        self._vad_filter = vad_filter
        if not 0.0 < vad_threshold < 1.0:
            raise ConfigError(f"vad_threshold must lie between 0 and 1, got {vad_threshold}")
        self._vad_threshold = vad_threshold
        self._min_silence_ms = vad_min_silence_ms
        self._pad = int(max(0, vad_pad_ms) * SAMPLE_RATE / 1000)
        self._gap = int(max(0, vad_gap_ms) * SAMPLE_RATE / 1000)
        self._condition = condition_on_previous_text
        self._temperatures = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0) if fallback else (0.0,)
        self._max_compression = max_compression
        try:
            self._model = WhisperModel(
                str(model), device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=offline
            )
        except Exception as e:  # CTranslate2 and the hub client raise many unrelated types
            raise BackendError(f"Could not load Whisper model {str(model)!r}: {e}.{hub_hint()}") from e
        logger.info("Loaded %s in %.2f s", name, time.perf_counter() - t0)

    def transcribe(self, audio: NDArray[np.float32]) -> list[SpeechSegment]:
        """Transcribe mono 16 kHz float32 audio; times are seconds from the first sample.

        Raises:
            ConfigError: ``audio`` is not a 1-D float array.
        """
        if audio.ndim != 1:
            raise ConfigError(f"ASR expects mono audio of shape (n,), got {audio.shape}; downmix first.")
        if audio.size < SAMPLE_RATE // 10:  # under 0.1 s: nothing to recognise, and VAD would warn
            return []
        spans = [_Span(at=0, size=audio.size, origin=0, speech=(0, audio.size))]
        decoded = audio.astype(np.float32, copy=False)
        if not self._vad_filter:
            return self._decode(decoded, spans, self._language)[0]
        joined, spans = self._speech_only(decoded)
        if not spans:
            return []
        out, language, loops = self._decode(joined, spans, self._language)
        # Whisper sometimes ends a window early and skips the speech left in it, or loops on it (the loop is dropped,
        # `MAX_COMPRESSION`): chunks no word came from, and chunks a dropped loop covered, are decoded again, on their
        # own, in groups that fit one window (`WINDOW_S`). Words already heard in a chunk decoded again are dropped.
        starts = [w.start_s * SAMPLE_RATE for seg in out for w in seg.words]
        redo = [
            sp
            for sp in spans
            if not any(sp.speech[0] - 1 <= t <= sp.speech[1] + 1 for t in starts)
            or any(a < sp.at + sp.size and sp.at < b for a, b in loops)
        ]
        if redo:
            out = _without(out, [(sp.origin, sp.origin + sp.size) for sp in redo])
            again, again_spans = _join(decoded, [(sp.origin, sp.origin + sp.size, sp.speech) for sp in redo], self._gap)
            for group in _windows(again_spans, WINDOW_S * SAMPLE_RATE):
                first, last = group[0].at, group[-1].at + group[-1].size
                local = [replace(sp, at=sp.at - first) for sp in group]
                out += self._decode(again[first:last], local, language)[0]
            out.sort(key=lambda seg: seg.start_s)
        return out

    def _decode(
        self, audio: NDArray[np.float32], spans: list[_Span], language: str | None
    ) -> tuple[list[SpeechSegment], str | None, list[tuple[int, int]]]:
        """Whisper on ``audio``, times mapped to the input through ``spans``.

        Returns:
            The segments, the language decoded in, and the samples of ``audio`` (not of the input) that dropped
            loops covered.
        """
        segments, info = self._model.transcribe(
            audio,
            language=language,
            beam_size=self._beam_size,
            word_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=self._condition,
            temperature=self._temperatures,
        )
        out: list[SpeechSegment] = []
        loops: list[tuple[int, int]] = []
        for seg in segments:  # a lazy generator: decoding happens here
            if self._max_compression is not None and seg.compression_ratio > self._max_compression:
                logger.debug("Dropped a looping segment (compression %.1f): %.40r", seg.compression_ratio, seg.text)
                loops.append((int(seg.start * SAMPLE_RATE), int(seg.end * SAMPLE_RATE)))
                continue
            words = tuple(
                Word(text=w.word.strip(), start_s=a, end_s=b, prob=float(w.probability))
                for w in seg.words or ()
                for a, b in [_to_input(float(w.start), float(w.end), spans)]
            )
            start, end = (words[0].start_s, words[-1].end_s) if words else _to_input(seg.start, seg.end, spans)
            out.append(
                SpeechSegment(
                    text=seg.text.strip(),
                    start_s=start,
                    end_s=end,
                    words=words,
                    avg_logprob=float(seg.avg_logprob),
                    no_speech_prob=float(seg.no_speech_prob),
                )
            )
        return out, language or getattr(info, "language", None), loops

    def _speech_only(self, audio: NDArray[np.float32]) -> tuple[NDArray[np.float32], list[_Span]]:
        """The speech Silero VAD finds, padded, joined with `vad_gap_ms` of silence between chunks, and their spans.

        The VAD runs unpadded and the padding is added here, so each span knows where its speech starts and ends:
        Whisper times a chunk's first word at the chunk's start, inside the padding, often 0.3-0.5 s early.
        """
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        options = VadOptions(
            threshold=self._vad_threshold, min_silence_duration_ms=self._min_silence_ms, speech_pad_ms=0
        )
        raw = [(int(c["start"]), int(c["end"])) for c in get_speech_timestamps(audio, options)]
        pad = self._pad
        chunks: list[tuple[int, int, tuple[int, int]]] = []
        for i, (s, e) in enumerate(raw):
            lo = max(0, s - pad, (raw[i - 1][1] + s) // 2 if i else 0)
            hi = min(audio.size, e + pad, (e + raw[i + 1][0]) // 2 if i + 1 < len(raw) else audio.size)
            chunks.append((lo, hi, (s, e)))
        return _join(audio, chunks, self._gap)


def _join(
    audio: NDArray[np.float32], chunks: list[tuple[int, int, tuple[int, int]]], gap: int
) -> tuple[NDArray[np.float32], list[_Span]]:
    """``audio[lo:hi]`` of each chunk ``(lo, hi, speech)``, in order, with ``gap`` samples of silence between."""
    pieces: list[NDArray[np.float32]] = []
    spans: list[_Span] = []
    at = 0
    for lo, hi, speech in chunks:
        if pieces and gap:
            pieces.append(np.zeros(gap, np.float32))
            at += gap
        pieces.append(audio[lo:hi])
        spans.append(_Span(at=at, size=hi - lo, origin=lo, speech=speech))
        at += hi - lo
    return (np.concatenate(pieces) if pieces else audio[:0]), spans


def _without(segments: list[SpeechSegment], ranges: list[tuple[int, int]]) -> list[SpeechSegment]:
    """``segments`` less their words that start inside one of ``ranges`` (input samples); emptied ones go."""
    out: list[SpeechSegment] = []
    for seg in segments:
        words = tuple(w for w in seg.words if not any(a <= w.start_s * SAMPLE_RATE < b for a, b in ranges))
        if len(words) == len(seg.words):
            out.append(seg)
        elif words:
            out.append(seg.keeping(words))
    return out


WINDOW_S = 28.0
"""Most seconds of joined speech chunks decoded again in one call. Whisper reads 30-s windows and sometimes ends
one early, skipping the speech left in it: two of ten planted sentences lost after 75 s of a 150-s video, both
right when decoded again. Only chunks no word came from are decoded again: decoding every group on its own
changes the words of chunks that came out right (on two fresh seeds espeak WER went from 9.6 % and 24.2 % to
15.1 % and 30.3 %, though Whisper on 2 threads gives different words for the same audio run to run, so that
difference may be noise). Chunks are grouped whole, so a group fits one window unless a single chunk is longer."""


def _windows(spans: list[_Span], size: float) -> list[list[_Span]]:
    """``spans`` (in order) in runs whose joined audio, gaps included, is at most ``size`` samples."""
    groups: list[list[_Span]] = []
    for sp in spans:
        if groups and sp.at + sp.size - groups[-1][0].at <= size:
            groups[-1].append(sp)
        else:
            groups.append([sp])
    return groups


@dataclass(frozen=True)
class _Span:
    """One speech chunk: where it sits in the decoded audio, where in the input, and its unpadded speech there."""

    at: int  # first sample in the decoded audio
    size: int
    origin: int  # first sample in the input
    speech: tuple[int, int]  # the VAD's speech, in input samples


def _to_input(start_s: float, end_s: float, spans: list[_Span]) -> tuple[float, float]:
    """Map a word's times in the decoded audio to the input's.

    A word that ends in a chunk's speech goes to that chunk. Whisper's alignment gives a pause to the word after
    it, so the short first word of a chunk ("Our", "The") often starts back in the chunk before, across the silence
    joined between them, and mostly lies there. Any other word goes to the chunk holding most of it (the nearest
    one when it lies in a gap between chunks). It is clamped to that chunk's speech, so no word is timed in the
    silence or the padding around it.
    """
    a, b = start_s * SAMPLE_RATE, max(start_s, end_s) * SAMPLE_RATE
    ending = [sp for sp in spans if sp.at + sp.speech[0] - sp.origin < b <= sp.at + sp.speech[1] - sp.origin]
    # Else the overlap with a chunk, or minus the distance to it when they do not overlap.
    span = ending[0] if ending else max(spans, key=lambda sp: min(b, sp.at + sp.size) - max(a, sp.at))
    lo, hi = span.speech
    a, b = (min(max(span.origin + x - span.at, lo), hi) for x in (a, b))
    return a / SAMPLE_RATE, b / SAMPLE_RATE
