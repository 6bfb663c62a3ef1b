"""Ingest an hour of real footage with real speech on the embedded profile; print where time goes.

The video is Big Buck Bunny looped to 60 minutes with its sound replaced by a speech track
(LibriVox clips and espeak-ng sentences, about 60% speech), so ASR cost is representative of a
talk or a lecture rather than of a silent film. Target: wall time <= 0.25x the video's duration.

With --compare, the same video is first ingested with the audio layers on the main thread after the frame
layers (`IngestOptions(parallel_audio=False)`), then as by default (audio layers on a second thread beside
the frame layers), each into a fresh database, and the ratio of the two wall times is printed.

With --compare-carry, the same video is first ingested reading every OCR line of every keyframe
(`IngestOptions(ocr_carry_moved_lines=False)`), then as by default (lines that only moved keep their text),
and the ratios of the two OCR layers' and wall times are printed.

With --compare-pixels, the same video is first ingested with OCR decoding the keyframes again
(`IngestOptions(ocr_keep_pixels=False)`), then as by default (the scan keeps lossless keyframes for OCR), and
the ratios of the two runs' scan + OCR seconds and wall times are printed. --compare-crawls likewise compares
with crawls left uncompleted, and --compare-spinning with onnxruntime's OCR threads spin-waiting when idle
(``rapidocr?spin=true``). --compare-ocr-width compares with OCR reading 640 px keyframes (``ocr_width=640``, as
before the OCR read up to 960 px), on the scan (which writes the lossless keyframes) and OCR seconds.

Run: python bench/ingest_hour.py [--minutes 60] [--quick] [--compare] [--compare-carry] [--compare-crawls]
     [--compare-pixels] [--compare-spinning] [--compare-ocr-width]
     (--quick: 5 minutes; results in bench/results/ingest_hour[_quick].json)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import add_json_option, json_path, write_json

from vidscout.media import samples
from vidscout.memory.build import IngestOptions, ingest
from vidscout.models.registry import Backends
from vidscout.settings import Settings

SENTENCES = [
    "Welcome back to the workshop. Today we build a bird house from pine boards.",
    "First measure twice and cut once, then sand every edge until it is smooth.",
    "The red door on the left opens into the kitchen where the tools are kept.",
    "Our next guest studied rivers for twenty years and mapped every bend of the delta.",
    "If you look closely at the chart, the second quarter shows a sharp rise in sales.",
    "The recipe needs three eggs, a cup of flour, and a pinch of salt.",
    "After the break we will talk about the history of the old lighthouse.",
    "Please remember to save your work before closing the program.",
]


def _pcm(path: Path) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", "16000", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.int16)


def speech_track(out: Path, seconds: float, work: Path) -> Path:
    """A 16 kHz mono WAV of `seconds`, speech clips separated by 1-3 s pauses."""
    clips = [_pcm(p) for p, _ in samples.librivox_clips()]
    for i, text in enumerate(SENTENCES):
        clips.append(_pcm(samples.espeak_wav(text, work / f"s{i}.wav")))
    rng = np.random.default_rng(0)
    parts: list[np.ndarray] = []
    total = 0
    while total < seconds * 16000:
        clip = clips[int(rng.integers(len(clips)))]
        pause = np.zeros(int(rng.uniform(1.0, 3.0) * 16000), dtype=np.int16)
        parts += [clip, pause]
        total += len(clip) + len(pause)
    audio = np.concatenate(parts)[: int(seconds * 16000)]
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(audio.tobytes())
    return out


def hour_video(cache: Path, minutes: float) -> Path:
    """Big Buck Bunny looped to `minutes`, with the speech track as its audio (cached)."""
    out = cache / f"bbb_speech_{minutes:g}min.mp4"
    if out.exists():
        return out
    bbb = samples.big_buck_bunny(cache)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        track = speech_track(work / "speech.wav", 600.0, work)
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", str(bbb), "-stream_loop", "-1",
             "-i", str(track), "-map", "0:v:0", "-map", "1:a:0", "-t", str(minutes * 60), "-c:v", "copy",
             "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", str(work / "out.mp4")],
            check=True,
        )  # fmt: skip
        shutil.move(str(work / "out.mp4"), out)
    return out


def ingest_once(
    video: Path, options: IngestOptions, label: str, models: dict[str, str] | None = None
) -> dict[str, Any]:
    """Ingest `video` into a fresh database (``models``: specs per role instead of the profile's); print per-layer
    seconds and ratios; return the measurements."""
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(data_dir=Path(data), models=models or {})
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        report = ingest(video, settings.videos_dir, Backends(settings), options=options)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        disk = sum(f.stat().st_size for f in Path(report.store).rglob("*") if f.is_file())
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    dur = report.video.duration_s
    print(f"{video.name} ({label}): {dur:.0f} s of video, {os.cpu_count()} CPUs")
    print(f"{'layer':<14}{'seconds':>9}{'x video':>9}  result")
    for layer in report.layers:
        stats = ", ".join(f"{k}={v}" for k, v in layer.stats.items())
        print(f"{layer.name:<14}{layer.seconds:>9.1f}{layer.seconds / dur:>9.4f}  {stats}")
    print(f"{'total wall':<14}{wall:>9.1f}{wall / dur:>9.4f}  (target <= 0.25)")
    rss = f"peak RSS so far {r1.ru_maxrss / 1024:.0f} MiB, store {disk / 2**20:.0f} MiB"
    print(f"{'total CPU':<14}{cpu:>9.1f}{cpu / dur:>9.4f}  {rss}", flush=True)
    layers = [layer.model_dump(mode="json") for layer in report.layers]
    return {"video": video.name, "duration_s": dur, "wall_s": wall, "cpu_s": cpu, "cpus": os.cpu_count(),
            "parallel_audio": options.parallel_audio, "peak_rss_mib": r1.ru_maxrss / 1024,
            "layers": layers}  # fmt: skip


COMPARISONS: dict[str, tuple[str, dict[str, Any], dict[str, str], str, tuple[str, ...]]] = {
    "compare_carry": ("every_line", {"ocr_carry_moved_lines": False}, {}, "OCR: every line read", ("ocr",)),
    "compare_crawls": ("no_crawls", {"ocr_crawl_step_s": None}, {}, "OCR: crawls not completed", ("ocr",)),
    "compare_pixels": ("decode_again", {"ocr_keep_pixels": False}, {}, "OCR: keyframes decoded again",
                       ("scan", "ocr")),
    "compare_spinning": ("spinning", {}, {"ocr": "rapidocr?spin=true"}, "OCR: onnxruntime threads spin", ("ocr",)),
    "compare_ocr_width": ("ocr_640", {"ocr_width": 640}, {}, "OCR: 640 px keyframes", ("scan", "ocr")),
}  # fmt: skip
"""--compare-X: (result key, the other run's options, its model specs, its label, the layers whose seconds are
compared)."""


def main() -> None:
    """Build the video, ingest it into a fresh database (twice with --compare), print where time goes."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--cache", type=Path, default=Path(".cache/media"))
    ap.add_argument("--quick", action="store_true", help="5 minutes of video: checks the path end to end.")
    ap.add_argument("--compare", action="store_true", help="Also ingest with the audio layers on the main thread.")
    ap.add_argument("--compare-carry", action="store_true", help="Also ingest reading every OCR line.")
    ap.add_argument(
        "--compare-crawls", action="store_true", help="Also ingest without completing crawls between keyframes."
    )
    ap.add_argument("--compare-pixels", action="store_true", help="Also ingest decoding the keyframes again for OCR.")
    ap.add_argument(
        "--compare-spinning", action="store_true", help="Also ingest with onnxruntime's OCR threads spin-waiting."
    )
    ap.add_argument("--compare-ocr-width", action="store_true", help="Also ingest with OCR on 640 px keyframes.")
    add_json_option(ap, "ingest_hour")
    args = ap.parse_args()
    if args.quick:
        args.minutes = 5.0
    video = hour_video(args.cache, args.minutes)
    out: dict[str, Any] = {}
    if args.compare:
        out["one_thread"] = ingest_once(video, IngestOptions(parallel_audio=False), "audio after frames, one thread")
    chosen = [c for flag, c in COMPARISONS.items() if getattr(args, flag)]
    for key, options, models, label, _ in chosen:
        out[key] = ingest_once(video, IngestOptions(**options), label, models)
    out |= ingest_once(video, IngestOptions(), "default: audio layers on a second thread")
    for key, _, _, label, layers in chosen:
        ours = sum(r["seconds"] for r in out["layers"] if r["name"] in layers)
        theirs = sum(r["seconds"] for r in out[key]["layers"] if r["name"] in layers)
        out[f"{'_'.join(layers)}_ratio_vs_{key}"] = ours / theirs
        out[f"wall_ratio_vs_{key}"] = out["wall_s"] / out[key]["wall_s"]
        print(f"{' + '.join(layers)} seconds, default / {label}: {ours / theirs:.3f}; "
              f"wall: {out[f'wall_ratio_vs_{key}']:.3f}")  # fmt: skip
    if args.compare:
        ratio = out["wall_s"] / out["one_thread"]["wall_s"]
        out["wall_ratio_vs_one_thread"] = ratio
        print(f"wall time, audio thread / one thread: {ratio:.3f}")
    write_json(json_path(args, "ingest_hour"), out)


if __name__ == "__main__":
    main()
