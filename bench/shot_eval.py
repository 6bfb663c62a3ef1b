"""Shot-cut detection precision and recall at +-0.5 s, on videos whose cuts are known by construction.

Test videos join pieces of real footage with `concat_with_known_cuts`. Each Big Buck Bunny piece lies
inside one source shot: at least 1 s away from every cut that our `ShotDetector` or ffmpeg's scene
filter (score > 0.3) finds in the film, and away from dark (fade) frames and the credits. vtest.avi
is one static-camera shot, so its pieces are always cut-free; two vtest pieces back to back make a
near-invisible cut, scored separately as the hard case.

Run: python bench/shot_eval.py [--seconds N] [--quick]
     (--quick: the first 120 s of the film; results in bench/results/shot_eval[_quick].json)
"""

from __future__ import annotations

import os

# Any OpenMP runtime pulled in by an import must not spin idle threads and inflate CPU times.
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import argparse
import itertools
import math
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import add_json_option, json_path, write_json

from vidscout.media.samples import big_buck_bunny, concat_with_known_cuts, vtest
from vidscout.video.decode import ScanOptions, probe, scan
from vidscout.video.segment import ShotDetector

TOLERANCE_S = 0.5
MARGIN_S = 1.0  # a piece starts and ends at least this far from any source cut
FFMPEG_THRESHOLDS = (0.3, 0.4)
BBB_FILM_S = (10.0, 480.0)  # the film proper: after the opening, before the end credits (~485 s)
DARK_MEAN = 24.0  # thumbnails darker than this (0..255 mean) mark fades; pieces avoid them
VTEST_SAME_CAMERA = "vtest|vtest"
NEXT_SHOT = "bbb|next shot"  # the two pieces either side of one of the film's own cuts
SWSCALE = "ours, swscale thumbs"  # the same detector on thumbnails made as before `decode.thumbnail`


@dataclass(frozen=True)
class Detection:
    """Cuts one detector found in one video, and what finding them cost."""

    cuts_s: list[float]
    cpu_s: float
    wall_s: float
    shared_with: str = ""  # detectors computed by the same run (same CPU)


@dataclass
class Tally:
    """Matching counts, summed over videos."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    cpu_s: float = 0.0
    missed: list[str] = field(default_factory=list[str])

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else math.nan

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else math.nan

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else math.nan


# --- matching (pure) ---------------------------------------------------------------------------


def match_cuts(truth_s: Sequence[float], found_s: Sequence[float], tol_s: float) -> list[tuple[int, int]]:
    """One-to-one matches (truth index, found index) within ``tol_s``, closest pairs first."""
    pairs = sorted(
        (abs(t - f), i, j) for i, t in enumerate(truth_s) for j, f in enumerate(found_s) if abs(t - f) <= tol_s
    )
    used_t: set[int] = set()
    used_f: set[int] = set()
    out: list[tuple[int, int]] = []
    for _, i, j in pairs:
        if i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
            out.append((i, j))
    return sorted(out)


def agreement(a_s: Sequence[float], b_s: Sequence[float], tol_s: float) -> float:
    """Fraction of the cuts in ``a_s`` that ``b_s`` also has within ``tol_s`` (one-to-one)."""
    return len(match_cuts(a_s, b_s, tol_s)) / len(a_s) if a_s else math.nan


# --- detectors ---------------------------------------------------------------------------------


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass(frozen=True)
class OursRun:
    """Our detector's cuts plus per-frame signals kept for choosing pieces."""

    cuts_s: list[float]
    times_s: NDArray[np.float64]
    motion: NDArray[np.float32]  # mean |diff| of consecutive grey thumbnails, 0..255; [0] = 0
    brightness: NDArray[np.float32]  # mean grey level of each thumbnail, 0..255


def detect_ours(path: Path, end_s: float, *, fast_thumbs: bool = True) -> OursRun:
    """`ShotDetector` over the thumbnails of one `scan` pass (no analysis images).

    ``fast_thumbs=False`` makes the thumbnails with swscale, as scans did before `decode.thumbnail`.
    """
    det = ShotDetector()
    times: list[float] = []
    grey: list[NDArray[np.float32]] = []
    for f in scan(path, ScanOptions(sample_every_s=1e9, end_s=end_s, fast_thumbs=fast_thumbs)):
        det.push(f.t_s, f.thumb)
        times.append(f.t_s)
        grey.append(f.thumb.mean(axis=2, dtype=np.float32))
    g = np.stack(grey)
    motion = np.concatenate([[0.0], np.abs(np.diff(g, axis=0)).mean(axis=(1, 2))]).astype(np.float32)
    return OursRun(list(det.cuts), np.asarray(times), motion, g.mean(axis=(1, 2)))


