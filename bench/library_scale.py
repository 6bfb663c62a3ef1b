"""Ingesting a library on more workers, and searching it as it grows; FTS5 bm25() against the hand-written BM25.

1. Ingest: N real videos (`vidscout.media.collection.short_videos`: Big Buck Bunny cuts with their soundtrack,
   vtest street cuts, every third with an espeak-ng sentence) are ingested into a fresh library three times:
   one worker (in this process), a process pool of two, and a local Ray cluster (2 CPUs, one task per video).
   Wall time includes loading the models (once per worker process). The stores and the library index of
   every run are compared: same row counts per table, same documents.
2. Search: the 1-worker stores, replicated (one library member per copy, each a distinct slot), make libraries
   of 1, 10, 100, 1000 and 10000 videos (10000 x 40 s is about as many rows as 100 hour-long videos); hybrid
   search latency (query embedding included) p50/p95 per size, and per ranker.
3. Text ranking across the library at 100 videos and more: SQLite FTS5 ``bm25()`` (the library index) against
   `vidscout.retrieval.bm25.BM25Index` built over the same documents: build/open cost, query p50/p95, memory,
   and how far their top 10 agree on the distinct (unreplicated) library.

Run: python bench/library_scale.py [--videos 12] [--seconds 40] [--sizes 1,10,100,1000,10000] [--no-ray]
     [--json bench/results/library_scale.json]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import math
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from vidscout.media.collection import short_videos
from vidscout.memory.batch import Runner
from vidscout.memory.catalog import LibraryUpdate, update_library
from vidscout.memory.library_index import LibraryIndex, sync_index
from vidscout.memory.store import LAYER_TABLES, VideoStore
from vidscout.models.registry import Backends
from vidscout.retrieval.bm25 import BM25Index
from vidscout.retrieval.library import LibrarySearcher
from vidscout.settings import Settings
from vidscout.text import tokenize

TABLES = sorted(t for tables in LAYER_TABLES.values() for t in tables)
GENERIC_QUERIES = (
    "rabbit", "a big tree in a meadow", "people walking in the street", "bird", "butterfly", "sky and clouds",
    "car", "a man with a bag", "grass", "flying squirrel", "apple", "water",
)  # fmt: skip


class Replica(NamedTuple):
    """A library member for the replicated indexes: a copy of an ingested video under its own slot."""

    slot: int
    key: str
    path: Path
    name: str


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    """Milliseconds of ``repeats`` calls of ``fn``."""
    out: list[float] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    """p50 and p95 (ms), rounded."""
    return {"p50_ms": round(percentile(samples, 50), 3), "p95_ms": round(percentile(samples, 95), 3)}


def digest(settings: Settings, update: LibraryUpdate) -> dict[str, Any]:
    """What two equal builds share: per store, row counts of every table, documents and speech; the index's docs."""
    stores: dict[str, Any] = {}
    for row in update.rows:
        if row.key is None:
            continue
        with VideoStore.open(settings.videos_dir / row.key) as store:
            stores[row.name] = {
                "counts": {t: store.count(t) for t in TABLES},
                "docs": [(d.kind, d.start_s, d.end_s, d.text) for d in store.documents()],
                "speech": [(u.start_s, u.end_s, u.text) for u in sorted(store.utterances(), key=lambda u: u.id)],
            }
    with LibraryIndex.open(update.root) as index:
        library = {"docs": [t for _, t in index.all_doc_texts()], "frames": index.count("frames")}
    return {"stores": stores, "library": library}


def run_ingest(
    folder: Path, data: Path, *, workers: int, runner: Runner, threads: int
) -> tuple[LibraryUpdate, Settings]:
    settings = Settings(data_dir=data, threads=threads)
    t0 = time.perf_counter()
    update = update_library("bench", [folder], settings, workers=workers, runner=runner)
    print(f"  {runner} x{workers}: {time.perf_counter() - t0:.1f}s, {len(update.failed)} failed", flush=True)
    return update, settings


def ingest_part(folder: Path, work: Path, *, use_ray: bool, threads: int) -> tuple[list[dict[str, Any]], Settings]:
    modes: list[tuple[str, Runner, int]] = [("1 worker", "local", 1), ("2 workers", "local", 2)]
    if use_ray:
        modes.append(("Ray, local cluster (2 CPUs)", "ray", 2))
    rows: list[dict[str, Any]] = []
    digests: list[dict[str, Any]] = []
    first_settings: Settings | None = None
    for label, runner, workers in modes:
        if runner == "ray":
            import ray

            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            update, settings = run_ingest(folder, work / label.split(",")[0].replace(" ", "_"), workers=workers,
                                          runner=runner, threads=threads)  # fmt: skip
        finally:
            if runner == "ray":
                import ray

                ray.shutdown()
        first_settings = first_settings or settings
        digests.append(digest(settings, update))
        per_video = [r.seconds for r in update.rows if r.status != "failed"]
        rows.append({
            "mode": label, "runner": runner, "workers": workers, "wall_s": round(update.wall_s, 1),
            "videos": len(update.rows), "failed": len(update.failed),
            "video_s": round(sum(r.duration_s for r in update.rows), 1),
            "mean_ingest_s_per_video": round(statistics.mean(per_video), 2) if per_video else None,
            "index_docs": update.index.docs, "index_frames": update.index.frames,
        })  # fmt: skip
    base = rows[0]["wall_s"]
    for row, d in zip(rows, digests, strict=True):
        row["speedup"] = round(base / row["wall_s"], 2)
        row["identical_to_1_worker"] = d == digests[0]
    assert first_settings is not None
    return rows, first_settings


