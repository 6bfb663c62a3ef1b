"""Memory is flat in video length: peak RSS and speed of the embedded generator at 1 vs 10 minutes of video.

Each length runs in a fresh process (so ru_maxrss is that run's own peak) that streams a looping
storyboard (a `continue` switch every 4 s, a cut every 12 s) through a session and writes the H.264 mp4,
keeping no frames. The window + sink keep the KV cache bounded, so the 10-minute peak should match the
1-minute one within a few MB. A short run with the window widened to the whole video shows the contrast.

Run: python bench/direct_memory.py [--minutes 1 10] [--steps N] [--full-cache-seconds 20] [--quick]
     (--quick: 15 s vs 30 s, 5 s unbounded; results in bench/results/direct_memory[_quick].json)
"""

from __future__ import annotations

import os

os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # before torch: spinning OpenMP threads distort a busy box

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import add_json_option, json_path, write_json

PROMPTS = [
    "a red circle moves right over a black background",
    "a red circle moves up over a black background",
    "a red circle moves left over a black background",
    "a blue square moves left over a white background",
    "a blue square moves down over a white background",
    "a blue square moves right over a white background",
]


def child(seconds: float, steps: int | None, window: int | None, out: Path) -> dict[str, float]:
    import torch

    from vidscout.generation.base import GeneratorKnobs
    from vidscout.generation.embedded import EmbeddedGenerator
    from vidscout.generation.generate import VideoWriter

    torch.set_num_threads(2)
    gen = EmbeddedGenerator.load()
    caps = gen.capabilities
    n_blocks = round(seconds * caps.fps / caps.frames_per_block)
    per_prompt = round(4 * caps.fps / caps.frames_per_block)  # a switch every 4 s
    writer = VideoWriter(out, caps.width, caps.height, caps.fps, scale=caps.output_scale)
    session = gen.open(GeneratorKnobs(steps=steps, window_frames=window))
    rss_after_first_minute = 0.0
    peak_cache = 0
    t0 = time.perf_counter()
    for b in range(n_blocks):
        if b % per_prompt == 0:
            i = (b // per_prompt) % len(PROMPTS)
            session.set_prompt(PROMPTS[i], "cut" if i % 3 == 0 else "continue")
        writer.write(session.step().frames)
        peak_cache = max(peak_cache, session.cache.nbytes())
        if b * caps.frames_per_block == round(60 * caps.fps):
            rss_after_first_minute = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall = time.perf_counter() - t0
    writer.close()
    frames = n_blocks * caps.frames_per_block
    return {
        "video_s": frames / caps.fps,
        "frames": frames,
        "wall_s": wall,
        "fps": frames / wall,
        "realtime_x": frames / caps.fps / wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_at_1min_mb": rss_after_first_minute,
        "peak_kv_cache_mb": peak_cache / 1e6,
    }


def run(seconds: float, steps: int | None, window: int | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, __file__, "--child", str(seconds), "--out", str(Path(tmp) / "v.mp4")]
        cmd += ["--steps", str(steps)] if steps else []
        cmd += ["--window", str(window)] if window is not None else []
        r = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--steps", type=int, default=None, help="denoising steps per block (default: the model's)")
    parser.add_argument("--full-cache-seconds", type=float, default=20.0, help="0 skips the unbounded contrast")
    parser.add_argument("--quick", action="store_true", help="15 s vs 30 s of video and 5 s unbounded: the path.")
    add_json_option(parser, "direct_memory")
    parser.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--window", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.steps, args.window, args.out)))
        return
    if args.quick:
        args.minutes, args.full_cache_seconds = [0.25, 0.5], min(args.full_cache_seconds, 5.0)
    rows: dict[str, dict[str, float]] = {}
    for minutes in args.minutes:
        rows[f"{minutes:g} min"] = run(minutes * 60, args.steps, None)
        print(f"{minutes:g} min done: {rows[f'{minutes:g} min']}", file=sys.stderr)
    if args.full_cache_seconds > 0:
        s = args.full_cache_seconds
        rows[f"{s:g} s, window=all"] = run(s, args.steps, 100_000)
    keys = ["video_s", "wall_s", "fps", "realtime_x", "peak_rss_mb", "rss_at_1min_mb", "peak_kv_cache_mb"]
    print(f"{'run':<18}" + "".join(f"{k:>17}" for k in keys))
    for name, row in rows.items():
        print(f"{name:<18}" + "".join(f"{row[k]:>17.2f}" for k in keys))
    lengths = [r for n, r in rows.items() if "window=all" not in n]
    if len(lengths) >= 2:
        delta = lengths[-1]["peak_rss_mb"] - lengths[0]["peak_rss_mb"]
        print(f"peak RSS, longest minus shortest: {delta:+.1f} MB")
    write_json(json_path(args, "direct_memory"), rows)


if __name__ == "__main__":
    main()
