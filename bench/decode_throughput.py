"""Decode throughput for 1 fps sampling, as ratios against the ffmpeg CLI doing the same sampling.

Every variant keeps one frame per second at 640 px wide RGB from the same file, in one run, and is
measured for wall time and CPU time (user + system, of this process and of its waited-for children).

Run: python bench/decode_throughput.py [--video PATH] [--seconds N] [--seek-seconds 120] [--quick]
     (--quick: the first 60 s, 30 seeks; results in bench/results/decode_throughput[_quick].json)
"""

from __future__ import annotations

import os

# Any OpenMP runtime pulled in by an import must not spin idle threads and inflate CPU times.
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import argparse
import bisect
import itertools
import math
import multiprocessing
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import add_json_option, json_path, write_json

from vidscout.media.samples import big_buck_bunny
from vidscout.video.decode import ScanOptions, VideoInfo, frames_at, keyframe_times, probe, scan

SAMPLE_EVERY_S = 1.0
SAMPLE_WIDTH = 640


@dataclass(frozen=True)
class Result:
    """One variant's measurement; ratios are filled in against the ffmpeg CLI row."""

    variant: str
    span_s: float  # seconds of video this variant covered
    kept: int  # frames converted to 640 px RGB
    decoded: int  # frames the decoder produced (an estimate where `decoded_exact` is False)
    decoded_exact: bool
    wall_s: float
    cpu_s: float
    load_1min: float = math.nan  # load average when the variant finished: other work on the machine
    note: str = ""
    wall_ratio: float = math.nan  # (wall per kept frame) / ffmpeg CLI's
    cpu_ratio: float = math.nan  # (CPU per kept frame) / ffmpeg CLI's


@dataclass(frozen=True)
class _Geometry:
    width: int
    height: int

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height * 3


