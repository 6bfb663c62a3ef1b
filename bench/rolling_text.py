"""Rolling credits: reading every line of every keyframe vs carrying over the lines that only moved.

Each seed draws two credits rolls (`vidscout.eval.rolling`): one over black, one over Big Buck Bunny
footage. The keyframes ingest would sample (every 2 s, 640 px wide) are read twice, side by side, frame
by frame: by RapidOCR alone (every line recognised: the recall ceiling) and through `MovedLines` (lines
that only moved keep the last frame's text). Printed per roll and in total: planted-line recall and
precision of both, lines recognised and carried, OCR seconds with their ratio, and "same": the share of lines
read every-line that carrying returned character for character on the same keyframe (a neighbour's text
carried onto a line would lower it). A row of names carried as the last keyframe grouped it is not the same line
character for character, so the same comparison is also made word for word on each keyframe, both ways.

With --film VIDEO, a real film is read both ways instead (no planted truth there): seconds, lines carried, and
the share of the lines read every-line that carrying also returned on the same keyframe.

Run: python bench/rolling_text.py [--seeds 7,8 | --fresh 2] [--quick]
     python bench/rolling_text.py --film .cache/media/big_buck_bunny_720p.mp4
     (--quick: one fresh seed, 20 lines; results in bench/results/rolling_text[_quick|_film].json)
Without --seeds, the seeds are drawn fresh from the OS (printed, so a run can be repeated).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import add_json_option, json_path, write_json

from vidscout.eval.rolling import build_roll, draw_roll, score_roll
from vidscout.memory.moved_text import MovedLines
from vidscout.models.ocr import RapidOCR
from vidscout.text import normalise_words
from vidscout.video.decode import ScanOptions, scan


def compare(ocr: RapidOCR, video: Path) -> dict[str, Any]:
    """Read the video's keyframes both ways, frame by frame; the seconds and lines of each."""
    carry = MovedLines(ocr)
    every: dict[float, list[str]] = {}
    moved: dict[float, list[str]] = {}
    t_every = t_moved = 0.0
    for fr in scan(video, ScanOptions(sample_every_s=2.0, sample_width=640)):
        if fr.image is None:
            continue
        t0 = time.perf_counter()
        every[fr.t_s] = [b.text for b in ocr.read(fr.image)]
        t1 = time.perf_counter()
        moved[fr.t_s] = [b.text for b in carry.read(fr.image)]
        t2 = time.perf_counter()
        t_every, t_moved = t_every + t1 - t0, t_moved + t2 - t1
    lines = sum(len(got) for got in every.values())
    same = sum(line in set(moved[t]) for t, got in every.items() for line in got)
    words_every = words_moved = words_both = 0
    for t, got in every.items():
        a = Counter(w for line in got for w in normalise_words(line))
        b = Counter(w for line in moved[t] for w in normalise_words(line))
        words_every, words_moved, words_both = (
            words_every + a.total(),
            words_moved + b.total(),
            words_both + (a & b).total(),
        )
    return {"every": every, "moved": moved, "every_s": t_every, "moved_s": t_moved,
            "recognised": carry.recognised, "carried": carry.carried, "lines_every": lines, "lines_same": same,
            "same_text": same / lines if lines else 1.0,
            "same_words": words_both / words_every if words_every else 1.0,
            "carried_words_same": words_both / words_moved if words_moved else 1.0}  # fmt: skip


def film(ocr: RapidOCR, video: Path) -> dict[str, Any]:
    """Read a real film's keyframes both ways; how much time carrying saves and how often it agrees."""
    r = compare(ocr, video)
    lines, same = r["lines_every"], r["lines_same"]
    total = r["recognised"] + r["carried"]
    out = {"video": video.name, "keyframes": len(r["every"]), "every_s": r["every_s"], "moved_s": r["moved_s"],
           "seconds_ratio": r["moved_s"] / r["every_s"], "lines_found": total, "lines_carried": r["carried"],
           "lines_every": lines, "same_text": r["same_text"], "same_words": r["same_words"],
           "carried_words_same": r["carried_words_same"]}  # fmt: skip
    print(f"{video.name}: {out['keyframes']} keyframes; OCR {r['every_s']:.1f} s every line vs {r['moved_s']:.1f} s "
          f"carrying (ratio {out['seconds_ratio']:.2f}); {r['carried']}/{total} lines carried; "
          f"{same}/{lines} lines read every-line also returned, character for character, when carrying; "
          f"words on the same keyframe: {r['same_words']:.3f} of every-line's returned when carrying, "
          f"{r['carried_words_same']:.3f} of carrying's also read every-line")  # fmt: skip
    return out


