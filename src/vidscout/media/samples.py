"""Real sample media for tests, benchmarks and the README demo: fetched once, or built with ffmpeg.

Every file lives where the caller says (e.g. ``Path(".cache/media")``). Builders record their
parameters in a ``<out>.json`` sidecar and rebuild only when those parameters or inputs change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from vidscout._io import atomic_path, write_atomic
from vidscout.errors import BackendError, ConfigError, MediaError
from vidscout.video.decode import SAMPLE_RATE, VideoInfo, load_audio, probe

__all__ = [
    "BBB_FILENAME",
    "BBB_SHA256",
    "BBB_SIZE_BYTES",
    "LIBRIVOX_DIR",
    "VTEST_AVI",
    "bad_inputs",
    "big_buck_bunny",
    "concat_with_known_cuts",
    "espeak_wav",
    "librivox_clips",
    "long_video",
    "speaker_mixture",
    "speech_video",
    "vtest",
]

logger = logging.getLogger(__name__)

BBB_FILENAME = "big_buck_bunny_720p.mp4"
"""Name of the cached Big Buck Bunny file inside the cache directory."""
BBB_SIZE_BYTES = 50_195_281
"""Size of ``bbb.mp4`` in moviepy 2.2.1's ``moviepy_10_minutes.zip``."""
BBB_SHA256 = "475fbbf34c4c367998f80c29ea03b15a743941179b12da3373fc6706e68621d0"
"""SHA-256 of that file, recorded on the first fetch."""

VTEST_AVI = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
"""OpenCV's pedestrian clip (768x576, 10 fps, 79.5 s, no audio), from Debian's ``opencv-doc``."""
LIBRIVOX_DIR = Path("/usr/share/pocketsphinx/test/data/librivox")
"""Five LibriVox speech clips (16 kHz mono WAV) with a transcript, from ``pocketsphinx-testdata``."""

_MOVIEPY_SDIST = "moviepy==2.2.1"
_BBB_ZIP_IN_SDIST = "docs/_static/medias/getting_started/moviepy_10_minutes/moviepy_10_minutes.zip"
_BBB_IN_ZIP = "moviepy_10_minutes/resources/bbb.mp4"

_CACHE_VERSION = 1  # bump when a builder's output changes, so every cached sample is rebuilt
_AUDIO_RATE = 48_000  # Hz of the AAC tracks the builders write
_X264 = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p")
# Containers and codecs that `long_video` can loop without re-encoding.
_COPY_CONTAINERS = {".mp4", ".m4v", ".mov"}
_COPY_VIDEO = {"h264", "hevc", "mpeg4", "av1"}
_COPY_AUDIO = {"aac", "mp3", "alac"}
_TRANSCRIPT_LINE = re.compile(r"^<s>\s*(?P<text>.*?)\s*</s>\s*\((?P<id>[^)\s]+)\)\s*$")