_PTS_TIME = re.compile(r"pts_time:(\S+)")
_SCORE = re.compile(r"lavfi\.scene_score=(\S+)")


def ffmpeg_scene_scores(path: Path, end_s: float) -> list[tuple[float, float]]:
    """(pts_time, scene score) of every frame, from one run of ffmpeg's ``select`` scene filter.

    ``select='gt(scene,T)'`` scores every frame against the previous one whatever T is, so one run
    that prints all scores gives the cuts for every threshold.
    """
    limit = ["-t", f"{end_s:.6f}"] if math.isfinite(end_s) else []
    with tempfile.TemporaryDirectory(prefix="shot-eval-") as tmp:
        out = Path(tmp) / "scores.txt"
        graph = f"select='gte(scene,0)',metadata=print:key=lavfi.scene_score:file={out}"
        cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", *limit, "-i", str(path)]
        subprocess.run([*cmd, "-an", "-vf", graph, "-f", "null", "-"], check=True)
        text = out.read_text(encoding="utf-8")
    scores: list[tuple[float, float]] = []
    t: float | None = None
    for line in text.splitlines():
        if m := _PTS_TIME.search(line):
            t = float(m.group(1))
        elif (m := _SCORE.search(line)) and t is not None:
            scores.append((t, float(m.group(1))))
    return scores


def pyscenedetect_factories() -> dict[str, Callable[[], Any]]:
    """PySceneDetect's detectors with default settings; empty when it is not installed."""
    try:
        from scenedetect import AdaptiveDetector, ContentDetector, HistogramDetector
    except ImportError:
        return {}
    return {
        "PySceneDetect Content": ContentDetector,
        "PySceneDetect Histogram": HistogramDetector,
        "PySceneDetect Adaptive": AdaptiveDetector,
    }


def detect_pyscenedetect(path: Path, end_s: float, factory: Callable[[], Any]) -> list[float]:
    """Start times of every scene after the first, from ``scenedetect.detect``."""
    from scenedetect import detect

    end = end_s if math.isfinite(end_s) else None
    scenes = detect(str(path), factory(), end_time=end)
    return [float(start.seconds) for start, _ in scenes[1:]]


def run_all(path: Path, end_s: float = math.inf) -> tuple[dict[str, Detection], OursRun]:
    """Every detector on one video, each timed on its own."""
    found: dict[str, Detection] = {}
    cpu0, t0 = _cpu_s(), time.perf_counter()
    ours = detect_ours(path, end_s)
    found["ours ShotDetector"] = Detection(ours.cuts_s, _cpu_s() - cpu0, time.perf_counter() - t0)
    cpu0, t0 = _cpu_s(), time.perf_counter()
    swscale = detect_ours(path, end_s, fast_thumbs=False)
    found[SWSCALE] = Detection(swscale.cuts_s, _cpu_s() - cpu0, time.perf_counter() - t0)

    cpu0, t0 = _cpu_s(), time.perf_counter()
    scores = ffmpeg_scene_scores(path, end_s)
    cpu, wall = _cpu_s() - cpu0, time.perf_counter() - t0
    names = [f"ffmpeg scene>{th}" for th in FFMPEG_THRESHOLDS]
    for name, th in zip(names, FFMPEG_THRESHOLDS, strict=True):
        cuts = [t for t, s in scores if s > th]
        found[name] = Detection(cuts, cpu, wall, shared_with=", ".join(n for n in names if n != name))

    for name, factory in pyscenedetect_factories().items():
        cpu0, t0 = _cpu_s(), time.perf_counter()
        cuts = detect_pyscenedetect(path, end_s, factory)
        found[name] = Detection(cuts, _cpu_s() - cpu0, time.perf_counter() - t0)
    return found, ours


# --- choosing pieces ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A cut-free stretch of a source: ``dur_s`` seconds from ``start_s``."""

    source: str  # "bbb" or "vtest"
    start_s: float
    dur_s: float
    note: str = ""
    pair: int = -1  # pieces sharing a pair number come from consecutive shots of the film


