from __future__ import annotations

import hashlib
import json
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.assetgen import read_index
from vidscout.errors import ConfigError, MediaError
from vidscout.media.samples import (
    BBB_SHA256,
    BBB_SIZE_BYTES,
    VTEST_AVI,
    bad_inputs,
    big_buck_bunny,
    concat_with_known_cuts,
    espeak_wav,
    librivox_clips,
    long_video,
    speaker_mixture,
    speech_video,
    vtest,
)
from vidscout.video.decode import SAMPLE_RATE, frames_at, keyframe_times, load_audio, probe, scan


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("samples")


@pytest.fixture(scope="module")
def vtest_avi(media_cache: Path) -> Path:
    return vtest(media_cache)


@pytest.fixture(scope="module")
def bad(built: Path) -> dict[str, Path]:
    return bad_inputs(built / "bad")


def _wav_duration_s(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def _rms(audio: np.ndarray, start_s: float, end_s: float) -> float:
    x = audio[int(start_s * SAMPLE_RATE) : int(end_s * SAMPLE_RATE)]
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_librivox_clips_pair_each_wav_with_its_transcript() -> None:
    clips = librivox_clips()
    assert len(clips) == 5
    wav, text = clips[1]
    assert wav.name == "sense_and_sensibility_01_austen_64kb-0880.wav"
    assert text == "he was not an ill disposed young man"
    assert all(p.is_file() and t and "<s>" not in t for p, t in clips)


def test_missing_system_data_names_the_apt_package(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="apt-get install pocketsphinx-testdata"):
        librivox_clips(tmp_path)
    with pytest.raises(MediaError, match="apt-get install opencv-doc"):
        vtest(tmp_path / "cache", source=tmp_path / "vtest.avi")


def test_vtest_is_a_cached_copy_of_the_debian_file(vtest_avi: Path) -> None:
    assert vtest_avi.stat().st_size == VTEST_AVI.stat().st_size
    info = probe(vtest_avi)
    assert (info.width, info.height, info.fps) == (768, 576, 10.0)
    assert info.duration_s == pytest.approx(79.5, abs=0.1)


def test_big_buck_bunny_is_fetched_verified_and_cached(media_cache: Path) -> None:
    path = big_buck_bunny(media_cache)
    assert path.stat().st_size == BBB_SIZE_BYTES
    assert hashlib.sha256(path.read_bytes()).hexdigest() == BBB_SHA256
    info = probe(path)
    assert info.duration_s == pytest.approx(596.46, abs=0.1)
    assert (info.width, info.height, info.fps) == (1280, 720, 24.0)
    assert info.has_audio and info.audio_codec == "aac"
    mtime = path.stat().st_mtime_ns
    assert big_buck_bunny(media_cache) == path
    assert path.stat().st_mtime_ns == mtime


def test_concat_cuts_fall_exactly_where_claimed_and_off_keyframes(indexed_video: Path, built: Path) -> None:
    # The indexed video shows its frame number, so every output frame's origin can be checked.
    pieces = [(indexed_video, 1.0, 2.0), (indexed_video, 5.0, 1.5), (indexed_video, 2.5, 1.0)]
    out, cuts = concat_with_known_cuts(pieces, built / "cuts.mp4", size=(320, 240), fps=24, gop=250)
    assert cuts == [2.0, 3.5]
    info = probe(out)
    assert info.n_frames == 108
    assert info.duration_s == pytest.approx(4.5, abs=0.01)
    assert (info.width, info.height, info.video_codec) == (320, 240, "h264")
    assert not info.has_audio
    assert keyframe_times(out) == [0.0]  # no keyframe at either cut
    frames = frames_at(out, [(k + 0.5) / 24 for k in range(108)])
    expected = list(range(24, 72)) + list(range(120, 156)) + list(range(60, 84))
    assert [read_index(f) for f in frames] == expected


def test_concat_is_cached_by_its_parameters(indexed_video: Path, built: Path) -> None:
    pieces = [(indexed_video, 0.0, 0.5), (indexed_video, 8.0, 0.5)]
    out, cuts = concat_with_known_cuts(pieces, built / "cached.mp4", size=(160, 120), fps=24)
    mtime = out.stat().st_mtime_ns
    assert concat_with_known_cuts(pieces, out, size=(160, 120), fps=24) == (out, cuts)
    assert out.stat().st_mtime_ns == mtime
    _, cuts25 = concat_with_known_cuts(pieces, out, size=(160, 120), fps=25)
    assert out.stat().st_mtime_ns != mtime
    assert cuts25 == [0.52]  # 0.5 s rounds to 13 frames at 25 fps
    assert probe(out).fps == 25.0


def test_concat_with_audio_keeps_source_sound_and_fills_silence(
    bad: dict[str, Path], vtest_avi: Path, built: Path
) -> None:
    pieces = [(bad["unicode_path"], 0.0, 2.0), (vtest_avi, 10.0, 1.0)]
    out, cuts = concat_with_known_cuts(pieces, built / "audio.mp4", size=(320, 180), fps=25, audio=True)
    assert cuts == [2.0]
    info = probe(out)
    assert info.has_audio and info.audio_codec == "aac"
    audio = load_audio(out)
    assert len(audio) / SAMPLE_RATE == pytest.approx(3.0, abs=0.05)
    assert _rms(audio, 0.2, 1.8) > 0.01  # LibriVox speech from the first piece
    assert _rms(audio, 2.1, 2.9) < 1e-3  # vtest.avi has no audio: silence


def test_concat_rejects_pieces_outside_the_source(indexed_video: Path, built: Path) -> None:
    with pytest.raises(ConfigError, match="inside the source"):
        concat_with_known_cuts([(indexed_video, 9.0, 2.0)], built / "x.mp4")


def test_speech_video_places_clips_at_the_returned_times(indexed_video: Path, built: Path) -> None:
    clips = librivox_clips()[:2]
    out, segments = speech_video(indexed_video, clips, built / "speech.mp4", gap_s=1.0, lead_s=0.5, size=(320, 240))
    durations = [_wav_duration_s(p) for p, _ in clips]
    assert [text for _, _, text in segments] == [text for _, text in clips]
    assert segments[0][0] == 0.5
    for (start, end, _), dur in zip(segments, durations, strict=True):
        assert end - start == pytest.approx(dur, abs=1e-6)
    assert segments[1][0] == pytest.approx(segments[0][1] + 1.0)

    sidecar = json.loads((built / "speech.mp4.json").read_text(encoding="utf-8"))
    assert [(s["start_s"], s["end_s"], s["text"]) for s in sidecar["segments"]] == segments

    info = probe(out)
    total = segments[-1][1] + 1.0
    assert info.duration_s == pytest.approx(total, abs=1 / 24 + 1e-6)
    assert info.audio_codec == "aac"
    audio = load_audio(out)
    for start, end, _ in segments:
        assert _rms(audio, start + 0.1, end - 0.1) > 0.02
    for start, end in [(0.0, 0.4), (segments[0][1] + 0.1, segments[1][0] - 0.1)]:
        assert _rms(audio, start, end) < 1e-3
    # The 10 s footage is looped: 11 s into the output shows frame 1 s (24) of the footage again.
    assert read_index(frames_at(out, [11.0 + 0.5 / 24])[0]) == 24


def test_espeak_wav_is_16khz_mono_speech(built: Path) -> None:
    out = espeak_wav("The red car turns left at the bridge.", built / "espeak.wav")
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16_000, 1, 2)
    assert 1.0 < _wav_duration_s(out) < 6.0
    assert _rms(load_audio(out), 0.0, 10.0) > 0.01


