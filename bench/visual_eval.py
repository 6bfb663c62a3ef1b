"""Visual facts and image search on planted videos whose facts are known by construction, from fresh seeds.

Each seed draws one video (`draw_visual_spec`) from real footage and photos: OpenCV's vtest street (people
walking, still camera), Big Buck Bunny and Megamind (animation), opencv-doc photos (still), full-frame colour
cards with film grain, a camera panning over a photo and zooming into one, vtest darkened to night levels; one
photo and one vtest shot are inserted 2-3 times. It is rendered with `vidscout.media.planted.build_planted`,
ingested on the embedded profile into a fresh database, and scored:

* per fact, on every piece (its keyframes, merged as clip documents merge them):
  people present (vtest and messi5.jpg yes; cards, photos without people and Big Buck Bunny no; Megamind and
  the dark street not scored), faces (photos and cards), dominant colour (cards; photos whose dominant
  colour was named by eye), dark (darkened footage yes; lit footage, photos and light cards no), motion
  (static: photos and cards; moving: vtest; pan with its direction; zoom in); people also per examined
  keyframe;
* people counts on 8 vtest frames counted by eye (`VTEST_COUNTS`);
* recurrences: the `recurrences` tool at a time inside the first appearance; right when its count equals the
  number of insertions and every insertion is found;
* order of the still photos, each found by image search with its original file;
* recall@5 of image search (query: the photo file, or a frame decoded from the source footage) side by side
  with the projected-tags text→frame ranking (query: words describing the same picture);
* the cartoon cue: how well simple pixel statistics separate Big Buck Bunny / Megamind keyframes from camera
  footage and photos (AUC), the measurement behind not stating "cartoon";
* cost: seconds per video-minute of the visual_facts and image_vectors layers (wall, and CPU for
  visual_facts), next to the whole ingest (wall and CPU of this process).

Run: python bench/visual_eval.py [--seeds 7,8 | --fresh 2] [--json bench/results/visual_eval.json]
Without --seeds, the seeds are drawn fresh from the OS (printed, so a run can be repeated).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import itertools
import json
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidscout.media import samples
from vidscout.media.planted import MEGAMIND, PHOTO_DIR, Piece, PlantedSpec, PlantedVideo, build_planted
from vidscout.memory.build import ingest, store_dir
from vidscout.memory.store import VideoStore
from vidscout.memory.visual import facts_between, span_facts
from vidscout.models.registry import Backends
from vidscout.models.visual_facts import PEOPLE_SURE, OpenCVFactExtractor, fact_phrases, light_of, summarise_facts
from vidscout.retrieval.images import ImageSearcher, read_image
from vidscout.settings import Settings
from vidscout.tools.default import default_tools
from vidscout.tools.recurrences import RecurrencesResult
from vidscout.tools.registry import ToolContext, VideoDeps
from vidscout.types import TimeSpan, format_hms
from vidscout.video.decode import frames_at

STILLS = {
    # photo: (words for the text baseline, dominant colour names accepted (None: not scored), shows people)
    # Dominant colours were named by eye on the 16:9 centre crop the video shows.
    "baboon.jpg": ("a baboon monkey face", None, False),
    "butterfly.jpg": ("a butterfly on a green leaf", "green", False),
    "fruits.jpg": ("oranges, lemons and limes", None, False),
    "home.jpg": ("a palace under a blue sky", "blue", False),
    "messi5.jpg": ("a football player kicking a ball", None, True),
    "orange.jpg": ("an orange fruit", "orange", False),
    "apple.jpg": ("a red apple", "orange red", False),
    "building.jpg": ("an office building", "white grey", False),
    "HappyFish.jpg": ("a cartoon fish", "white", False),
    "starry_night.jpg": ("a painting of a starry night sky", "blue", False),
    "graf1.png": ("graffiti on a wall", "grey", False),
}  # fmt: skip
CAMERA_PHOTOS = {"baboon.jpg", "butterfly.jpg", "fruits.jpg", "home.jpg", "messi5.jpg", "orange.jpg", "apple.jpg",
                 "building.jpg"}  # fmt: skip
MOVING_PHOTOS = ("fruits.jpg", "home.jpg", "building.jpg", "baboon.jpg", "butterfly.jpg", "orange.jpg",
                 "apple.jpg")  # fmt: skip
CARDS = {"red": "0xc81e1e", "green": "0x1e9632", "blue": "0x1e3cc8", "yellow": "0xe6d21e", "orange": "0xe67814",
         "purple": "0x6e28a0", "white": "0xf0f0f0", "black": "0x0c0c0c", "grey": "0x808080"}  # fmt: skip
VTEST_COUNTS = {2.0: 4, 10.0: 7, 20.0: 7, 30.0: 6, 40.0: 3, 50.0: 4, 60.0: 6, 70.0: 8}
"""People walking in vtest.avi at these times, counted by eye on the 640x480 frames (partly hidden people
counted; see the grid in the commit that added this file)."""
VTEST_WORDS = "people walking on a street"


@dataclass
class Item:
    """A piece and what is known about it by construction (None: not scored)."""

    piece: Piece
    key: str  # the same key for every insertion of one picture or shot
    people: bool | None = None
    faces: bool | None = None
    colour: set[str] | None = None
    dark: bool | None = None
    motion: str | None = None  # static, moving, pan, zoom
    direction: str = ""
    kind: str = ""  # cartoon or camera, for the cartoon cue
    words: str = ""  # text query for the projected-tags baseline
    spans: list[tuple[float, float]] = field(default_factory=list[tuple[float, float]])


def draw_visual_spec(seed: int, *, size: tuple[int, int] = (640, 360)) -> list[Item]:
    """The pieces of one video, in a random order where no picture follows itself."""
    rng = random.Random(seed)
    stills = rng.sample(sorted(STILLS), k=5)
    moving = rng.sample([p for p in MOVING_PHOTOS if p not in stills], k=2)  # a panned photo is that photo too
    items: list[Item] = []

    def still(photo: str, duration: float) -> Item:
        words, colour, people = STILLS[photo]
        return Item(Piece(source="photo", photo=photo, duration_s=duration), f"photo:{photo}", people=people,
                    faces=people, colour=set(colour.split()) if colour else None, dark=False, motion="static",
                    kind="camera" if photo in CAMERA_PHOTOS else "", words=words)  # fmt: skip

    repeats = rng.choice((2, 3))
    items += [still(stills[0], 4.0) for _ in range(repeats)]
    items += [still(p, round(rng.uniform(4.0, 6.0), 1)) for p in stills[1:]]
    # Every lit vtest piece shows the same view from the same still camera: one picture for recurrences.
    vtest = dict(people=True, dark=False, motion="moving", kind="camera", words=VTEST_WORDS)
    start = round(rng.uniform(0.0, 30.0), 1)
    items.append(Item(Piece(source="vtest", start_s=start, duration_s=6.0), "vtest", **vtest))
    items.append(Item(Piece(source="vtest", start_s=round(start + rng.uniform(30.0, 40.0), 1), duration_s=8.0),
                      "vtest", **vtest))  # fmt: skip
    shot = round(rng.uniform(30.0, 500.0), 1)  # a stretch of Big Buck Bunny inserted 2-3 times
    items += [Item(Piece(source="bbb", start_s=shot, duration_s=5.0), f"bbb@{shot}", people=False, kind="cartoon")
              for _ in range(rng.choice((2, 3)))]  # fmt: skip
    other = round(rng.uniform(30.0, 500.0), 1)
    while abs(other - shot) < 30:
        other = round(rng.uniform(30.0, 500.0), 1)
    items.append(Item(Piece(source="bbb", start_s=other, duration_s=8.0), f"bbb@{other}", people=False,
                      kind="cartoon"))  # fmt: skip
    items.append(Item(Piece(source="megamind", start_s=round(rng.uniform(0.0, 5.0), 1), duration_s=5.0), "megamind",
                      kind="cartoon"))  # fmt: skip
    for name in rng.sample(sorted(CARDS), k=3):
        items.append(Item(Piece(source=f"card:{CARDS[name]}", duration_s=4.0), f"card:{name}", people=False,
                          faces=False, colour={name}, dark=name == "black", motion="static"))  # fmt: skip
    direction = rng.choice(("left", "right"))
    items.append(Item(Piece(source=f"pan:{direction}", photo=moving[0], duration_s=6.0), "pan", motion="pan",
                      direction=direction, dark=False))  # fmt: skip
    items.append(Item(Piece(source="zoom:in", photo=moving[1], duration_s=6.0), "zoom", motion="zoom",
                      direction="in", dark=False))  # fmt: skip
    dark_start = round(rng.uniform(30.0, 500.0), 1)
    items.append(Item(Piece(source="dark:bbb", start_s=dark_start, duration_s=6.0), "dark", dark=True))
    while True:
        rng.shuffle(items)
        if all(a.key != b.key for a, b in itertools.pairwise(items)):
            return items


def _render(seed: int, items: list[Item], cache: Path) -> PlantedVideo:
    spec = PlantedSpec(seed=seed, size=(640, 360), pieces=[i.piece for i in items], bed="silence")
    video = build_planted(spec, cache / f"visual_{seed}_640x360.mp4", cache=cache)
    t = 0.0
    for item in items:
        item.spans = [(t, t + item.piece.duration_s)]
        t += item.piece.duration_s
    return video


def _occurrences(items: Sequence[Item], key: str) -> list[tuple[float, float]]:
    return [i.spans[0] for i in items if i.key == key]


def _overlaps(a: TimeSpan, spans: Sequence[tuple[float, float]]) -> bool:
    return any(min(a.end_s, e) > max(a.start_s, s) for s, e in spans)


def _score_facts(store: VideoStore, items: Sequence[Item], misses: list[str]) -> dict[str, list[bool]]:
    """Right/wrong per scored fact, over the pieces (and people also over examined keyframes)."""
    out: dict[str, list[bool]] = {}
    item = items[0]

    def add(name: str, ok: bool) -> None:
        out.setdefault(name, []).append(ok)
        if not ok:
            s, e = item.spans[0]
            what = item.piece.source + (f" {item.piece.photo}" if item.piece.photo else "")
            misses.append(f"{name} wrong at {format_hms(s)}-{format_hms(e)} ({what}): says {fact_phrases(facts)}")

    for item in items:
        (s, e) = item.spans[0]
        a, b = s - 0.02, e - 0.05  # a keyframe shows the piece holding its time (the first one may be at the cut)
        facts = span_facts(store, a, b)
        if item.people is not None:
            add("people present (piece)", (facts.people > 0) == item.people)
            for f in facts_between(store, a, b):
                if f.people is not None:
                    add("people present (examined keyframe)", (f.people.score >= PEOPLE_SURE) == item.people)
        if item.faces is not None:
            add("face present (piece)", (facts.faces > 0) == item.faces)
        if item.colour is not None:
            add("dominant colour (piece)", bool(facts.colours) and facts.colours[0][0] in item.colour)
        if item.dark is not None:
            add("dark (piece)", (light_of(facts.brightness) == "dark") == item.dark)
        if item.motion is not None:
            # Motion compares keyframes of one shot: a piece needs two of them (most 4 s pieces hold one or two).
            # The first keyframe of a piece is compared with the one before the cut when the scan missed it.
            moves = summarise_facts(facts_between(store, a, b)[1:])
            kind = moves.motion[0][0] if moves.motion and moves.motion[0][1] >= 0.5 else ""
            add("motion stated (piece)", bool(kind))
            if kind:
                add("motion kind (piece, when stated)", kind == item.motion)
            if item.direction:
                add(f"{item.motion} direction (piece)", kind == item.motion and moves.direction == item.direction)
    return out


def _vtest_counts(cache: Path, extractor: OpenCVFactExtractor) -> dict[str, Any]:
    times = sorted(VTEST_COUNTS)
    frames = frames_at(samples.vtest(cache), times, width=640)
    found = [extractor.people(f).count for f in frames]
    truth = [VTEST_COUNTS[t] for t in times]
    return {
        "truth": truth, "found": found,
        "mae": round(statistics.fmean(abs(a - b) for a, b in zip(found, truth, strict=True)), 2),
        "lower_bound_holds": round(statistics.fmean(a <= b for a, b in zip(found, truth, strict=True)), 3),
        "within_2": round(statistics.fmean(abs(a - b) <= 2 for a, b in zip(found, truth, strict=True)), 3),
        "share_found": round(sum(found) / sum(truth), 3),
    }  # fmt: skip


def _score_recurrences(ctx: ToolContext, items: Sequence[Item]) -> list[dict[str, Any]]:
    tools = default_tools()
    rows: list[dict[str, Any]] = []
    for key in dict.fromkeys(i.key for i in items):
        truth = _occurrences(items, key)
        if len(truth) < 2:
            continue
        s, e = truth[0]
        outcome = tools.call("recurrences", {"at": format_hms((s + e) / 2)}, ctx)
        result = outcome.result
        found = [it.appearance.span for it in result.items] if isinstance(result, RecurrencesResult) else []
        every = all(any(min(sp.end_s, b) > max(sp.start_s, a) for sp in found) for a, b in truth)
        rows.append({"key": key, "truth": len(truth), "found": len(found), "right": len(found) == len(truth) and every})
    return rows


def _query_frame(item: Item, cache: Path) -> np.ndarray:
    """A frame from the source footage itself (not the rendered video), at the middle of the piece."""
    source = {"vtest": samples.vtest(cache), "bbb": samples.big_buck_bunny(cache), "megamind": MEGAMIND}
    t = item.piece.start_s + item.piece.duration_s / 2
    return frames_at(source[item.piece.source], [t])[0]


def _search(
    store: VideoStore, backends: Backends, deps: VideoDeps, items: Sequence[Item], cache: Path
) -> dict[str, Any]:
    """Recall@5 of image search vs the projected-tags text ranking, and the order of the still photos."""
    images = ImageSearcher.open(store, backends.image)
    image_hits: list[bool] = []
    text_hits: list[bool] = []
    rows: list[dict[str, Any]] = []
    firsts: dict[str, float] = {}
    for key in dict.fromkeys(i.key for i in items):
        item = next(i for i in items if i.key == key)
        truth = _occurrences(items, key)
        if item.piece.source == "photo" and item.piece.photo:
            query = read_image(PHOTO_DIR / item.piece.photo)
        elif item.piece.source in ("vtest", "bbb"):
            query = _query_frame(item, cache)
        else:
            continue
        found = images.search(query, top_k=5)
        hit = any(_overlaps(a.span, truth) for a in found)
        image_hits.append(hit)
        if item.piece.source == "photo" and found:
            # Where the photo is first shown: the earliest of its appearances that match about as well as the best.
            firsts[key] = min(a.span.start_s for a in found if a.score >= found[0].score - 0.1)
        row: dict[str, Any] = {"key": key, "image_hit": hit,
                               "image_found": [(round(a.span.start_s, 1), a.score) for a in found]}  # fmt: skip
        if item.words:
            frames = deps.searcher.rank_frames(item.words)[:5]
            text_hit = any(_overlaps(h.span, truth) for h in frames)
            text_hits.append(text_hit)
            row.update(words=item.words, text_hit=text_hit)
        rows.append(row)
    stills = [i for i in items if i.piece.source == "photo"]
    true_order = list(dict.fromkeys(i.key for i in stills))
    found_order = sorted(firsts, key=lambda k: firsts[k])
    pairs = list(itertools.combinations(true_order, 2))
    right = [(firsts.get(a, 1e9) < firsts.get(b, 1e9)) for a, b in pairs]
    text_rows = [r for r in rows if "text_hit" in r]
    return {
        "image_recall@5": round(statistics.fmean(image_hits), 3) if image_hits else None,
        "text_recall@5_same_queries": round(statistics.fmean(text_hits), 3) if text_hits else None,
        "image_recall@5_same_queries": round(statistics.fmean(r["image_hit"] for r in text_rows), 3)
        if text_rows else None,
        "queries": rows,
        "order_pairs_right": round(statistics.fmean(right), 3) if right else None,
        "order_exact": found_order == true_order,
    }  # fmt: skip


def _cues(image: np.ndarray) -> dict[str, float]:
    """Pixel statistics that might tell animation from camera footage."""
    small = cv2.resize(image, (320, max(1, image.shape[0] * 320 // image.shape[1])), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mag = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    lap = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    quant = (small >> 4).astype(np.int32)
    codes = np.bincount((quant[..., 0] * 256 + quant[..., 1] * 16 + quant[..., 2]).ravel(), minlength=4096)
    return {
        "flat_share": float((mag < 8).mean()),
        "smoothness (-noise)": -float(np.median(lap[mag < 20])) if (mag < 20).any() else 0.0,
        "saturation": float(cv2.cvtColor(small, cv2.COLOR_RGB2HSV)[..., 1].mean()),
        "few_colours (top-16 share)": float(np.sort(codes)[::-1][:16].sum() / codes.sum()),
        "edge_share": float((cv2.Canny(small, 100, 200) > 0).mean()),
    }


def _auc(pos: Sequence[float], neg: Sequence[float]) -> float:
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float((p > n).mean() + 0.5 * (p == n).mean())


def _cartoon_cues(store: VideoStore, items: Sequence[Item]) -> dict[str, dict[str, list[float]]]:
    values: dict[str, dict[str, list[float]]] = {"cartoon": {}, "camera": {}}
    for item in items:
        if not item.kind:
            continue
        (s, e) = item.spans[0]
        for f in store.frames():
            if s + 0.6 <= f.t_s < e - 0.6:
                image = cv2.cvtColor(cv2.imread(str(store.frame_path(f))), cv2.COLOR_BGR2RGB)
                for name, v in _cues(image).items():
                    values[item.kind].setdefault(name, []).append(v)
    return values


def main() -> None:
    """Draw, build, ingest and score; print one block per video and the totals."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="", help="Comma-separated seeds (default: --fresh new ones).")
    ap.add_argument("--fresh", type=int, default=2, help="How many fresh seeds to draw when --seeds is not given.")
    ap.add_argument("--cache", type=Path, default=Path(".cache/media"))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s] or [
        random.SystemRandom().randrange(10**6) for _ in range(args.fresh)
    ]
    print(f"seeds {','.join(map(str, seeds))}", flush=True)
    facts: dict[str, list[bool]] = {}
    recurrences: list[dict[str, Any]] = []
    searches: list[dict[str, Any]] = []
    cues: dict[str, dict[str, list[float]]] = {"cartoon": {}, "camera": {}}
    costs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="vidscout-visual-") as data:
        settings = Settings(data_dir=Path(data))
        backends = Backends(settings)
        counts = _vtest_counts(args.cache, OpenCVFactExtractor())
        print(f"vtest people counts: by eye {counts['truth']}, found {counts['found']}", flush=True)
        for seed in seeds:
            items = draw_visual_spec(seed)
            video = _render(seed, items, args.cache)
            t0, c0 = time.perf_counter(), time.process_time()
            report = ingest(video.path, settings.videos_dir, backends)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            minutes = video.spec.duration_s / 60
            layers = {layer.name: layer for layer in report.layers}
            cost = {
                "minutes": round(minutes, 2),
                "ingest_wall_s_per_min": round(wall / minutes, 2),
                "ingest_cpu_s_per_min": round(cpu / minutes, 2),
                **{f"{n}_wall_s_per_min": round(layer.seconds / minutes, 2) for n, layer in layers.items()},
                "visual_facts_cpu_s_per_min": round(float(layers["visual_facts"].stats["cpu_s"]) / minutes, 2),
            }  # fmt: skip
            costs.append(cost)
            with VideoStore.open(store_dir(settings.videos_dir, video.path)) as store:
                deps = VideoDeps.open(video.path, store, backends)
                misses: list[str] = []
                for name, oks in _score_facts(store, items, misses).items():
                    facts.setdefault(name, []).extend(oks)
                rec = _score_recurrences(ToolContext(deps), items)
                recurrences += rec
                search = _search(store, backends, deps, items, args.cache)
                searches.append(search)
                for kind, by_cue in _cartoon_cues(store, items).items():
                    for name, v in by_cue.items():
                        cues[kind].setdefault(name, []).extend(v)
            print(f"seed {seed}: {len(items)} pieces, {minutes:.1f} min; visual_facts "
                  f"{cost['visual_facts_wall_s_per_min']} s/min wall, {cost['visual_facts_cpu_s_per_min']} CPU; "
                  f"image_vectors {cost['image_vectors_wall_s_per_min']} s/min; ingest {cost['ingest_wall_s_per_min']} "
                  f"s/min wall, {cost['ingest_cpu_s_per_min']} CPU", flush=True)  # fmt: skip
            for m in misses:
                print(f"    {m}")
            for r in rec:
                print(f"    recurrence {r['key']}: {r['truth']} inserted, {r['found']} found", flush=True)
            for q in search["queries"]:
                text = f", text {'hit' if q['text_hit'] else 'miss'} ({q['words']!r})" if "words" in q else ""
                print(f"    search {q['key']}: image {'hit' if q['image_hit'] else 'miss'}{text}")
    accuracy = {name: {"accuracy": round(statistics.fmean(oks), 3), "n": len(oks)} for name, oks in facts.items()}
    cartoon = {
        name: round(_auc(cues["cartoon"][name], cues["camera"][name]), 3)
        for name in cues["cartoon"] if cues["camera"].get(name)
    }  # fmt: skip

    def mean(key: str, rows: Sequence[dict[str, Any]]) -> float | None:
        vals = [r[key] for r in rows if r.get(key) is not None]
        return round(statistics.fmean(vals), 3) if vals else None

    total = {
        "facts": accuracy,
        "vtest_people_counts": counts,
        "recurrence_count_right": {"accuracy": mean("right", recurrences), "n": len(recurrences)},
        "photo_order_pairs_right": mean("order_pairs_right", searches),
        "photo_order_exact": mean("order_exact", searches),
        "search": {
            "image_recall@5 (all queries)": mean("image_recall@5", searches),
            "image_recall@5 (queries with words)": mean("image_recall@5_same_queries", searches),
            "projected_tags_text_recall@5 (same queries, in words)": mean("text_recall@5_same_queries", searches),
        },
        "cartoon_cue_auc (cartoon > camera; not shipped below 0.95)": cartoon,
        "cost_s_per_video_minute": {k: round(statistics.fmean(c[k] for c in costs), 2) for k in costs[0]},
    }
    print("\nper fact (accuracy, n):")
    for name, v in accuracy.items():
        print(f"  {name:<38} {v['accuracy']:.3f}  n={v['n']}")
    print(json.dumps({k: v for k, v in total.items() if k != "facts"}, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = {"seeds": seeds, "total": total, "recurrences": recurrences, "searches": searches, "costs": costs}
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