def safe_intervals(
    cuts_s: Sequence[float],
    times_s: NDArray[np.float64],
    brightness: NDArray[np.float32],
    *,
    lo_s: float,
    hi_s: float,
) -> list[tuple[float, float]]:
    """Stretches of [lo_s, hi_s] at least MARGIN_S from every cut and every dark frame."""
    dark = [float(t) for t in times_s[brightness < DARK_MEAN]]
    # Runs of dark frames block the whole run; a lone cut blocks +-MARGIN_S around it.
    blocks = sorted([(c - MARGIN_S, c + MARGIN_S) for c in [*cuts_s, *dark]])
    out: list[tuple[float, float]] = []
    start = lo_s
    for a, b in blocks:
        if a > start:
            out.append((start, min(a, hi_s)))
        start = max(start, b)
        if start >= hi_s:
            break
    if start < hi_s:
        out.append((start, hi_s))
    return [(a, b) for a, b in out if b - a > 0.5]


def window_motion(ours: OursRun, start_s: float, dur_s: float) -> float:
    sel = (ours.times_s >= start_s) & (ours.times_s < start_s + dur_s)
    return float(ours.motion[sel][1:].mean()) if sel.sum() > 1 else 0.0


def fastest_window(ours: OursRun, intervals: Sequence[tuple[float, float]], dur_s: float) -> Piece | None:
    """The ``dur_s`` window inside a safe interval with the most frame-to-frame change."""
    best: tuple[float, float] | None = None
    for a, b in intervals:
        t = a
        while t + dur_s <= b:
            m = window_motion(ours, t, dur_s)
            if best is None or m > best[0]:
                best = (m, t)
            t += 0.25
    if best is None:
        return None
    return Piece("bbb", round(best[1], 3), dur_s, f"fast motion: mean |diff| {best[0]:.1f}/255")


def pick_bbb_pieces(
    intervals: list[tuple[float, float]], durations: Sequence[float], rng: random.Random
) -> list[Piece]:
    """One piece per safe interval (so pieces come from different shots), longest pieces first."""
    free = list(intervals)
    picked: dict[int, Piece] = {}
    for k in sorted(range(len(durations)), key=lambda i: -durations[i]):
        dur = durations[k]
        fits = [iv for iv in free if iv[1] - iv[0] >= dur]
        if not fits:
            continue
        a, b = rng.choice(fits)
        free.remove((a, b))
        picked[k] = Piece("bbb", round(rng.uniform(a, b - dur), 3), dur)
    return [picked[k] for k in sorted(picked)]


def consecutive_shot_pairs(
    intervals: Sequence[tuple[float, float]],
    bbb_found: dict[str, Detection],
    *,
    dur_s: float,
    n: int,
    rng: random.Random,
) -> list[tuple[Piece, Piece]]:
    """Pieces just before and just after film cuts that most detectors agree on.

    Joined, they make a cut like the film's own (minus ``2 * MARGIN_S`` around it): two shots of
    one scene, often with similar colours, which is harder than joining random shots.
    """
    voters = [n for n in bbb_found if n != f"ffmpeg scene>{max(FFMPEG_THRESHOLDS)}"]
    need = math.ceil(0.6 * len(voters))
    candidates: list[tuple[Piece, Piece]] = []
    for (a1, b1), (a2, b2) in itertools.pairwise(intervals):
        if b1 - a1 < dur_s or b2 - a2 < dur_s or a2 - b1 > 2 * MARGIN_S + 0.1:
            continue  # too short, or more than one cut (or a fade) lies between them
        cut = 0.5 * (b1 + a2)
        votes = sum(any(abs(c - cut) <= TOLERANCE_S for c in bbb_found[v].cuts_s) for v in voters)
        if votes >= need:
            candidates.append((Piece("bbb", round(b1 - dur_s, 3), dur_s), Piece("bbb", round(a2, 3), dur_s)))
    picked = sorted(rng.sample(candidates, min(n, len(candidates))), key=lambda lr: lr[0].start_s)
    # Pairs never share an interval: drop any pair overlapping an earlier one.
    out: list[tuple[Piece, Piece]] = []
    for left, right in picked:
        if not out or left.start_s > out[-1][1].start_s + out[-1][1].dur_s:
            k = len(out)
            out.append(
                (
                    Piece("bbb", left.start_s, dur_s, f"pair {k} before cut", k),
                    Piece("bbb", right.start_s, dur_s, f"pair {k} after cut", k),
                )
            )
    return out