def big_buck_bunny(cache_dir: Path) -> Path:
    """Return Big Buck Bunny (596 s, 1280x720, 24 fps H.264 with AAC stereo), fetching it once.

    The film ships inside the moviepy 2.2.1 source distribution on PyPI (its docs bundle
    ``moviepy_10_minutes.zip``), so only PyPI access is needed: ``pip download`` fetches the
    sdist into a temporary folder, the video is extracted from the zip, its SHA-256 is checked
    against `BBB_SHA256`, and it is renamed into place atomically. Later calls check the size only.

    Licence: Big Buck Bunny, (c) copyright 2008 Blender Foundation, www.bigbuckbunny.org,
    under Creative Commons Attribution 3.0 (CC-BY 3.0). Credit the Blender Foundation wherever
    frames or clips of it are shown.

    Args:
        cache_dir: Folder that holds the cached file (created if missing).

    Returns:
        Path of ``<cache_dir>/big_buck_bunny_720p.mp4``.

    Raises:
        BackendError: pip could not download the sdist, or the extracted file is not the
            expected one.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    dest = cache_dir / BBB_FILENAME
    if dest.is_file() and dest.stat().st_size == BBB_SIZE_BYTES:
        return dest
    logger.info("Fetching Big Buck Bunny (moviepy 2.2.1 sdist, 58 MB) into %s", cache_dir)
    # The temporary folder sits inside cache_dir so the final rename stays on one filesystem.
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".bbb-") as tmp:
        tmp_dir = Path(tmp)
        sdist = _pip_download_sdist(_MOVIEPY_SDIST, tmp_dir)
        zip_path = tmp_dir / "moviepy_10_minutes.zip"
        with tarfile.open(sdist, "r:gz") as tar:
            src = tar.extractfile(_tar_member(tar, _BBB_ZIP_IN_SDIST, sdist))
            if src is None:
                raise BackendError(f"{_BBB_ZIP_IN_SDIST} in {sdist.name} is not a regular file.")
            with src, zip_path.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        part = tmp_dir / BBB_FILENAME
        digest = hashlib.sha256()
        try:
            with zipfile.ZipFile(zip_path) as zf, zf.open(_BBB_IN_ZIP) as src, part.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    dst.write(chunk)
        except (KeyError, zipfile.BadZipFile) as e:
            raise BackendError(f"{sdist.name} no longer holds {_BBB_IN_ZIP} ({e}).") from e
        size = part.stat().st_size
        if size != BBB_SIZE_BYTES or digest.hexdigest() != BBB_SHA256:
            raise BackendError(
                f"Big Buck Bunny from {sdist.name} has size {size} and sha256 {digest.hexdigest()}; "
                f"expected {BBB_SIZE_BYTES} and {BBB_SHA256}. Check the package index you use."
            )
        os.replace(part, dest)
    return dest


def vtest(cache_dir: Path, *, source: Path = VTEST_AVI) -> Path:
    """Return a cached copy of OpenCV's ``vtest.avi`` (pedestrians, 768x576, 10 fps, 79.5 s).

    Args:
        cache_dir: Folder that holds the copy (created if missing).
        source: The system file; Debian/Ubuntu install it with the ``opencv-doc`` package.

    Returns:
        Path of ``<cache_dir>/vtest.avi``.

    Raises:
        MediaError: The source is missing and nothing is cached yet.
    """
    dest = cache_dir / "vtest.avi"
    if dest.is_file() and (not source.is_file() or dest.stat().st_size == source.stat().st_size):
        return dest
    _require_system_file(source, "opencv-doc")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp:
        shutil.copy2(source, tmp)
    return dest


def librivox_clips(data_dir: Path = LIBRIVOX_DIR) -> list[tuple[Path, str]]:
    """Return the LibriVox speech clips of ``pocketsphinx-testdata`` with their transcripts.

    Args:
        data_dir: Folder with the WAV files and the ``transcription`` file.

    Returns:
        ``(wav_path, transcript)`` pairs in file order; WAVs are 16 kHz mono, 3 to 7 s of
        "Sense and Sensibility"; transcripts are lower case without punctuation.

    Raises:
        MediaError: The data is not installed, or the transcription file is malformed.
    """
    transcription = _require_system_file(data_dir / "transcription", "pocketsphinx-testdata")
    clips: list[tuple[Path, str]] = []
    for n, line in enumerate(transcription.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        match = _TRANSCRIPT_LINE.match(line.strip())
        if match is None:
            raise MediaError(f"{transcription}:{n}: expected '<s> text </s> (file_id)', got {line!r}.")
        wav = _require_system_file(data_dir / f"{match['id']}.wav", "pocketsphinx-testdata")
        clips.append((wav, match["text"]))
    if not clips:
        raise MediaError(f"{transcription} lists no clips; reinstall pocketsphinx-testdata.")
    return clips


def concat_with_known_cuts(
    sources: Sequence[tuple[Path, float, float]],
    out: Path,
    *,
    size: tuple[int, int] = (1280, 720),
    fps: int = 24,
    gop: int = 250,
    audio: bool = False,
) -> tuple[Path, list[float]]:
    """Re-encode pieces of real footage and join them, so the hard cuts are known by construction.

    Each piece is scaled and centre-cropped to ``size``, resampled to ``fps`` and cut to a whole
    number of frames (``dur_s * fps`` rounded half up). x264 scene-cut keyframes are disabled and a
    keyframe is forced only every ``gop`` frames, so most cuts do *not* fall on keyframes.

    Args:
        sources: ``(path, start_s, dur_s)`` per piece, in output order.
        out: Output ``.mp4`` (H.264 yuv420p, ``+faststart``).
        size: Output ``(width, height)`` in pixels; both even.
        fps: Output frame rate (frames per second).
        gop: Keyframe interval (frames).
        audio: Add an AAC stereo track: each piece's own audio, or silence where it has none.

    Returns:
        The output path and the cut times in seconds (``len(sources) - 1`` of them): the time of
        the first frame of every piece after the first.

    Raises:
        ConfigError: Bad sizes, rates or piece bounds.
        MediaError: A source is not a readable video.
        BackendError: ffmpeg failed.
    """
    _check_size(size)
    if not sources:
        raise ConfigError("concat_with_known_cuts needs at least one (path, start_s, dur_s) piece.")
    if fps <= 0 or gop <= 0:
        raise ConfigError(f"fps and gop must be positive (got fps={fps}, gop={gop}).")
    infos: list[VideoInfo] = []
    frames: list[int] = []
    for path, start_s, dur_s in sources:
        info = probe(path)
        n = math.floor(dur_s * fps + 0.5)  # half up: round() would turn 12.5 frames into 12
        if start_s < 0 or n < 1 or start_s + dur_s > info.duration_s + 1e-3:
            raise ConfigError(
                f"Piece ({path.name}, start_s={start_s}, dur_s={dur_s}) must lie inside the source "
                f"(0 to {info.duration_s:.3f}s) and last at least one frame at {fps} fps."
            )
        infos.append(info)
        frames.append(n)
    key = _cache_key(
        "concat_with_known_cuts",
        sources=[(_file_id(p), s, d) for p, s, d in sources],
        size=size,
        fps=fps,
        gop=gop,
        audio=audio,
    )
    cached = _load_cached(out, key)
    if cached is not None:
        return out, [float(t) for t in cached["cut_times"]]

    inputs: list[str] = []
    graph: list[str] = []
    labels = ""
    for i, ((path, start_s, _), n, info) in enumerate(zip(sources, frames, infos, strict=True)):
        piece_s = n / fps
        # Read a little past the piece so the fps filter never runs short of frames.
        inputs += ["-ss", f"{start_s:.6f}", "-t", f"{piece_s + 1.0:.6f}", "-i", str(path)]
        graph.append(
            f"[{i}:v]setpts=PTS-STARTPTS,{_fit_video(size, fps)},"
            f"tpad=stop_mode=clone:stop={n},trim=end_frame={n},setpts=PTS-STARTPTS[v{i}]"
        )
        labels += f"[v{i}]"
        if audio:
            fmt = _audio_format("stereo")
            if info.has_audio:
                graph.append(
                    f"[{i}:a]asetpts=PTS-STARTPTS,{fmt},apad,atrim=end={piece_s:.6f},asetpts=PTS-STARTPTS[a{i}]"
                )
            else:
                graph.append(f"anullsrc=r={_AUDIO_RATE}:cl=stereo,{fmt},atrim=end={piece_s:.6f}[a{i}]")
            labels += f"[a{i}]"
    graph.append(f"{labels}concat=n={len(sources)}:v=1:a={int(audio)}[v]" + ("[a]" if audio else ""))
    maps = ["-map", "[v]"] + (["-map", "[a]", "-c:a", "aac", "-b:a", "128k"] if audio else [])
    # -sc_threshold 0: no extra keyframes at scene changes, so cuts land mid-GOP.
    encode = [*_X264, "-g", str(gop), "-sc_threshold", "0", "-r", str(fps), "-movflags", "+faststart"]
    _build(out, [*inputs, "-filter_complex", ";".join(graph), *maps, *encode])

    cut_times: list[float] = []
    total = 0
    for n in frames[:-1]:
        total += n
        cut_times.append(round(total / fps, 6))
    _store(out, key, cut_times=cut_times, frames=frames, fps=fps)
    return out, cut_times


def speech_video(
    footage: Path,
    clips: Sequence[tuple[Path, str]],
    out: Path,
    *,
    gap_s: float = 2.0,
    lead_s: float = 1.0,
    size: tuple[int, int] = (1280, 720),
    fps: int = 24,
) -> tuple[Path, list[tuple[float, float, str]]]:
    """Lay speech clips at known times over real footage (looped as needed).

    The audio is ``lead_s`` of silence, then each clip followed by ``gap_s`` of silence; the
    footage's own sound is dropped. The timings are also written to ``<out>.json`` under
    ``"segments"`` as ``{"start_s", "end_s", "text"}`` objects.

    Args:
        footage: Video whose picture is used (looped if shorter than the speech).
        clips: ``(audio_path, transcript)`` pairs, e.g. from `librivox_clips` or `espeak_wav`.
        out: Output ``.mp4`` (H.264 yuv420p plus AAC mono, ``+faststart``).
        gap_s: Silence between clips and after the last one (seconds).
        lead_s: Silence before the first clip (seconds).
        size: Output ``(width, height)`` in pixels; both even.
        fps: Output frame rate (frames per second).

    Returns:
        The output path and ``(start_s, end_s, text)`` per clip, in order.

    Raises:
        ConfigError: No clips, negative gaps, a clip without audio, or a bad size.
        MediaError: The footage or a clip is unreadable.
        BackendError: ffmpeg failed.
    """
    _check_size(size)
    if not clips:
        raise ConfigError("speech_video needs at least one (audio_path, transcript) clip.")
    if gap_s < 0 or lead_s < 0 or fps <= 0:
        raise ConfigError(f"gap_s and lead_s must be >= 0 and fps > 0 (got {gap_s}, {lead_s}, {fps}).")
    footage_info = probe(footage)
    durations: list[float] = []
    for path, _ in clips:
        n_samples = len(load_audio(path))
        if n_samples == 0:
            raise ConfigError(f"{path} holds no audio; give a speech clip (WAV, FLAC, M4A...).")
        durations.append(n_samples / SAMPLE_RATE)
    segments: list[tuple[float, float, str]] = []
    t = lead_s
    for (_, text), dur_s in zip(clips, durations, strict=True):
        segments.append((round(t, 6), round(t + dur_s, 6), text))
        t += dur_s + gap_s
    total_s = t
    key = _cache_key(
        "speech_video",
        footage=_file_id(footage),
        clips=[(_file_id(p), text) for p, text in clips],
        gap_s=gap_s,
        lead_s=lead_s,
        size=size,
        fps=fps,
    )
    if _load_cached(out, key) is not None:
        return out, segments

    loops = math.ceil(total_s / footage_info.duration_s)
    inputs = ["-stream_loop", str(loops), "-i", str(footage)]
    graph = [f"[0:v]setpts=PTS-STARTPTS,{_fit_video(size, fps)},trim=end={total_s:.6f},setpts=PTS-STARTPTS[v]"]
    fmt = _audio_format("mono")
    pieces: list[str] = []

    def silence(dur_s: float) -> None:
        if dur_s > 0:
            label = f"z{len(pieces)}"
            graph.append(f"anullsrc=r={_AUDIO_RATE}:cl=mono,{fmt},atrim=end={dur_s:.6f}[{label}]")
            pieces.append(f"[{label}]")

    silence(lead_s)
    for i, ((path, _), dur_s) in enumerate(zip(clips, durations, strict=True)):
        inputs += ["-i", str(path)]
        # Pad/trim to the measured length so the timeline is exact whatever the resampler does.
        graph.append(f"[{i + 1}:a]{fmt},asetpts=PTS-STARTPTS,apad,atrim=end={dur_s:.6f},asetpts=PTS-STARTPTS[s{i}]")
        pieces.append(f"[s{i}]")
        silence(gap_s)
    graph.append(f"{''.join(pieces)}concat=n={len(pieces)}:v=0:a=1[a]")
    encode = [*_X264, "-r", str(fps), "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart"]
    _build(out, [*inputs, "-filter_complex", ";".join(graph), "-map", "[v]", "-map", "[a]", *encode])
    _store(out, key, segments=[{"start_s": s, "end_s": e, "text": text} for s, e, text in segments])
    return out, segments


def speaker_mixture(
    clips: Sequence[tuple[NDArray[np.float32], str]], pauses_s: Sequence[float]
) -> tuple[NDArray[np.float32], list[tuple[float, float, str]]]:
    """Join speech clips with silent pauses into one recording whose speaker turns are known.

    Args:
        clips: ``(audio, speaker)`` pairs, mono float32 at 16 kHz, in speaking order.
        pauses_s: Silence before each clip after the first (seconds), ``len(clips) - 1`` values.

    Returns:
        The audio and its ``(start_s, end_s, speaker)`` turns, one per clip.

    Raises:
        ConfigError: ``pauses_s`` has the wrong length or a negative pause.
    """
    if len(pauses_s) != max(0, len(clips) - 1) or any(p < 0 for p in pauses_s):
        raise ConfigError(f"speaker_mixture needs {max(0, len(clips) - 1)} non-negative pauses, got {list(pauses_s)}")
    parts: list[NDArray[np.float32]] = []
    turns: list[tuple[float, float, str]] = []
    n = 0
    for k, (audio, speaker) in enumerate(clips):
        if k:
            gap = np.zeros(round(pauses_s[k - 1] * SAMPLE_RATE), dtype=np.float32)
            parts.append(gap)
            n += gap.size
        parts.append(np.asarray(audio, dtype=np.float32))
        turns.append((n / SAMPLE_RATE, (n + audio.size) / SAMPLE_RATE, speaker))
        n += audio.size
    return (np.concatenate(parts) if parts else np.zeros(0, np.float32)), turns


def espeak_wav(text: str, out: Path, *, voice: str = "en-us", speed_wpm: int = 140) -> Path:
    """Synthesise speech with espeak-ng and write it as a 16 kHz mono 16-bit WAV.

    Args:
        text: What to say.
        out: Output ``.wav`` path.
        voice: espeak-ng voice (``-v``).
        speed_wpm: Speaking rate in words per minute (``-s``).

    Returns:
        The output path.

    Raises:
        ConfigError: The text is empty.
        BackendError: espeak-ng is missing or failed, or ffmpeg failed.
    """
    if not text.strip():
        raise ConfigError("espeak_wav needs non-empty text.")
    key = _cache_key("espeak_wav", text=text, voice=voice, speed_wpm=speed_wpm)
    if _load_cached(out, key) is not None:
        return out
    with tempfile.TemporaryDirectory(prefix="vidscout-espeak-") as tmp:
        raw = Path(tmp) / "espeak.wav"
        cmd = ["espeak-ng", "-v", voice, "-s", str(speed_wpm), "-w", str(raw), "--stdin"]
        try:
            subprocess.run(cmd, input=text, capture_output=True, text=True, check=True)
        except FileNotFoundError as e:
            raise BackendError("espeak-ng is not installed; run `apt-get install espeak-ng`.") from e
        except subprocess.CalledProcessError as e:
            raise BackendError(f"espeak-ng failed (exit {e.returncode}): {_tail(e.stderr)}") from e
        _build(out, ["-i", str(raw), "-ar", str(SAMPLE_RATE), "-ac", "1", "-c:a", "pcm_s16le"])
    _store(out, key)
    return out


def long_video(source: Path, minutes: float, out: Path) -> Path:
    """Loop real footage into a video at least ``minutes`` long (e.g. 60 for ingest timing).

    Streams are copied when the codecs fit the output container (H.264/AAC into ``.mp4``, or
    anything into ``.mkv``), so an hour of Big Buck Bunny takes seconds; otherwise the video is
    re-encoded with x264. Only the first video and first audio stream are kept. With stream copy,
    each loop starts after the longer of the two streams, so joins may hold a gap of a few ms.

    Args:
        source: Real footage to loop.
        minutes: Minimum output length (minutes); one extra second is added as a margin.
        out: Output path; its suffix picks the container.

    Returns:
        The output path.

    Raises:
        ConfigError: ``minutes`` is not positive.
        MediaError: The source is not a readable video.
        BackendError: ffmpeg failed.
    """
    if minutes <= 0:
        raise ConfigError(f"minutes must be positive (got {minutes}).")
    info = probe(source)
    target_s = minutes * 60 + 1.0
    key = _cache_key("long_video", source=_file_id(source), minutes=float(minutes))  # 60 and 60.0: one video
    if _load_cached(out, key) is not None:
        return out
    copy = _can_stream_copy(info, out.suffix.lower())
    codecs = ["-c", "copy"] if copy else [*_X264, "-c:a", "aac", "-b:a", "128k"]
    mux = ["-movflags", "+faststart"] if out.suffix.lower() in _COPY_CONTAINERS else []
    loops = math.ceil(target_s / info.duration_s) - 1
    args = ["-stream_loop", str(loops), "-i", str(source), "-map", "0:v:0", "-map", "0:a:0?"]
    _build(out, [*args, "-t", f"{target_s:.3f}", *codecs, *mux])
    _store(out, key, stream_copy=copy)
    return out


def bad_inputs(out_dir: Path, *, source: Path = VTEST_AVI, speech: Path | None = None) -> dict[str, Path]:
    """Build the awkward inputs an ingest pipeline must survive or reject cleanly.

    All come from a 6 s, 320 px wide H.264 + AAC mp4 made from real footage and LibriVox speech,
    muxed with ``+faststart`` so its header (``moov``) precedes the media data.

    Keys and files:

    - ``corrupt``: that mp4 with bytes 40-60 % overwritten by (seeded) random garbage.
    - ``truncated``: its first 40 %; the header survives, so it probes but decodes only partly.
    - ``zero_length``: an empty ``.mp4``.
    - ``audio_only``: a LibriVox clip as AAC in ``.m4a``.
    - ``video_no_audio``: the mp4 without its audio stream.
    - ``not_video``: a plain text file named ``.mp4``.
    - ``unicode_path``: the intact mp4 itself, named ``my vidéo 🎬 clip.mp4`` (spaces, accent, emoji).

    ``bad_inputs.json`` in ``out_dir`` records what was built, so later calls return at once.

    Args:
        out_dir: Folder for the files (created if missing).
        source: Real footage; defaults to Debian's ``vtest.avi``.
        speech: Speech for the audio tracks; defaults to the first `librivox_clips` clip.

    Returns:
        Map from the keys above to the file paths.

    Raises:
        MediaError: The default sample files are not installed.
        BackendError: ffmpeg failed, or the mp4 header is not at the front.
    """
    if source == VTEST_AVI:
        _require_system_file(source, "opencv-doc")
    speech_path = speech if speech is not None else librivox_clips()[0][0]
    names = {
        "corrupt": "corrupt.mp4",
        "truncated": "truncated.mp4",
        "zero_length": "zero_length.mp4",
        "audio_only": "audio_only.m4a",
        "video_no_audio": "video_no_audio.mp4",
        "not_video": "not_video.mp4",
        "unicode_path": "my vidéo 🎬 clip.mp4",
    }
    paths = {kind: out_dir / name for kind, name in names.items()}
    index = out_dir / "bad_inputs.json"
    key = _cache_key("bad_inputs", source=_file_id(source), speech=_file_id(speech_path), names=names)
    if _load_cached(index, key) is not None and all(p.is_file() for p in paths.values()):
        return paths

    out_dir.mkdir(parents=True, exist_ok=True)
    index.unlink(missing_ok=True)
    good = paths["unicode_path"]
    _build(
        good,
        [
            *("-t", "6", "-i", str(source), "-i", str(speech_path), "-map", "0:v:0", "-map", "1:a:0"),
            *("-vf", "scale=320:-2,format=yuv420p", *_X264, "-g", "10", "-c:a", "aac", "-b:a", "64k"),
            *("-t", "6", "-movflags", "+faststart"),
        ],
    )
    data = good.read_bytes()
    boxes = _top_level_boxes(data)
    if "moov" not in boxes or "mdat" not in boxes or boxes.index("moov") > boxes.index("mdat"):
        raise BackendError(f"{good.name}: expected 'moov' before 'mdat' with +faststart, got {boxes}.")
    lo, hi = int(len(data) * 0.4), int(len(data) * 0.6)
    garbage = random.Random(0).randbytes(hi - lo)  # seeded: the same corrupt file every build
    write_atomic(paths["corrupt"], data[:lo] + garbage + data[hi:])
    write_atomic(paths["truncated"], data[:lo])
    write_atomic(paths["zero_length"], b"")
    write_atomic(paths["not_video"], b"This is a plain text file, not a video.\n" * 50)
    faststart = ("-movflags", "+faststart")
    _build(paths["video_no_audio"], ["-i", str(good), "-map", "0:v:0", "-c", "copy", *faststart])
    _build(paths["audio_only"], ["-i", str(speech_path), "-c:a", "aac", "-b:a", "64k", *faststart])
    _store(index, key, files={kind: p.name for kind, p in paths.items()})
    return paths


def _require_system_file(path: Path, package: str) -> Path:
    if not path.is_file():
        raise MediaError(f"{path} is missing; install it with `apt-get install {package}` (Debian/Ubuntu) and rerun.")
    return path


def _pip_download_sdist(requirement: str, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    cmd += ["--disable-pip-version-check", "--quiet", requirement, "-d", str(dest)]
    try:
        subprocess.run(cmd, capture_output=True, text=True, check=True)
    except subprocess.CalledProcessError as e:
        raise BackendError(
            f"`pip download {requirement}` failed (exit {e.returncode}): {_tail(e.stderr)}. "
            "Check access to PyPI (or your PIP_INDEX_URL) and that pip is installed."
        ) from e
    found = sorted(dest.glob("*.tar.gz"))
    if not found:
        raise BackendError(f"`pip download {requirement}` left no .tar.gz in {dest}.")
    return found[0]


def _tar_member(tar: tarfile.TarFile, suffix: str, sdist: Path) -> tarfile.TarInfo:
    for member in tar.getmembers():
        if member.name.endswith("/" + suffix):
            return member
    raise BackendError(f"{sdist.name} holds no {suffix}; the sdist layout changed.")


def _run_ffmpeg(args: Sequence[str]) -> None:
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    try:
        subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=True)
    except FileNotFoundError as e:
        raise BackendError("ffmpeg is not on PATH; run `apt-get install ffmpeg` and retry.") from e
    except subprocess.CalledProcessError as e:
        raise BackendError(f"ffmpeg failed (exit {e.returncode}): {_tail(e.stderr)}\ncommand: {shlex.join(cmd)}") from e


def _build(out: Path, args: Sequence[str]) -> None:
    """Run ffmpeg with ``args`` followed by a temporary output path, then move it to ``out``."""
    logger.info("Building %s", out)
    # A stale sidecar must never vouch for a half-replaced output.
    _sidecar(out).unlink(missing_ok=True)
    with atomic_path(out) as tmp:
        _run_ffmpeg([*args, str(tmp)])


def _tail(text: str | None, limit: int = 800) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def _check_size(size: tuple[int, int]) -> None:
    w, h = size
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise ConfigError(f"size must be two positive even numbers (yuv420p), got {size}.")


def _fit_video(size: tuple[int, int], fps: int) -> str:
    # Scale to cover, then centre-crop: no black bars that would look like picture content.
    w, h = size
    scale = f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1"
    return f"{scale},fps={fps},format=yuv420p"


def _audio_format(layout: str) -> str:
    fmt = f"sample_fmts=fltp:sample_rates={_AUDIO_RATE}:channel_layouts={layout}"
    return f"aresample={_AUDIO_RATE},aformat={fmt}"


def _can_stream_copy(info: VideoInfo, suffix: str) -> bool:
    if suffix == ".mkv":
        return True
    return (
        suffix in _COPY_CONTAINERS
        and info.video_codec in _COPY_VIDEO
        and (info.audio_codec is None or info.audio_codec in _COPY_AUDIO)
    )


def _top_level_boxes(data: bytes) -> list[str]:
    """Types of the ISO-BMFF top-level boxes, in file order."""
    boxes: list[str] = []
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        boxes.append(data[pos + 4 : pos + 8].decode("latin-1"))
        if size == 1 and pos + 16 <= len(data):  # 64-bit "largesize" follows the type
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        if size < 8:  # 0 = "to end of file"; anything else < 8 is malformed
            break
        pos += size
    return boxes


def _file_id(path: Path) -> dict[str, Any]:
    """What identifies an input for caching: where it is and which version of it."""
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _cache_key(kind: str, **params: Any) -> str:
    blob = json.dumps({"kind": kind, "version": _CACHE_VERSION, **params}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _sidecar(out: Path) -> Path:
    return out if out.suffix == ".json" else out.with_name(out.name + ".json")


def _load_cached(out: Path, key: str) -> dict[str, Any] | None:
    """The sidecar of ``out`` if it matches ``key`` and ``out`` is intact, else None (rebuild)."""
    side = _sidecar(out)
    if not (out.is_file() and side.is_file()):
        return None
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict):
        return None
    meta = cast(dict[str, Any], meta)
    if meta.get("key") != key or (side != out and meta.get("size_bytes") != out.stat().st_size):
        return None
    return meta


def _store(out: Path, key: str, **result: Any) -> None:
    side = _sidecar(out)
    meta: dict[str, Any] = {"key": key, **result}
    if side != out:
        meta["size_bytes"] = out.stat().st_size
    write_atomic(side, json.dumps(meta, indent=2, ensure_ascii=False).encode("utf-8"))


# Public names for sibling builders (e.g. `vidscout.media.needles`) that share the cache scheme.
cache_key = _cache_key
file_id = _file_id
load_cached = _load_cached
store_cached = _store
build = _build