def test_long_video_loops_h264_by_stream_copy(indexed_video: Path, built: Path) -> None:
    out = long_video(indexed_video, 0.25, built / "long.mp4")
    info = probe(out)
    assert info.duration_s >= 15.0
    assert info.video_codec == "h264"
    assert json.loads((built / "long.mp4.json").read_text(encoding="utf-8"))["stream_copy"] is True
    # 12 s into the output is 2 s (frame 48) into the second pass over the 10 s source.
    assert read_index(frames_at(out, [12.0 + 0.5 / 24])[0]) == 48


def test_long_video_reencodes_what_mp4_cannot_hold(vtest_avi: Path, built: Path) -> None:
    out = long_video(vtest_avi, 0.03, built / "long_vtest.mp4")
    info = probe(out)
    assert info.video_codec == "h264"
    assert info.duration_s >= 1.8
    assert json.loads((built / "long_vtest.mp4.json").read_text(encoding="utf-8"))["stream_copy"] is False


def test_bad_inputs_have_the_described_properties(bad: dict[str, Path]) -> None:
    assert set(bad) == {
        "corrupt",
        "truncated",
        "zero_length",
        "audio_only",
        "video_no_audio",
        "not_video",
        "unicode_path",
    }
    assert all(p.is_file() for p in bad.values())

    good = bad["unicode_path"]
    assert " " in good.name and "é" in good.name and "🎬" in good.name
    info = probe(good)
    assert info.has_audio and info.n_frames == 60
    good_bytes = good.read_bytes()

    assert bad["zero_length"].stat().st_size == 0
    with pytest.raises(MediaError, match="empty"):
        probe(bad["zero_length"])
    assert bad["not_video"].read_text().startswith("This is a plain text file")
    with pytest.raises(MediaError, match="not a readable media file"):
        probe(bad["not_video"])
    assert bad["audio_only"].suffix == ".m4a"
    with pytest.raises(MediaError, match="audio only"):
        probe(bad["audio_only"])
    assert len(load_audio(bad["audio_only"])) > SAMPLE_RATE
    assert not probe(bad["video_no_audio"]).has_audio

    truncated = bad["truncated"].read_bytes()
    assert len(truncated) == int(len(good_bytes) * 0.4)
    assert good_bytes.startswith(truncated)
    assert probe(bad["truncated"]).duration_s == pytest.approx(6.0, abs=0.1)  # header kept
    assert 0 < sum(1 for _ in scan(bad["truncated"])) < 60

    corrupt = bad["corrupt"].read_bytes()
    assert len(corrupt) == len(good_bytes)
    lo, hi = int(len(good_bytes) * 0.4), int(len(good_bytes) * 0.6)
    assert corrupt[:lo] == good_bytes[:lo] and corrupt[hi:] == good_bytes[hi:]
    assert corrupt[lo:hi] != good_bytes[lo:hi]
    assert probe(bad["corrupt"]).n_frames == 60


def test_speaker_mixture_turns_are_where_the_clips_are() -> None:
    a, b = np.ones(16_000, np.float32), np.full(8_000, 0.5, np.float32)
    audio, turns = speaker_mixture([(a, "A"), (b, "B"), (a, "A")], [0.5, 0.25])
    assert turns == [(0.0, 1.0, "A"), (1.5, 2.0, "B"), (2.25, 3.25, "A")]
    assert audio.shape == (52_000,) and audio.dtype == np.float32
    assert not audio[16_000:24_000].any() and audio[24_000] == 0.5
    with pytest.raises(ConfigError, match="2 non-negative pauses"):
        speaker_mixture([(a, "A"), (b, "B"), (a, "A")], [0.5])
