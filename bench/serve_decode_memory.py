"""Peak RSS of `vidscout serve` reading one ``data:video/mp4`` part (`load_video`), each case in a fresh process.

Cases: the reliability review's 18 KB clip (640x480, 20 s, 25 fps, one colour) and a 10-minute 1080p25 clip
(a 10 s segment looped with ``-c copy``). The number is the growth of ``ru_maxrss`` during the call, after
imports and the base64 payload are already in memory.

Run: python bench/serve_decode_memory.py [--cases review,long] [--num-frames 32] [--out DIR] [--quick]
     (--quick: the review clip only; results in bench/results/serve_decode_memory[_quick].json)
Compare against another tree with PYTHONPATH=/that/tree/src.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import add_json_option, json_path, write_json

CASES = {
    # name: (lavfi source, encoder args, loop count for -stream_loop)
    "review": ("color=c=0x3366aa:s=640x480:r=25:d=20", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], 0),
    "long": (
        "color=c=0x3366aa:s=1920x1080:r=25:d=10",
        ["-c:v", "libx264", "-preset", "ultrafast", "-g", "250", "-pix_fmt", "yuv420p"],
        59,
    ),
}

CHILD = """
import base64, resource, sys, time
from vidscout.serve.media import MediaLimits, load_video
data = open(sys.argv[1], "rb").read()
url = "data:video/mp4;base64," + base64.b64encode(data).decode()
kw = dict(num_frames=int(sys.argv[2]))
limits = MediaLimits(**kw)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
frames, times = load_video(url, {}, limits)
wall = time.perf_counter() - t
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{len(frames)} {frames[0].shape[1]}x{frames[0].shape[0]} {before} {after} {wall:.2f} {times[-1]:.2f}")
"""


def build(name: str, out: Path) -> Path:
    """The case's mp4 under ``out`` (made once)."""
    path = out / f"{name}.mp4"
    if path.exists():
        return path
    source, codec, loops = CASES[name]
    ff = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    seg = out / f"{name}.seg.mp4" if loops else path
    subprocess.run([*ff, "-f", "lavfi", "-i", source, *codec, str(seg)], check=True)
    if loops:
        subprocess.run([*ff, "-stream_loop", str(loops), "-i", str(seg), "-c", "copy", str(path)], check=True)
        seg.unlink()
    return path


def measure(path: Path, num_frames: int) -> dict[str, object]:
    """Run the child on ``path``; peak RSS growth in MB."""
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", CHILD, str(path), str(num_frames)], capture_output=True, text=True)
    if r.returncode != 0:
        return {"file": path.name, "error": r.stderr.strip().splitlines()[-1:]}
    n, size, before, after, wall, last_t = r.stdout.split()
    return {"file": path.name, "bytes": path.stat().st_size, "frames": int(n), "size": size,
            "peak_rss_before_call_mb": int(before) // 1024, "peak_rss_growth_mb": (int(after) - int(before)) // 1024,
            "decode_s": float(wall), "last_frame_s": float(last_t),
            "total_s": round(time.perf_counter() - t, 2)}  # fmt: skip


def main() -> None:
    """Build the clips, measure each case, print JSON lines."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default="review,long")
    ap.add_argument("--num-frames", type=int, default=32)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "serve_decode_memory")
    ap.add_argument("--quick", action="store_true", help="The review clip only.")
    add_json_option(ap, "serve_decode_memory")
    args = ap.parse_args()
    if args.quick:
        args.cases = "review"
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is needed to build the clips")
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    for name in args.cases.split(","):
        rows.append({"case": name, **measure(build(name, args.out), args.num_frames)})
        print(json.dumps(rows[-1]), flush=True)
    write_json(json_path(args, "serve_decode_memory"), {"num_frames": args.num_frames, "cases": rows})


if __name__ == "__main__":
    main()