def queries_for(root: Path, folder: Path) -> list[str]:
    """Spoken sentences of the collection (first words), frame labels from the index, and generic descriptions."""
    spoken: list[str] = []
    for side in sorted(folder.glob("video_*.mp4.json")):
        needles = json.loads(side.read_text()).get("needles") or []
        spoken += [" ".join(str(n["text"]).split()[:5]) for n in needles]
    with sqlite3.connect(root / "index.sqlite") as conn:
        rows = conn.execute("SELECT tags FROM frames LIMIT 200").fetchall()
    tags = sorted({t.strip() for (tag_text,) in rows for t in str(tag_text).split(",") if t.strip()})
    return spoken + tags[:: max(1, len(tags) // 8)][:8] + list(GENERIC_QUERIES)


def replicate(size: int, base: Sequence[Replica]) -> list[Replica]:
    return [Replica(i, base[i % len(base)].key, base[i % len(base)].path, f"copy{i:04d}_{base[i % len(base)].name}")
            for i in range(size)]  # fmt: skip


def search_part(
    settings: Settings, update: LibraryUpdate, folder: Path, work: Path, sizes: Sequence[int], repeats: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    backends = Backends(settings)
    base = [Replica(i, r.key, r.path, r.name) for i, r in enumerate(r for r in update.rows if r.key is not None)]
    queries = queries_for(update.root, folder)
    print(f"  {len(queries)} queries x {repeats}", flush=True)
    results: list[dict[str, Any]] = []
    bm25_rows: list[dict[str, Any]] = []
    agreement = bm25_agreement(update.root, queries)
    for size in sizes:
        root = work / f"lib{size}"
        t0 = time.perf_counter()
        synced = sync_index(root, replicate(size, base), settings.videos_dir)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        index = LibraryIndex.open(root)
        open_s = time.perf_counter() - t0
        searcher = LibrarySearcher(index, text_embedder=backends.text_embedder, image_text_embedder=backends.image_text)
        for q in queries[:3]:
            searcher.search(q)  # warm: models loaded, caches filled
        rankers: dict[str, Callable[[str], object]] = {
            "hybrid": lambda q, s=searcher: s.search(q, top_k=8),
            "bm25 (FTS5)": lambda q, s=searcher: s.rank_bm25(q),
            "dense text": lambda q, s=searcher: s.rank_text(q),
            "text→frame": lambda q, s=searcher: s.rank_frames(q),
        }
        samples: dict[str, list[float]] = {name: [] for name in rankers}
        for q in queries:
            for name, rank in rankers.items():
                samples[name] += timed(lambda q=q, rank=rank: rank(q), repeats)
        row = {
            "videos": size, "docs": synced.docs, "frames": synced.frames, "index_build_s": round(build_s, 2),
            "index_open_s": round(open_s, 3), "index_mb": round(_size_mb(root), 2),
            **{f"{k}": summary_ms(v) for k, v in samples.items()},
        }  # fmt: skip
        results.append(row)
        print(f"  {size:>5} videos: hybrid p50 {row['hybrid']['p50_ms']:.1f} ms, p95 {row['hybrid']['p95_ms']:.1f} ms",
              flush=True)  # fmt: skip
        if size >= 100:
            bm25_rows.append(bm25_compare(index, queries, repeats))
        index.close()
    return results, {"at_size": bm25_rows, "agreement_on_distinct_library": agreement}


def _size_mb(root: Path) -> float:
    return sum(p.stat().st_size for p in root.iterdir() if p.is_file()) / 1e6


def bm25_compare(index: LibraryIndex, queries: Sequence[str], repeats: int) -> dict[str, Any]:
    """FTS5 bm25() against BM25Index over the same documents: cost to have it ready, query latency, memory."""
    terms = [tokenize(q) for q in queries]
    tracemalloc.start()
    t0 = time.perf_counter()
    rows = index.all_doc_texts()
    hand = BM25Index.from_texts([t for _, t in rows])
    build_s = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    fts: list[float] = []
    mine: list[float] = []
    for ts in terms:
        fts += timed(lambda ts=ts: index.bm25(ts, 50), repeats)
        mine += timed(lambda ts=ts: hand.top(ts, 50), repeats)
    return {
        "videos": len(index.videos), "docs": len(rows),
        "fts5": {**summary_ms(fts), "ready_s": 0.0, "on_disk_mb": round(_size_mb(index.root), 2),
                 "note": "persistent: nothing to build when a process starts; updated per video by sync_index"},
        "hand_bm25": {**summary_ms(mine), "ready_s": round(build_s, 3), "build_peak_mb": round(peak / 1e6, 1),
                      "note": "in memory: every process must read and tokenize every document first"},
    }  # fmt: skip


def bm25_agreement(root: Path, queries: Sequence[str], k: int = 10) -> dict[str, Any]:
    """Mean overlap of the two rankers' top ``k`` on the library as ingested (no replicas, so no exact ties)."""
    with LibraryIndex.open(root) as index:
        rows = index.all_doc_texts()
        hand = BM25Index.from_texts([t for _, t in rows])
        overlaps: list[float] = []
        for q in queries:
            ts = tokenize(q)
            a = {i for i, _ in index.bm25(ts, k)}
            b = {rows[i][0] for i, _ in hand.top(ts, k)}
            if a or b:
                overlaps.append(len(a & b) / max(len(a), len(b)))
    return {"queries": len(overlaps), f"mean_overlap_at_{k}": round(statistics.mean(overlaps), 3) if overlaps else None}


def growth(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    """Slope of log(p50) against log(videos) between the smallest and largest library (1.0 = linear)."""
    a, b = rows[0], rows[-1]
    if b["videos"] == a["videos"] or a[key]["p50_ms"] <= 0:
        return None
    return round(math.log(b[key]["p50_ms"] / a[key]["p50_ms"]) / math.log(b["videos"] / a["videos"]), 3)


def main() -> None:
    """Run the three parts and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=40.0, help="Length of each video (6-79 s).")
    ap.add_argument("--threads", type=int, default=2, help="Model threads in all, shared out among the workers.")
    ap.add_argument("--sizes", default="1,10,100,1000,10000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--cache", type=Path, default=Path(".cache/media"))
    ap.add_argument("--json", type=Path, default=Path("bench/results/library_scale.json"))
    args = ap.parse_args()
    t_start = time.perf_counter()
    folder = args.cache / "library" / f"bench_{args.videos}x{args.seconds:.0f}s"
    t0 = time.perf_counter()
    videos = short_videos(args.cache, folder, count=args.videos, seconds=args.seconds, size=(640, 360))
    print(f"{len(videos)} videos of {args.seconds:.0f} s in {folder} ({time.perf_counter() - t0:.1f}s to build)")
    with tempfile.TemporaryDirectory(prefix="vidscout-library-scale-") as tmp:
        work = Path(tmp)
        print("ingest:", flush=True)
        ingest_rows, settings = ingest_part(folder, work / "ingest", use_ray=not args.no_ray, threads=args.threads)
        update = update_library("bench", [folder], settings)  # cached: the 1-worker library, for its rows
        print("search:", flush=True)
        sizes = [int(s) for s in args.sizes.split(",") if s]
        search_rows, bm25 = search_part(settings, update, folder, work / "search", sizes, args.repeats)
    growth_of = {k: growth(search_rows, k) for k in ("hybrid", "bm25 (FTS5)", "dense text", "text→frame")}
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "load_avg_at_end": [round(x, 2) for x in os.getloadavg()]},
        "videos": {"count": len(videos), "seconds_each": args.seconds, "folder": str(folder)},
        "ingest": ingest_rows,
        "search": search_rows,
        "search_growth_loglog_slope": growth_of,
        "text_ranking": bm25,
        "bench_wall_s": round(time.perf_counter() - t_start, 1),
    }
    print_tables(result)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")


def print_tables(result: dict[str, Any]) -> None:
    print(f"\n{'mode':<30}{'wall s':>8}{'speed-up':>10}{'failed':>8}{'identical':>11}")
    for r in result["ingest"]:
        print(
            f"{r['mode']:<30}{r['wall_s']:>8.1f}{r['speedup']:>10.2f}{r['failed']:>8}{r['identical_to_1_worker']!s:>11}"
        )
    print(f"\n{'videos':>7}{'docs':>8}{'frames':>8}{'hybrid p50/p95 ms':>20}{'FTS5 p50/p95':>16}{'dense':>16}"
          f"{'frames':>16}")  # fmt: skip
    for r in result["search"]:
        cells = "".join(
            f"{r[k]['p50_ms']:>8.1f}/{r[k]['p95_ms']:<7.1f}"
            for k in ("hybrid", "bm25 (FTS5)", "dense text", "text→frame")
        )
        print(f"{r['videos']:>7}{r['docs']:>8}{r['frames']:>8}    {cells}")
    print(f"growth (log-log slope of p50): {result['search_growth_loglog_slope']}")
    for r in result["text_ranking"]["at_size"]:
        f, h = r["fts5"], r["hand_bm25"]
        print(
            f"{r['videos']} videos, {r['docs']} docs: FTS5 p50 {f['p50_ms']} ms p95 {f['p95_ms']} ms, ready 0 s; "
            f"hand BM25 p50 {h['p50_ms']} ms p95 {h['p95_ms']} ms, ready {h['ready_s']} s, {h['build_peak_mb']} MB"
        )
    print(f"agreement: {result['text_ranking']['agreement_on_distinct_library']}")


if __name__ == "__main__":
    main()