def _far_apart(pieces: list[Piece]) -> list[Piece]:
    """Reorder so no two neighbours come from the same shot (same source and within 10 s)."""
    out: list[Piece] = []
    rest = list(pieces)
    while rest:
        for i, p in enumerate(rest):
            if not out or not (p.source == out[-1].source and abs(p.start_s - out[-1].start_s) < 10):
                out.append(rest.pop(i))
                break
        else:
            out.append(rest.pop(0))
    return out


@dataclass(frozen=True)
class TestVideo:
    """A built test video with its true cuts and the kind of each cut."""

    name: str
    path: Path
    pieces: list[Piece]
    cuts_s: list[float]
    kinds: list[str]  # "<source>|<source>" per cut; VTEST_SAME_CAMERA is the hard case


def _overlaps(iv: tuple[float, float], p: Piece) -> bool:
    return iv[0] < p.start_s + p.dur_s and p.start_s < iv[1]


def build_videos(
    bbb: Path,
    vt: Path,
    intervals: list[tuple[float, float]],
    bbb_found: dict[str, Detection],
    ours: OursRun,
    cache: Path,
) -> tuple[list[TestVideo], Piece | None]:
    """The three test videos, and the fast-motion piece if one was found."""
    rng = random.Random(0)
    pairs = consecutive_shot_pairs(intervals, bbb_found, dur_s=2.0, n=5, rng=rng)
    paired = [p for pair in pairs for p in pair]
    fast = fastest_window(ours, [iv for iv in intervals if not any(_overlaps(iv, p) for p in paired)], 3.0)
    taken = paired + ([fast] if fast is not None else [])
    # Lengths in seconds; 1-2 s pieces test detectors that enforce a minimum shot length.
    mix_lengths = [4.0, 1.0, 3.0, 1.5, 5.0, 2.0, 3.5, 1.0, 4.0, 2.5, 6.0, 1.5, 3.0, 2.0]
    cross_lengths = [3.0, 1.0, 2.5, 1.5, 4.0, 2.0]
    usable = [iv for iv in intervals if not any(_overlaps(iv, p) for p in taken)]
    bbb_pieces = pick_bbb_pieces(usable, [*mix_lengths, *cross_lengths], rng)
    mix = bbb_pieces[: len(mix_lengths)]
    if fast is not None:
        mix.insert(len(mix) // 2, fast)
    cross_bbb = bbb_pieces[len(mix_lengths) :]
    # vtest pieces from different moments (people have moved on), never back to back in "cross".
    cross_vt = [Piece("vtest", s, d) for s, d in [(3.0, 2.0), (25.0, 1.0), (47.0, 3.0), (66.0, 1.5), (14.0, 4.0)]]
    cross: list[Piece] = []
    for b, v in zip(cross_bbb, cross_vt, strict=False):  # strictly alternating: no vtest|vtest cut here
        cross += [b, v]
    same_camera = [
        Piece("vtest", s, d) for s, d in [(2.0, 4.0), (20.0, 3.0), (40.0, 5.0), (58.0, 2.0), (9.0, 3.0), (70.0, 1.5)]
    ]
    mix = _far_apart(mix) + [p for pair in pairs for p in pair]
    specs = [("bbb_pieces", mix), ("bbb_vtest_cross", cross), ("vtest_same_camera", same_camera)]
    paths = {"bbb": bbb, "vtest": vt}
    out: list[TestVideo] = []
    for name, pieces in specs:
        if len(pieces) < 2:
            print(f"{name}: too few cut-free pieces in the analysed span; skipped", file=sys.stderr)
            continue
        sources = [(paths[p.source], p.start_s, p.dur_s) for p in pieces]
        path, cuts = concat_with_known_cuts(sources, cache / f"shot_eval_{name}.mp4")
        kinds = [
            NEXT_SHOT if a.pair >= 0 and a.pair == b.pair else f"{a.source}|{b.source}"
            for a, b in itertools.pairwise(pieces)
        ]
        out.append(TestVideo(name, path, pieces, cuts, kinds))
    return out, fast


# --- report ------------------------------------------------------------------------------------


def score(videos: Sequence[TestVideo], found: dict[str, dict[str, Detection]]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    for v in videos:
        for name, det in found[v.name].items():
            tally = tallies.setdefault(name, Tally())
            matched = match_cuts(v.cuts_s, det.cuts_s, TOLERANCE_S)
            hit = {i for i, _ in matched}
            tally.tp += len(matched)
            tally.fp += len(det.cuts_s) - len(matched)
            tally.fn += len(v.cuts_s) - len(matched)
            tally.cpu_s += det.cpu_s
            tally.missed += [
                f"{v.name}@{c:.2f}({k})" for i, (c, k) in enumerate(zip(v.cuts_s, v.kinds, strict=True)) if i not in hit
            ]
    return tallies


def format_scores(tallies: dict[str, Tally]) -> str:
    head = f"{'detector':<25} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} "
    head += f"{'recall':>7} {'F1':>6} {'CPU s':>7}"
    lines = [head, "-" * len(head)]
    for name, t in tallies.items():
        lines.append(
            f"{name:<25} {t.tp:>4} {t.fp:>4} {t.fn:>4} {t.precision:>9.3f} {t.recall:>7.3f} "
            f"{t.f1:>6.3f} {t.cpu_s:>7.2f}"
        )
    return "\n".join(lines)


def format_recall_by_kind(videos: Sequence[TestVideo], found: dict[str, dict[str, Detection]]) -> str:
    kinds = sorted({k for v in videos for k in v.kinds})
    hits: dict[str, dict[str, list[int]]] = {}
    for v in videos:
        for name, det in found[v.name].items():
            matched = {i for i, _ in match_cuts(v.cuts_s, det.cuts_s, TOLERANCE_S)}
            for i, kind in enumerate(v.kinds):
                cell = hits.setdefault(name, {}).setdefault(kind, [0, 0])
                cell[0] += i in matched
                cell[1] += 1
    head = f"{'detector':<25} " + " ".join(f"{k:>14}" for k in kinds)
    lines = [head, "-" * len(head)]
    for name, row in hits.items():
        lines.append(f"{name:<25} " + " ".join(f"{f'{row[k][0]}/{row[k][1]}':>14}" for k in kinds))
    return "\n".join(lines)


def disagreements(found: dict[str, Detection]) -> tuple[list[float], list[float]]:
    """Our cuts that ffmpeg's scene filter lacks, and cuts most other detectors find but we miss."""
    ours = found["ours ShotDetector"].cuts_s
    ffmpeg = found[f"ffmpeg scene>{min(FFMPEG_THRESHOLDS)}"].cuts_s
    ours_only = [c for c in ours if not any(abs(c - f) <= TOLERANCE_S for f in ffmpeg)]
    others = [n for n in found if n not in ("ours ShotDetector", SWSCALE, f"ffmpeg scene>{max(FFMPEG_THRESHOLDS)}")]
    need = math.ceil(0.6 * len(others))
    missed: list[float] = []
    for c in sorted(c for n in others for c in found[n].cuts_s):
        if missed and c - missed[-1] <= TOLERANCE_S:
            continue
        votes = sum(any(abs(c - x) <= TOLERANCE_S for x in found[n].cuts_s) for n in others)
        if votes >= need and not any(abs(c - o) <= TOLERANCE_S for o in ours):
            missed.append(c)
    return ours_only, missed


def _short(name: str) -> str:
    short = name.replace(SWSCALE, "ours swscale").replace("ours ShotDetector", "ours")
    return short.replace("PySceneDetect ", "PSD ").replace("scene>", ">")


def format_agreement(found: dict[str, Detection]) -> str:
    names = list(found)
    head = f"{'detector':<25} {'cuts':>5} {'CPU s':>7} | " + " ".join(f"{_short(n):>13}" for n in names)
    lines = [head, "-" * len(head)]
    for a in names:
        cells = " ".join(f"{agreement(found[a].cuts_s, found[b].cuts_s, TOLERANCE_S):>13.2f}" for b in names)
        lines.append(f"{a:<25} {len(found[a].cuts_s):>5} {found[a].cpu_s:>7.1f} | {cells}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, help="analyse only the first N s of Big Buck Bunny")
    parser.add_argument("--cache", type=Path, default=Path(".cache/media"), help="media cache folder")
    parser.add_argument("--quick", action="store_true", help="analyse only the first 120 s of Big Buck Bunny")
    add_json_option(parser, "shot_eval")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = min(args.seconds or 120.0, 120.0)

    bbb = big_buck_bunny(args.cache)
    vt = vtest(args.cache)
    info = probe(bbb)
    end_s = min(args.seconds, info.duration_s) if args.seconds else math.inf
    span_s = min(end_s, info.duration_s)

    print(f"Big Buck Bunny, first {span_s:.1f} s: running every detector ...", file=sys.stderr)
    bbb_found, ours = run_all(bbb, end_s)
    # Pieces avoid every cut either detector sees: ffmpeg at its lowest threshold finds the most.
    avoid = sorted(
        {*bbb_found["ours ShotDetector"].cuts_s, *bbb_found[f"ffmpeg scene>{min(FFMPEG_THRESHOLDS)}"].cuts_s}
    )
    lo, hi = BBB_FILM_S[0], min(BBB_FILM_S[1], span_s)
    intervals = safe_intervals(avoid, ours.times_s, ours.brightness, lo_s=lo, hi_s=hi)
    videos, fast = build_videos(bbb, vt, intervals, bbb_found, ours, args.cache)

    print("vtest.avi alone and the test videos ...", file=sys.stderr)
    vtest_alone, _ = run_all(vt)
    found = {v.name: run_all(v.path)[0] for v in videos}

    easy = [v for v in videos if v.name != "vtest_same_camera"]
    hard = [v for v in videos if v.name == "vtest_same_camera"]
    easy_scores, hard_scores = score(easy, found), score(hard, found)

    print(f"Shot-cut detection at +-{TOLERANCE_S} s; cut times known by construction")
    for v in videos:
        short = sum(p.dur_s <= 2.0 for p in v.pieces)
        print(
            f"  {v.name}: {len(v.pieces)} pieces ({short} of <= 2 s), {len(v.cuts_s)} cuts, "
            f"{sum(p.dur_s for p in v.pieces):.1f} s"
        )
    if fast is not None:
        print(f"  fast-motion piece: bbb {fast.start_s:.2f}+{fast.dur_s:.1f} s ({fast.note})")
    print()
    n_easy = sum(len(v.cuts_s) for v in easy)
    print(f"Different shots ({', '.join(v.name for v in easy)}: {n_easy} cuts)")
    print(format_scores(easy_scores))
    print()
    print("Recall by kind of cut (found/total; 'bbb|next shot' = pieces either side of a film cut)")
    print(format_recall_by_kind(videos, found))
    print()
    n_hard = sum(len(v.cuts_s) for v in hard)
    print(f"Hard case: same static camera, vtest piece after vtest piece ({n_hard} cuts)")
    print(format_scores(hard_scores))
    print()
    print("Cuts found in vtest.avi alone (one shot, so every cut is false):")
    print("  " + ", ".join(f"{_short(n)}: {len(d.cuts_s)}" for n, d in vtest_alone.items()))
    print()
    print(f"Big Buck Bunny, first {span_s:.1f} s (film + credits): cuts per detector and pairwise agreement")
    print(f"(fraction of the row detector's cuts that the column detector also finds within +-{TOLERANCE_S} s)")
    print(format_agreement(bbb_found))
    print("ffmpeg rows share one scene-score run, so their CPU is the same")
    ours_only, ours_missed = disagreements(bbb_found)
    print(f"ours, not ffmpeg>0.3 ({len(ours_only)}): " + ", ".join(f"{t:.2f}" for t in ours_only))
    print(f"most others, not ours ({len(ours_missed)}): " + ", ".join(f"{t:.2f}" for t in ours_missed))
    for name, t in easy_scores.items():
        if t.missed:
            print(f"  missed by {name}: {', '.join(t.missed)}")

    payload: dict[str, Any] = {
        "tolerance_s": TOLERANCE_S,
        "videos": [
            {
                "name": v.name,
                "path": str(v.path),
                "cuts_s": v.cuts_s,
                "kinds": v.kinds,
                "pieces": [asdict(p) for p in v.pieces],
            }
            for v in videos
        ],
        "scores": {
            group: {
                n: {**asdict(t), "precision": t.precision, "recall": t.recall, "f1": t.f1} for n, t in tallies.items()
            }
            for group, tallies in [("different_shots", easy_scores), ("same_camera", hard_scores)]
        },
        "detections": {v: {n: asdict(d) for n, d in dets.items()} for v, dets in found.items()},
        "vtest_alone": {n: asdict(d) for n, d in vtest_alone.items()},
        "bbb": {
            "span_s": span_s,
            "detections": {n: asdict(d) for n, d in bbb_found.items()},
            "safe_intervals": intervals,
            "ours_not_ffmpeg": ours_only,
            "others_not_ours": ours_missed,
        },
    }
    write_json(json_path(args, "shot_eval"), payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