def _geometry(info: VideoInfo) -> _Geometry:
    # The same rounding as vidscout.video.decode.scan, so every variant produces identical sizes.
    w = min(SAMPLE_WIDTH, info.width) // 2 * 2
    h = max(2, round(info.height * w / info.width) // 2 * 2)
    return _Geometry(w, h)


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _measure(fn: Callable[[], tuple[int, int]]) -> tuple[int, int, float, float]:
    """Run ``fn`` -> (kept, decoded); return those plus wall and CPU seconds."""
    cpu0, t0 = _cpu_s(), time.perf_counter()
    kept, decoded = fn()
    return kept, decoded, time.perf_counter() - t0, _cpu_s() - cpu0


def run_ffmpeg_cli(path: Path, end_s: float, geo: _Geometry, n_frames_total: int) -> tuple[int, int]:
    """(a) ffmpeg CLI: fps=1 + scale to raw RGB on a pipe; bytes counted to get the frame count."""
    limit = ["-t", f"{end_s:.6f}"] if math.isfinite(end_s) else []
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", *limit, "-i", str(path), "-an"]
    cmd += ["-vf", f"fps=1,scale={geo.width}:{geo.height}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    n_bytes = 0
    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(1 << 20):
            n_bytes += len(chunk)
    if proc.returncode != 0:
        raise SystemExit(f"ffmpeg exited with {proc.returncode}: {' '.join(cmd)}")
    if n_bytes % geo.frame_bytes:
        raise SystemExit(f"ffmpeg wrote {n_bytes} bytes, not a whole number of {geo} frames.")
    # The fps filter runs after the decoder: every frame of the span is decoded.
    return n_bytes // geo.frame_bytes, n_frames_total


def run_pyav_minimal(path: Path, end_s: float, geo: _Geometry) -> tuple[int, int]:
    """(b) A minimal PyAV loop: decode in order, convert only the first frame at or after each second."""
    kept = decoded = 0
    next_s = 0.0
    with av.open(str(path)) as container:
        vs = container.streams.video[0]
        vs.thread_type = "AUTO"
        for frame in container.decode(vs):
            t = frame.time
            if t is None:
                continue
            if t >= end_s:
                break
            decoded += 1
            if t + 1e-6 >= next_s:
                frame.to_ndarray(format="rgb24", width=geo.width, height=geo.height)
                kept += 1
                while next_s <= t + 1e-6:
                    next_s += SAMPLE_EVERY_S
    return kept, decoded


def run_scan(path: Path, start_s: float = 0.0, end_s: float = math.inf) -> tuple[int, int]:
    """(b') vidscout's `scan`: the same, plus a 64x36 thumbnail of every frame for cut detection."""
    opts = ScanOptions(sample_every_s=SAMPLE_EVERY_S, sample_width=SAMPLE_WIDTH, start_s=start_s, end_s=end_s)
    kept = decoded = 0
    for f in scan(path, opts):
        decoded += 1
        kept += f.image is not None
    return kept, decoded


def run_frames_at_each(path: Path, times_s: Sequence[float], geo: _Geometry) -> tuple[int, int]:
    """(c) Seek per sample: one `frames_at` call per time (each opens, probes and seeks)."""
    for t in times_s:
        frames_at(path, [t], width=geo.width)
    return len(times_s), 0


def run_frames_at_batch(path: Path, times_s: Sequence[float], geo: _Geometry) -> tuple[int, int]:
    """(c') One `frames_at` call for all times; requests < 10 s apart share one forward decode."""
    return len(frames_at(path, list(times_s), width=geo.width)), 0


def run_parallel(path: Path, bounds: Sequence[float], procs: int) -> tuple[int, int]:
    """(d) Keyframe-aligned split: each process scans its [a, b) range sequentially."""
    ranges = list(itertools.pairwise(bounds))
    # fork: workers start without re-importing numpy/av; their CPU lands in RUSAGE_CHILDREN once joined.
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=procs, mp_context=ctx) as pool:
        parts = list(pool.map(run_scan, [path] * len(ranges), [a for a, _ in ranges], [b for _, b in ranges]))
    return sum(k for k, _ in parts), sum(d for _, d in parts)


def run_keyframes_only(path: Path, end_s: float, geo: _Geometry) -> tuple[int, int]:
    """(e) Decode keyframes only (``skip_frame = "NONKEY"``), converting each one at 640 px."""
    kept = 0
    with av.open(str(path)) as container:
        vs = container.streams.video[0]
        vs.thread_type = "AUTO"
        vs.codec_context.skip_frame = "NONKEY"
        for frame in container.decode(vs):
            t = frame.time
            if t is None:
                continue
            if t >= end_s:
                break
            frame.to_ndarray(format="rgb24", width=geo.width, height=geo.height)
            kept += 1
    return kept, kept


def split_at_keyframes(keyframes_s: Sequence[float], end_s: float, parts: int) -> list[float]:
    """Range bounds [0, k1, ..., end_s]: the keyframes nearest to equal shares of the span."""
    bounds = [0.0]
    for i in range(1, parts):
        target = end_s * i / parts
        inside = [k for k in keyframes_s if bounds[-1] < k < end_s]
        if inside:
            bounds.append(min(inside, key=lambda k: abs(k - target)))
    return [*bounds, end_s]


def estimate_seek_decodes(times_s: Sequence[float], keyframes_s: Sequence[float], fps: float) -> int:
    """Frames decoded by one seek per time: from the keyframe at or before t through the frame after t."""
    total = 0
    for t in times_s:
        k = keyframes_s[max(0, bisect.bisect_right(keyframes_s, t + 1e-6) - 1)]
        total += math.floor((t - k) * fps + 1e-6) + 2
    return total


def _with_ratios(results: list[Result]) -> list[Result]:
    ref = results[0]
    out: list[Result] = []
    for r in results:
        wall = (r.wall_s / r.kept) / (ref.wall_s / ref.kept)
        cpu = (r.cpu_s / r.kept) / (ref.cpu_s / ref.kept)
        out.append(Result(**{**asdict(r), "wall_ratio": wall, "cpu_ratio": cpu}))
    return out


def format_table(results: Sequence[Result]) -> str:
    head = (
        f"{'variant':<34} {'span s':>7} {'kept':>5} {'decoded':>8} {'wall s':>7} {'CPU s':>7} "
        f"{'dec/CPU-s':>9} {'wall x':>7} {'CPU x':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        decoded = f"{'' if r.decoded_exact else '~'}{r.decoded}"
        lines.append(
            f"{r.variant:<34} {r.span_s:>7.1f} {r.kept:>5} {decoded:>8} {r.wall_s:>7.2f} {r.cpu_s:>7.2f} "
            f"{r.decoded / r.cpu_s:>9.0f} {r.wall_ratio:>7.2f} {r.cpu_ratio:>6.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, help="video file (default: Big Buck Bunny, 596 s 720p)")
    parser.add_argument("--seconds", type=float, help="only the first N seconds (default: whole file)")
    parser.add_argument("--seek-seconds", type=float, default=120.0, help="span of the seek-per-sample run")
    parser.add_argument("--procs", type=int, default=2, help="processes of the keyframe-parallel variant")
    parser.add_argument("--repeat", type=int, default=1, help="runs per variant; the least CPU is kept")
    parser.add_argument(
        "--variants", default="a,b,b',c,c',d,e", help="comma-separated subset (a, the reference, always runs)"
    )
    parser.add_argument("--cache", type=Path, default=Path(".cache/media"), help="media cache folder")
    parser.add_argument("--quick", action="store_true", help="the first 60 s and 30 seeks only")
    add_json_option(parser, "decode_throughput")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.seek_seconds = min(args.seconds or 60.0, 60.0), min(args.seek_seconds, 30.0)

    path: Path = args.video or big_buck_bunny(args.cache)
    info = probe(path)
    geo = _geometry(info)
    end_s = min(args.seconds, info.duration_s) if args.seconds else math.inf
    span_s = min(end_s, info.duration_s)
    n_total = min(info.n_frames, math.ceil(span_s * info.fps - 1e-6))
    keyframes = keyframe_times(path)
    seek_times = [float(t) for t in range(math.ceil(min(span_s, args.seek_seconds) - 1e-6))]
    bounds = split_at_keyframes(keyframes, span_s, args.procs)
    path.read_bytes()  # warm the page cache so the first variant does not pay for the disk

    print(
        f"{path.name}: {info.duration_s:.1f} s, {info.width}x{info.height} {info.video_codec} @ "
        f"{info.fps:g} fps, {len(keyframes)} keyframes; span {span_s:.1f} s; "
        f"{os.cpu_count()} CPUs; PyAV {av.__version__}"
    )
    runs: list[tuple[str, float, Callable[[], tuple[int, int]], int | None, str]] = [
        ("a  ffmpeg CLI fps=1,scale", span_s, lambda: run_ffmpeg_cli(path, end_s, geo, n_total), None, ""),
        ("b  PyAV sequential, minimal loop", span_s, lambda: run_pyav_minimal(path, end_s, geo), None, ""),
        ("b' PyAV scan() (+64x36 thumbs)", span_s, lambda: run_scan(path, 0.0, end_s), None, ""),
        (
            f"c  frames_at per sample ({len(seek_times)} s)",
            float(len(seek_times)),
            lambda: run_frames_at_each(path, seek_times, geo),
            estimate_seek_decodes(seek_times, keyframes, info.fps),
            "one call (open + probe + seek) per time",
        ),
        (
            f"c' frames_at one batch ({len(seek_times)} s)",
            float(len(seek_times)),
            lambda: run_frames_at_batch(path, seek_times, geo),
            math.floor(seek_times[-1] * info.fps) + 2 if seek_times else 0,
            "close requests share one forward decode",
        ),
        (
            f"d  keyframe split, {args.procs} procs scan()",
            span_s,
            lambda: run_parallel(path, bounds, args.procs),
            None,
            "bounds " + ", ".join(f"{b:.2f}" for b in bounds),
        ),
        (
            "e  keyframes only (skip NONKEY)",
            span_s,
            lambda: run_keyframes_only(path, end_s, geo),
            None,
            "keeps keyframes, not 1 fps",
        ),
    ]
    results: list[Result] = []
    wanted = {"a", *(v.strip() for v in args.variants.split(","))}
    for name, span, fn, decoded_estimate, note in runs:
        if name.split()[0] not in wanted:
            continue
        kept, decoded, wall, cpu = min((_measure(fn) for _ in range(args.repeat)), key=lambda m: m[3])
        exact = decoded_estimate is None
        n_decoded = decoded if exact else (decoded_estimate or 0)
        load = os.getloadavg()[0]
        results.append(Result(name, span, kept, n_decoded, exact, wall, cpu, load, note))
        print(f"  {name}: {kept} kept, {wall:.2f} s wall, {cpu:.2f} s CPU, load {load:.2f}", file=sys.stderr)
    results = _with_ratios(results)

    print(format_table(results))
    print("ratios are per kept frame, ffmpeg CLI = 1.00; '~': decoded count estimated from keyframe times")
    loads = ", ".join(f"{r.load_1min:.2f}" for r in results)
    print(f"1-min load average after each variant: {loads} (above {os.cpu_count()}: wall times contended)")
    for r in results:
        if r.note:
            print(f"  {r.variant.split()[0]:<3}{r.note}")

    problems: list[str] = []
    ref_kept = results[0].kept
    for r in results:
        expected = len(seek_times) if r.variant.startswith("c") else ref_kept
        if not r.variant.startswith("e") and abs(r.kept - expected) > 1:
            problems.append(f"{r.variant}: kept {r.kept} frames, expected {expected} (+-1)")
    print("frame-count check: " + ("OK (all 1 fps variants within +-1)" if not problems else "FAILED"))
    for p in problems:
        print(f"  {p}")

    payload: dict[str, Any] = {
        "video": info.model_dump(),
        "span_s": span_s,
        "keyframes": len(keyframes),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "pyav": av.__version__,
        "sample_every_s": SAMPLE_EVERY_S,
        "sample_size": [geo.width, geo.height],
        "results": [asdict(r) for r in results],
        "frame_count_problems": problems,
    }
    write_json(json_path(args, "decode_throughput"), payload)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
