"""faster-whisper (base, the embedded default, and tiny.en) on real espeak-ng speech."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.transcribe import get_compression_ratio
from numpy.typing import NDArray

from vidscout.errors import ConfigError
from vidscout.media.collection import short_videos
from vidscout.media.planted import PlantedSpec, build_planted, draw_perception_spec, speech_seconds
from vidscout.media.samples import espeak_wav
from vidscout.models.base import ASR, SpeechSegment, Word
from vidscout.models.registry import Backends, availability, make_asr
from vidscout.models.weights import WHISPER_BASE, assemble
from vidscout.models.whisper import (  # pyright: ignore[reportPrivateUsage]
    MAX_COMPRESSION,
    FasterWhisperASR,
    _Span,
    _to_input,
    _windows,
    _without,
)
from vidscout.settings import Settings
from vidscout.video.decode import load_audio


def test_transcribes_espeak_sentence_with_monotonic_word_times(backends: Backends, speech: NDArray[np.float32]) -> None:
    asr = backends.asr
    assert isinstance(asr, ASR) and asr.name == "faster-whisper:base"
    segments = asr.transcribe(speech)
    text = " ".join(s.text for s in segments).lower()
    for word in ("hello", "welcome", "video", "kitchen", "red", "door"):
        assert word in re.findall(r"[a-z]+", text), text
    words = [w for s in segments for w in s.words]
    assert len(words) >= 12
    starts = [w.start_s for w in words]
    assert starts == sorted(starts)
    assert all(w.start_s <= w.end_s for w in words)
    assert starts[0] >= 0.0 and words[-1].end_s <= len(speech) / 16_000 + 0.5
    kitchen = next(w for w in words if "kitchen" in w.text.lower())
    assert kitchen.start_s > 3.0  # the word is in the last sentence of ~7 s of audio


def test_silence_and_bad_shapes(backends: Backends) -> None:
    assert backends.asr.transcribe(np.zeros(800, np.float32)) == []
    with pytest.raises(ConfigError, match="mono"):
        backends.asr.transcribe(np.zeros((2, 16_000), np.float32))


def test_whisper_base_assembles_from_its_halves_and_transcribes(
    models_settings: Settings, speech: NDArray[np.float32]
) -> None:
    ok, reason = availability("faster-whisper:base")
    assert ok, reason  # the embedded extra ships it
    asr = make_asr("faster-whisper:base?beam_size=5&language=en", models_settings)
    model_dir = models_settings.weights_dir / "faster-whisper-base"
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "config.json", "model.bin", "model.bin.sha256-ok", "tokenizer.json", "vocabulary.txt",
    ]  # fmt: skip
    text = " ".join(s.text for s in asr.transcribe(speech)).lower()
    assert "kitchen" in text and "red door" in text


def test_a_quiet_reading_over_the_film_needs_a_lower_vad_threshold(
    models_settings: Settings, media_cache: Path
) -> None:
    # Seed 93700's first LibriVox line ("he was not an ill disposed young man", 39.7-42.6 s) is read more quietly than
    # the others over the same soundtrack: Silero's speech probability stays under 0.47 on it, so at the default
    # threshold (0.5) no chunk holds it and it is lost. At 0.35 it is heard. The default stays: on six fresh seeds
    # 0.35 gave no better WER (bench/results/asr_wer_vad_threshold.json).
    spec = draw_perception_spec(93700, texts=0, duration_s=150.0, bed="soundtrack", speech=0, librivox=5)
    video = build_planted(spec, media_cache / "asr_93700_librivox_soundtrack.mp4", cache=media_cache)
    audio = load_audio(video.path)[30 * 16_000 : 48 * 16_000]
    heard = {
        threshold: " ".join(s.text for s in make_asr(f"faster-whisper:base?vad_threshold={threshold}",
                                                     models_settings).transcribe(audio)).lower()
        for threshold in (0.5, 0.35)
    }  # fmt: skip
    assert "young man" not in heard[0.5] and "young man" in heard[0.35], heard
    for bad in ("1.5", "0", "loud"):
        with pytest.raises(ConfigError, match="vad_threshold"):
            make_asr(f"faster-whisper:tiny.en?vad_threshold={bad}", models_settings)


def test_tiny_en_still_loads_from_its_package(models_settings: Settings, speech: NDArray[np.float32]) -> None:
    asr = make_asr("faster-whisper:tiny.en", models_settings)
    text = " ".join(s.text for s in asr.transcribe(speech)).lower()
    assert "kitchen" in text


def test_the_first_word_after_a_long_silence_is_timed_where_it_is_said(backends: Backends, tmp_path: Path) -> None:
    # Three sentences 8-12 s apart in silence: the VAD cuts them into separate chunks. Each sentence's first word
    # must be timed at its own onset: not inside the chunk's padding (Whisper starts a chunk's first word at the
    # chunk's start), nor at the end of the chunk before it.
    sentences = [
        ("Yesterday the garden was green.", "en-us", 1.0),
        ("Unless the bridge opens, we wait here.", "en-gb", 12.5),
        ("Tomorrow we travel north by train.", "en-us+f3", 28.0),
    ]
    if shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None:
        pytest.skip("needs espeak-ng and ffmpeg (make system)")
    audio = np.zeros(int(36.0 * 16000), np.float32)
    onsets = []
    for k, (text, voice, at) in enumerate(sentences):
        clip = load_audio(espeak_wav(text, tmp_path / f"s{k}.wav", voice=voice))
        start = int(at * 16000)
        audio[start : start + clip.size] += clip
        onsets.append(at + int(np.argmax(np.abs(clip) > 0.02)) / 16000)  # espeak pads a little silence first
    words = [w for s in backends.asr.transcribe(audio) for w in s.words]
    for (text, _, _), onset in zip(sentences, onsets, strict=True):
        first = text.split()[0].lower()
        match = [w for w in words if w.text.lower().strip(".,") == first]
        assert match, (first, [w.text for w in words])
        assert abs(match[0].start_s - onset) <= 0.3, (first, match[0].start_s, onset)
    assert all(not (8.0 < w.start_s < 12.0) and not (18.0 < w.start_s < 27.5) for w in words)  # none in silence


def test_a_first_word_stretched_back_across_the_joined_silence_is_timed_in_its_own_chunk() -> None:
    # Two chunks as Whisper decoded them joined (seconds): speech 23.22-26.55 padded to 22.82-26.95, 0.5 s of
    # silence, speech 27.85-31.75 padded to 27.45-32.15; in the input the second speech starts at 85.48 s. Whisper
    # timed "Our", the second sentence's first word, at 26.32-27.98: mostly in the first chunk, ending in the second
    # chunk's speech (espeak-ng, seed 563842; heard so on 4 of 10 sentences of that video).
    rate = 16_000

    def chunk(at: float, size: float, origin: float, speech: tuple[float, float]) -> _Span:
        return _Span(at=round(at * rate), size=round(size * rate), origin=round(origin * rate),
                     speech=(round(speech[0] * rate), round(speech[1] * rate)))  # fmt: skip

    spans = [chunk(22.82, 4.13, 76.19, (76.59, 79.92)), chunk(27.45, 4.70, 85.08, (85.48, 89.38))]
    start, end = _to_input(26.32, 27.98, spans)
    assert start == pytest.approx(85.48) and end == pytest.approx(85.61)
    assert _to_input(26.12, 26.32, spans) == pytest.approx((79.49, 79.69))  # "'clock.", the first chunk's last word
    assert _to_input(26.40, 26.90, spans) == pytest.approx((79.77, 79.92))  # ending in its padding: clamped
    assert _to_input(27.05, 27.25, spans) == pytest.approx((79.92, 79.92))  # in the gap, nearer the first chunk


def test_joined_speech_longer_than_a_window_loses_no_sentence(
    backends: Backends, media_cache: Path, tmp_path: Path
) -> None:
    # Ten planted lines (espeak voices and a LibriVox reader) over silence: 46 s of joined speech. Decoded as one
    # stream, Whisper ended its second window early and the last two sentences (79 s and 91 s) never came out.
    spec = draw_perception_spec(543820, size=(640, 360), duration_s=150.0).model_copy(update={"texts": []})
    video = build_planted(spec, media_cache / "speech_543820.mp4", cache=media_cache).path
    audio = load_audio(video)
    spans = backends.asr._speech_only(audio)[1]  # pyright: ignore[reportAttributeAccessIssue]
    assert (spans[-1].at + spans[-1].size) / 16_000 > 30.0  # more than one window of joined speech
    _every_line_heard(spec, [w for s in backends.asr.transcribe(audio) for w in s.words])


def test_speech_chunks_are_grouped_whole_into_windows() -> None:
    spans = [_Span(at=at, size=size, origin=0, speech=(0, 1)) for at, size in [(0, 10), (15, 10), (30, 40), (75, 5)]]
    assert [[sp.at for sp in g] for g in _windows(spans, 30)] == [[0, 15], [30], [75]]  # the 40 stays whole
    assert _windows([], 30) == []


def test_speech_under_a_dropped_loop_is_decoded_again(backends: Backends, media_cache: Path) -> None:
    # Ten espeak sentences over Big Buck Bunny's soundtrack. Decoded at temperature 0 with the chunks before it,
    # the chunk from 62 to 77 s gave one good sentence and then a loop (compression 15.6); the sentence at 73.8 s
    # was lost with the dropped loop until the chunks a loop covered were decoded again on their own.
    spec = draw_perception_spec(80113, texts=0, duration_s=150.0, bed="soundtrack", speech=10, librivox=0)
    video = build_planted(spec, media_cache / "asr_80113_espeak_soundtrack.mp4", cache=media_cache).path
    segments = backends.asr.transcribe(load_audio(video))
    words = [w for s in segments for w in s.words]
    _every_line_heard(spec, words)
    assert all(get_compression_ratio(s.text) <= MAX_COMPRESSION for s in segments)
    starts = [w.start_s for w in words]
    assert starts == sorted(starts)
    assert len({(w.text, w.start_s) for w in words}) == len(words)  # no word kept twice


def test_words_in_chunks_decoded_again_are_dropped_before() -> None:
    words = tuple(Word(text=t, start_s=a, end_s=a + 0.3) for t, a in [("one", 1.0), ("two", 2.0), ("o", 5.0),
                                                                      ("'clock", 5.3), ("three", 9.0)])  # fmt: skip
    seg = SpeechSegment(text="One two o'clock three", start_s=1.0, end_s=9.3, words=words)
    alone = SpeechSegment(text="Gone.", start_s=3.0, end_s=3.5, words=(Word(text="Gone.", start_s=3.0, end_s=3.5),))
    kept = _without([seg, alone], [(int(1.5 * 16_000), int(4.0 * 16_000)), (int(8.0 * 16_000), int(10.0 * 16_000))])
    assert [(s.text, s.start_s, s.end_s, [w.text for w in s.words]) for s in kept] == [
        ("one o'clock", 1.0, 5.6, ["one", "o", "'clock"])
    ]
    assert _without([seg], []) == [seg]


def test_a_looping_decode_is_dropped_and_the_same_audio_gives_the_same_words(
    models_settings: Settings, media_cache: Path
) -> None:
    # Big Buck Bunny's soundtrack in the library tests' first video, one speech chunk of noise (3.5-6 s). With the
    # temperature fallback, faster-whisper sampled decodes from an unseeded generator and kept one at random: CI's
    # library test stored a "Hmmmmmmmmmmmmmm" utterance on one run and nothing on another. At temperature 0 this
    # machine hears a loop of "m" there (compression 31.9); with the audio moved by 1e-4 of noise, a loop or nothing,
    # so which one another CPU hears is not asserted: whatever it is, the same every time and never a loop.
    audio = load_audio(short_videos(media_cache, media_cache / "library" / "short6", count=10, seconds=6.0)[0])
    model_dir = assemble(WHISPER_BASE, models_settings.weights_dir).parent
    kept = FasterWhisperASR(model_dir, max_compression=None).transcribe(audio)
    asr = make_asr("faster-whisper:base", models_settings)
    heard = [asr.transcribe(audio) for _ in range(3)]
    assert heard[1:] == heard[:1] * 2, heard
    assert heard[0] == [s for s in kept if get_compression_ratio(s.text) <= MAX_COMPRESSION], (heard[0], kept)


def _every_line_heard(spec: PlantedSpec, words: list[Word]) -> None:
    """At least three words heard within 0.5 s of each planted line."""
    for line in spec.speech:
        start, end = line.start_s, line.start_s + speech_seconds(line)
        heard = [w.text for w in words if start - 0.5 <= w.start_s <= end + 0.5]
        assert len(heard) >= 3, (line.text, start, end, heard)