def main() -> None:
    """Draw the rolls, read them both ways, print and save the comparison."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", default="", help="Comma-separated seeds (default: --fresh new ones).")
    ap.add_argument("--fresh", type=int, default=2, help="How many fresh seeds to draw when --seeds is not given.")
    ap.add_argument("--lines", type=int, default=60, help="Lines per roll.")
    ap.add_argument("--cache", type=Path, default=Path(".cache/media"))
    ap.add_argument("--quick", action="store_true", help="One fresh seed, 20 lines per roll.")
    ap.add_argument("--film", type=Path, default=None, help="Read this video both ways instead of planted rolls.")
    add_json_option(ap, "rolling_text")
    args = ap.parse_args()
    if args.film is not None:
        write_json(args.json or json_path(args, "rolling_text_film"), film(RapidOCR(), args.film))
        return
    if args.quick:
        args.fresh, args.lines = 1, 20
    seeds = [int(s) for s in args.seeds.split(",") if s] or [
        random.SystemRandom().randrange(10**6) for _ in range(args.fresh)
    ]
    print(f"seeds: {','.join(map(str, seeds))}", flush=True)
    ocr = RapidOCR()
    rows: list[dict[str, Any]] = []
    print(f"{'roll':<18}{'px':>4}{'px/s':>6}{'recall every/moved':>20}{'precision':>14}{'carried':>10}"
          f"{'seconds':>15}{'same':>7}")  # fmt: skip
    for seed in seeds:
        rng = random.Random(seed)
        for background in ("black", "footage"):
            spec = draw_roll(rng, n_lines=args.lines, background=background)
            video = build_roll(spec, args.cache / "rolling", cache=args.cache)
            r = compare(ocr, video)
            a, b = score_roll(spec, r["every"]), score_roll(spec, r["moved"])
            total = r["recognised"] + r["carried"]
            row = {"seed": seed, "background": background, "size_px": spec.size_px, "speed_px_s": spec.speed_px_s,
                   "font": spec.font, "planted": a.planted, "every": a.model_dump(), "moved": b.model_dump(),
                   "every_s": r["every_s"], "moved_s": r["moved_s"], "recognised": r["recognised"],
                   "carried": r["carried"], "same_text": r["same_text"],
                   "lines_every": r["lines_every"]}  # fmt: skip
            rows.append(row)
            print(f"{seed}/{background:<11}{spec.size_px:>4}{spec.speed_px_s:>6.0f}"
                  f"{a.recall:>11.2f} / {b.recall:<7.2f}{a.precision:>6.2f} / {b.precision:<5.2f}"
                  f"{r['carried']:>5}/{total:<5}{r['every_s']:>7.1f} / {r['moved_s']:<6.1f}"
                  f"{r['same_text']:>7.3f}", flush=True)  # fmt: skip
            for line in b.missed:
                if line not in a.missed:
                    print(f"    missed only when carrying: {line}")
    planted = sum(r["planted"] for r in rows)
    read_a = sum(r["every"]["read"] for r in rows)
    read_b = sum(r["moved"]["read"] for r in rows)
    sec_a = sum(r["every_s"] for r in rows)
    sec_b = sum(r["moved_s"] for r in rows)
    carried = sum(r["carried"] for r in rows)
    lines = carried + sum(r["recognised"] for r in rows)
    every_lines = sum(r["lines_every"] for r in rows)
    same = sum(r["same_text"] * r["lines_every"] for r in rows) / every_lines if every_lines else 1.0
    summary = {"seeds": seeds, "planted": planted, "recall_every": read_a / planted, "recall_moved": read_b / planted,
               "same_text": same, "every_s": sec_a, "moved_s": sec_b, "seconds_ratio": sec_b / sec_a,
               "lines_carried": carried, "lines_found": lines}  # fmt: skip
    print(f"total: recall {read_a}/{planted} every line vs {read_b}/{planted} carrying; "
          f"{carried}/{lines} lines carried; OCR {sec_a:.1f} s vs {sec_b:.1f} s, "
          f"ratio {sec_b / sec_a:.2f}; {same:.3f} of every-line lines the same when carrying")  # fmt: skip
    write_json(json_path(args, "rolling_text"), {"summary": summary, "rolls": rows})


if __name__ == "__main__":
    main()
