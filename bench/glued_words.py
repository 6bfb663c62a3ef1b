"""Spaces put back between glued capitals (`vidscout.models.ocr_words.split_glued`): the same reads, with and without.

Each seed draws the perception bench's planted videos (`vidscout.media.planted.draw_perception_spec`: real footage
and photos with 12 planted text lines each). Every keyframe is decoded as ingest's OCR layer reads it and read
once by RapidOCR with the split off; the split is then applied to those very lines, so the two columns differ
only by it. Per planted line: read (>= 0.8 of its words on one keyframe while it is shown) with and without the
split, and words lost by it (a planted word read without the split and not with it, on the same keyframe).
With --film VIDEO, a real film's keyframes from --film-from seconds on are read too (no planted truth): every line
the split changes is printed, to be judged by eye.

Run: python bench/glued_words.py [--seeds 7,8 | --fresh 4] [--sizes 640x360,1280x720] [--duration 90]
     [--film .cache/media/big_buck_bunny_720p.mp4 --film-from 480]
     (results in bench/results/glued_words.json; --quick: one fresh seed at 640x360, no film)
Without --seeds, the seeds are drawn fresh from the OS (printed, so a run can be repeated).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _keyframes import ocr_keyframes
from _planted import add_planted_options, planted_seeds, planted_sizes
from _results import add_json_option, json_path, write_json

from vidscout.eval.perception import TEXT_READ_AT, words_read
from vidscout.media.planted import build_planted, draw_perception_spec
from vidscout.memory.build import IngestOptions
from vidscout.models.ocr import RapidOCR
from vidscout.models.ocr_words import split_glued
from vidscout.text import normalise_words


def _read(ocr: RapidOCR, video: Path, start_s: float = 0.0) -> list[tuple[float, list[str]]]:
    min_score = IngestOptions().ocr_min_score
    return [
        (t, [b.text for b in ocr.read(image) if b.score >= min_score])
        for t, image in ocr_keyframes(video, start_s=start_s)
    ]


def _planted(ocr: RapidOCR, seed: int, size: tuple[int, int], duration_s: float, cache: Path) -> dict[str, Any]:
    spec = draw_perception_spec(seed, size=size, duration_s=duration_s)
    video = build_planted(spec, cache / f"perception_{seed}_{size[0]}x{size[1]}.mp4", cache=cache)
    reads = [(t, [(x, split_glued(x)) for x in lines]) for t, lines in _read(ocr, video.path)]
    read_raw = read_split = lost = 0
    for p in spec.texts:
        want = normalise_words(p.text)
        shown = [pairs for t, pairs in reads if p.start_s <= t < p.start_s + p.duration_s]
        read_raw += max((words_read(want, [x for x, _ in pairs]) for pairs in shown), default=0.0) >= TEXT_READ_AT
        read_split += max((words_read(want, [y for _, y in pairs]) for pairs in shown), default=0.0) >= TEXT_READ_AT
        for pairs in shown:
            raw = {w for x, _ in pairs for w in normalise_words(x)}
            split = {w for _, y in pairs for w in normalise_words(y)}
            lost += len((raw - split) & set(want))
    changed = [f"{x!r} -> {y!r}" for _, pairs in reads for x, y in pairs if y != x]
    row = {"seed": seed, "size": f"{size[0]}x{size[1]}", "planted": len(spec.texts), "read_raw": read_raw,
           "read_split": read_split, "planted_words_lost": lost, "lines_read": sum(len(x) for _, x in reads),
           "lines_changed": changed}  # fmt: skip
    print(f"seed {seed} {row['size']}: planted lines read {read_raw} -> {read_split} of {len(spec.texts)}; "
          f"planted words lost {lost}; lines changed {len(changed)} of {row['lines_read']}", flush=True)  # fmt: skip
    for c in changed:
        print(f"    {c}")
    return row


def main() -> None:
    """Read each planted video's keyframes once; score them as read and with the spaces put back."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_planted_options(ap, fresh=4, duration_s=90.0)
    ap.add_argument("--film", type=Path, default=None, help="Also read this real video's keyframes.")
    ap.add_argument("--film-from", type=float, default=0.0, help="Read the film from this second on.")
    ap.add_argument("--quick", action="store_true", help="One fresh seed at 640x360, no film.")
    add_json_option(ap, "glued_words")
    args = ap.parse_args()
    if args.quick:
        args.fresh, args.sizes, args.film = 1, "640x360", None
    seeds, sizes = planted_seeds(args), planted_sizes(args)
    print(f"seeds {','.join(map(str, seeds))}; sizes {args.sizes}; {args.duration:.0f} s per video", flush=True)
    ocr = RapidOCR(split_glued=False)
    rows = [_planted(ocr, seed, size, args.duration, args.cache) for seed in seeds for size in sizes]
    out: dict[str, Any] = {"seeds": seeds, "videos": rows}
    out["total"] = {k: sum(r[k] for r in rows) for k in ("planted", "read_raw", "read_split", "planted_words_lost")}
    out["total"]["lines_changed"] = sum(len(r["lines_changed"]) for r in rows)
    out["total"]["lines_read"] = sum(r["lines_read"] for r in rows)
    t = out["total"]
    print(f"planted lines read: {t['read_raw']} -> {t['read_split']} of {t['planted']} "
          f"(recall {t['read_raw'] / t['planted']:.3f} -> {t['read_split'] / t['planted']:.3f}); planted words "
          f"lost {t['planted_words_lost']}; lines changed {t['lines_changed']} of {t['lines_read']}")  # fmt: skip
    if args.film is not None:
        reads = _read(ocr, args.film, args.film_from)
        pairs = [(x, split_glued(x)) for _, lines in reads for x in lines]
        changed = sorted({f"{x!r} -> {y!r}" for x, y in pairs if y != x})
        n = sum(len(x) for _, x in reads)
        print(f"{args.film.name} from {args.film_from:.0f} s: {len(changed)} distinct lines changed, {n} lines read")
        for c in changed:
            print(f"    {c}")
        out["film"] = {"video": args.film.name, "from_s": args.film_from, "lines_read": n, "changed": changed}
    write_json(json_path(args, "glued_words"), out)


if __name__ == "__main__":
    main()
