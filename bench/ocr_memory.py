"""RapidOCR's memory with and without onnxruntime's CPU memory arena, side by side on the same keyframes.

Each variant reads the same keyframes of a real film (Big Buck Bunny: 10 minutes, its end credits holding up to
30 lines per frame) in a fresh process, as ingest's OCR layer reads them (every 2 s, at up to 960 px), and reports
its peak RSS, its RSS at the end, the OCR seconds and a digest of every line read (the two must read alike). The
variants run in turn, twice (A B A B), so a machine growing slower or busier weighs on both.

Run: python bench/ocr_memory.py [--video PATH] [--rounds 2] [--quick]
     (results in bench/results/ocr_memory.json; --quick: the first 120 s of the film, one round)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import add_json_option, json_path, write_json

VARIANTS = {"arena": "rapidocr?arena=true", "no_arena": "rapidocr?arena=false"}


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(video: Path, spec: str, until_s: float | None) -> dict[str, Any]:
    """Read the film's keyframes with the OCR ``spec``; what it cost."""
    from _keyframes import ocr_keyframes

    from vidscout.models.registry import make_ocr
    from vidscout.settings import Settings

    ocr = make_ocr(spec, Settings())
    digest = hashlib.sha256()
    seconds, frames, lines, rss_before_credits = 0.0, 0, 0, None
    for t_s, image in ocr_keyframes(video):
        if until_s is not None and t_s > until_s:
            break
        if t_s >= 520.0 and rss_before_credits is None:  # the credits start at about 8:40
            rss_before_credits = _rss_mib()
        t0 = time.perf_counter()
        read = ocr.read(image)
        seconds += time.perf_counter() - t0
        frames += 1
        lines += len(read)
        digest.update(json.dumps([(b.text, round(b.score, 3)) for b in read]).encode())
    return {"spec": spec, "frames": frames, "lines": lines, "ocr_s": round(seconds, 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "rss_end_mib": round(_rss_mib(), 1),
            "rss_before_credits_mib": None if rss_before_credits is None else round(rss_before_credits, 1),
            "digest": digest.hexdigest()[:16]}  # fmt: skip


def main() -> None:
    """Run each variant in its own process, in turn; print and keep the ratios."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, default=None, help="Default: Big Buck Bunny, fetched into --cache.")
    ap.add_argument("--cache", type=Path, default=Path(".cache/media"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="The first 120 s of the film, one round.")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--until", type=float, default=None, help=argparse.SUPPRESS)
    add_json_option(ap, "ocr_memory")
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.video, args.child, args.until)))
        return
    if args.video is None:
        from vidscout.media import samples

        args.video = samples.big_buck_bunny(args.cache)
    until = 120.0 if args.quick else None
    rounds = 1 if args.quick else args.rounds
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in VARIANTS}
    for r in range(rounds):
        for name, spec in VARIANTS.items():
            cmd = [sys.executable, __file__, "--child", spec, "--video", str(args.video)]
            cmd += [] if until is None else ["--until", str(until)]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            runs[name].append(row)
            credits = row["rss_before_credits_mib"]
            credits_mib = "-" if credits is None else f"{credits:.1f} MiB"  # a --quick run stops before them
            print(f"round {r + 1} {name:<9} peak RSS {row['peak_rss_mib']:7.1f} MiB, end {row['rss_end_mib']:7.1f} "
                  f"MiB, before the credits {credits_mib}; OCR {row['ocr_s']:6.1f} s, "
                  f"{row['frames']} frames, {row['lines']} lines, digest {row['digest']}", flush=True)  # fmt: skip
    a, b = runs["no_arena"], runs["arena"]

    def mean(rows: list[dict[str, Any]], key: str) -> float:
        return sum(r[key] for r in rows) / len(rows)

    out: dict[str, Any] = {"video": args.video.name, "until_s": until, "runs": runs}
    for key in ("peak_rss_mib", "rss_end_mib", "ocr_s"):
        out[f"{key}_ratio_no_arena_vs_arena"] = round(mean(a, key) / mean(b, key), 3)
    out["same_lines"] = len({r["digest"] for rows in runs.values() for r in rows}) == 1
    print(f"no arena / arena: peak RSS {out['peak_rss_mib_ratio_no_arena_vs_arena']:.3f}, RSS at the end "
          f"{out['rss_end_mib_ratio_no_arena_vs_arena']:.3f}, OCR seconds {out['ocr_s_ratio_no_arena_vs_arena']:.3f}; "
          f"same lines read: {out['same_lines']}")  # fmt: skip
    write_json(json_path(args, "ocr_memory"), out)


if __name__ == "__main__":
    main()
