"""Speech recognition with faster-whisper (CTranslate2 conversions of OpenAI Whisper).

Measured on 7.1 s of espeak speech, 2 threads, int8 (MODELS.md §4): tiny.en loads in 0.4 s and
transcribes in 1.2 s at beam 5; base loads in 0.9 s and takes 1.7 s.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from vidscout.errors import BackendError, ConfigError
from vidscout.models._env import hub_hint, missing_package, prepare_runtime
from vidscout.models.base import SpeechSegment, Word
from vidscout.video.decode import SAMPLE_RATE

logger = logging.getLogger(__name__)


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
        vad_min_silence_ms: int = 2000,
        vad_pad_ms: int = 400,
        condition_on_previous_text: bool = False,
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
            vad_min_silence_ms: Pauses shorter than this stay inside one speech chunk (milliseconds).
            vad_pad_ms: Audio kept on each side of a speech chunk (milliseconds).
            condition_on_previous_text: Feed the previous window's text as the prompt of the next. Off by default:
                with it, Whisper skipped a sentence that repeated an earlier one (bench/asr_wer.py).
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
        self._vad = {"min_silence_duration_ms": vad_min_silence_ms, "speech_pad_ms": vad_pad_ms}
        self._condition = condition_on_previous_text
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
        segments, _info = self._model.transcribe(
            audio.astype(np.float32, copy=False),
            language=self._language,
            beam_size=self._beam_size,
            word_timestamps=True,
            vad_filter=self._vad_filter,
            vad_parameters=self._vad if self._vad_filter else None,
            condition_on_previous_text=self._condition,
        )
        out: list[SpeechSegment] = []
        for seg in segments:  # a lazy generator: decoding happens here
            words = tuple(
                Word(text=w.word.strip(), start_s=float(w.start), end_s=float(w.end), prob=float(w.probability))
                for w in seg.words or ()
            )
            out.append(
                SpeechSegment(
                    text=seg.text.strip(),
                    start_s=float(seg.start),
                    end_s=float(seg.end),
                    words=words,
                    avg_logprob=float(seg.avg_logprob),
                    no_speech_prob=float(seg.no_speech_prob),
                )
            )
        return out
