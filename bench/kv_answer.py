"""Answer-step latency of KV-cache retrieval vs re-prefilling the same evidence, side by side in one run.

For every question of bench/qa_questions.json, clips are retrieved once (the database's hybrid
search, top 6 under 1024 tokens) and the same clips are answered from twice with the in-process
0.5B planner (greedy, <= 40 tokens): (kv) stored per-clip caches are read from disk, re-rotated
and spliced, and only the question is prefilled; (prefill) the same clip tokens are run through
the model after the same cached prefix. Both share the cached system prefix, so the ratio is KV
reuse vs recomputing the evidence, not vs recomputing the prompt. Clip caches are encoded before
timing (their one-off cost is reported separately). Printed: latency per step and the ratio,
answer agreement (identical text) and accuracy of both by qa_eval's rule, disk bytes per clip and
per hour of video, and resident memory while answering.

Databases, built and ingested here when missing (both cached): the QA video (bench/qa_eval.py's, in
.cache/vidscout-qa; needles planted, so answers are gradable) and a long video (.cache/vidscout-hour:
bench/ingest_hour.py's footage, Big Buck Bunny looped to --hour-minutes with a speech track, or any
--hour-video). On the long video, a sample of clips is encoded and the full precompute is extrapolated
from the measured token count of every clip (stated as such in the output). A first run ingests both
videos, which takes a while (the hour: about a quarter of its length or more on a laptop CPU).

Run: python bench/kv_answer.py [--limit N] [--sample 40] [--hour-minutes 60 | --hour-video V | --skip-hour]
     [--quick]   (--quick: 4 questions, 4 sampled clips, a 5-minute "hour";
                  results in bench/results/kv_answer[_quick].json)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import dataclasses
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import add_json_option, json_path, write_json  # noqa: E402  (bench scripts are not a package)
from ingest_hour import hour_video  # noqa: E402
from qa_eval import build_video, correct  # noqa: E402

from vidscout.api import Video  # noqa: E402
from vidscout.kv import KVOptions, kv_engine  # noqa: E402
from vidscout.kv.answer import KVEngine  # noqa: E402
from vidscout.media.needles import Needle  # noqa: E402
from vidscout.memory.build import store_dir  # noqa: E402
from vidscout.memory.store import VideoStore  # noqa: E402
from vidscout.settings import Settings  # noqa: E402


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _norm(text: str) -> str:
    return " ".join(text.lower().replace(".", " ").split())


def compare(engine: KVEngine, questions: list[dict[str, Any]], *, gradable: bool) -> list[dict[str, Any]]:
    """Answer each question both ways on the same clips; rows with timings and answers."""
    rows: list[dict[str, Any]] = []
    for n, q in enumerate(questions):
        ranking = engine.rank(q["question"])
        selected = engine.select(ranking)
        t = time.perf_counter()
        for i in selected:
            engine.segment(i)  # encode what is missing (one-off, lazily at ingest or first use)
        encode_s = time.perf_counter() - t
        runs = {}
        for mode in ("kv", "prefill") if n % 2 == 0 else ("prefill", "kv"):
            runs[mode] = engine.run(q["question"], selected=selected, mode=mode)
        kv, pf = runs["kv"], runs["prefill"]
        kv = dataclasses.replace(kv, ranking=ranking)
        spans = [(e.span.start_s, e.span.end_s) for e in engine.to_answer(q["question"], (), kv).evidence]
        row: dict[str, Any] = {
            "id": q["id"],
            "kind": q["kind"],
            "clips": len(selected),
            "context_tokens": kv.context_tokens,
            "encode_s": encode_s,
            "kv": kv.text,
            "prefill": pf.text,
            "agree": _norm(kv.text) == _norm(pf.text),
            "same_first_token": kv.token_ids[:1] == pf.token_ids[:1],
        }
        for mode, r in runs.items():
            row[f"{mode}_ttft_s"] = r.timings["context_s"] + r.timings["question_s"]
            row[f"{mode}_total_s"] = r.timings["context_s"] + r.timings["question_s"] + r.timings["decode_s"]
            row[f"{mode}_decode_tokens"] = len(r.token_ids)
        if gradable:
            row["kv_ok"] = correct(q, kv.text, spans)
            row["prefill_ok"] = correct(q, pf.text, spans)
        rows.append(row)
        print(
            f"  {q['id']:<14} {len(selected)} clips {kv.context_tokens:>4} tok  "
            f"kv {row['kv_total_s']:5.2f}s  prefill {row['prefill_total_s']:5.2f}s  "
            f"{'same' if row['agree'] else 'DIFF'}  {kv.text[:60]!r}",
            flush=True,
        )
    return rows


def summarise(name: str, rows: list[dict[str, Any]], *, gradable: bool) -> dict[str, Any]:
    """Print and return the medians, ratios and agreement of one database's rows."""
    med = {
        k: statistics.median(r[k] for r in rows)
        for k in ("kv_ttft_s", "prefill_ttft_s", "kv_total_s", "prefill_total_s")
    }
    sums = {k: sum(r[k] for r in rows) for k in med}
    out: dict[str, Any] = {
        "questions": len(rows),
        "median": med,
        "ttft_ratio_prefill_over_kv": sums["prefill_ttft_s"] / sums["kv_ttft_s"],
        "total_ratio_prefill_over_kv": sums["prefill_total_s"] / sums["kv_total_s"],
        "agreement": sum(r["agree"] for r in rows) / len(rows),
        "first_token_agreement": sum(r["same_first_token"] for r in rows) / len(rows),
        "median_context_tokens": statistics.median(r["context_tokens"] for r in rows),
    }
    print(f"{name}: {len(rows)} questions, median {out['median_context_tokens']:.0f} context tokens")
    print(
        f"  time to first token  kv {med['kv_ttft_s']:.3f} s  prefill {med['prefill_ttft_s']:.3f} s (median)"
        f"  -> prefill/kv = {out['ttft_ratio_prefill_over_kv']:.2f}x (sum over questions)"
    )
    print(
        f"  whole answer step    kv {med['kv_total_s']:.3f} s  prefill {med['prefill_total_s']:.3f} s (median)"
        f"  -> prefill/kv = {out['total_ratio_prefill_over_kv']:.2f}x"
    )
    print(
        f"  agreement: identical answer {100 * out['agreement']:.0f}%, "
        f"same first token {100 * out['first_token_agreement']:.0f}%"
    )
    if gradable:
        out["kv_accuracy"] = sum(r["kv_ok"] for r in rows) / len(rows)
        out["prefill_accuracy"] = sum(r["prefill_ok"] for r in rows) / len(rows)
        print(
            f"  accuracy (qa_eval rule): kv {100 * out['kv_accuracy']:.0f}%, "
            f"prefill {100 * out['prefill_accuracy']:.0f}%"
        )
    return out


def disk_cost(engine: KVEngine, video: Video, *, sample: int) -> dict[str, Any]:
    """Measured bytes per cached clip and per token, projected to every clip and to one hour."""
    t = time.perf_counter()
    tokens = [len(engine.token_ids(i)) for i in range(len(engine.clips))]
    tokenize_s = time.perf_counter() - t
    step = max(1, len(engine.clips) // sample)
    todo = [i for i in range(0, len(engine.clips), step)][:sample]
    missing = [i for i in todo if not engine.kv.segment_path("clip", i).exists()]
    t = time.perf_counter()
    engine.precompute(missing)
    encode_s = time.perf_counter() - t
    files = [engine.kv.segment_path("clip", i) for i in todo]
    sample_bytes = sum(f.stat().st_size for f in files)
    sample_tokens = sum(tokens[i] for i in todo)
    per_token = sample_bytes / sample_tokens
    total_tokens = sum(tokens)
    hours = video.info.duration_s / 3600
    projected = per_token * total_tokens
    out = {
        "clips": len(engine.clips),
        "clip_tokens_total": total_tokens,
        "clip_tokens_mean": total_tokens / len(tokens),
        "sample_clips": len(todo),
        "sample_bytes": sample_bytes,
        "bytes_per_clip": sample_bytes / len(todo),
        "bytes_per_token": per_token,
        "projected_bytes_all_clips": projected,
        "projected_bytes_per_hour": projected / hours,
        "encode_s_per_clip": encode_s / len(missing) if missing else None,
        "projected_precompute_s_per_hour": (encode_s / sum(tokens[i] for i in missing)) * total_tokens / hours
        if missing
        else None,
        "tokenize_all_s": tokenize_s,
        "storage": engine.kv.manifest.dtype,
    }
    kib = out["bytes_per_clip"] / 1024
    print(
        f"  disk: {kib:.0f} KiB per clip ({per_token:.0f} B per token, {out['storage']}), sample of {len(todo)} clips;"
    )
    print(f"  {len(engine.clips)} clips = {total_tokens} tokens (every clip tokenized)")
    per_hour = out["projected_bytes_per_hour"] / 2**20
    print(f"  -> projected {projected / 2**20:.0f} MiB for this video, {per_hour:.0f} MiB per hour of video")
    print("     (extrapolated: the sample's bytes per token x the token count of every clip)")
    if missing:
        print(
            f"  encode: {out['encode_s_per_clip']:.2f} s per clip on this machine -> full precompute "
            f"~{out['projected_precompute_s_per_hour'] / 60:.0f} min per hour of video (extrapolated)"
        )
    return out


def run_db(
    name: str,
    video_path: Path,
    data_dir: Path,
    questions: list[dict[str, Any]],
    args: argparse.Namespace,
    *,
    gradable: bool,
) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, threads=2)
    with Video.open(video_path, settings=settings) as video:
        engine = kv_engine(video, KVOptions())
        print(
            f"{name}: {video_path.name}, {video.info.duration_s / 60:.0f} min, {len(engine.clips)} clips, "
            f"model {engine.model.name} (load {engine.model.load_s:.1f} s)",
            flush=True,
        )
        warm = engine.run(questions[0]["question"])  # pages the weights in and warms torch up; not recorded
        engine.run(questions[0]["question"], selected=warm.selected, mode="prefill")
        rss0 = _current_rss_mib()
        rows = compare(engine, questions, gradable=gradable)
        rss1 = _current_rss_mib()
        result = summarise(name, rows, gradable=gradable)
        result["disk"] = disk_cost(engine, video, sample=args.sample)
        on_disk = engine.kv.cached_count()
        rss2 = _current_rss_mib()
        # Bounded memory: the caches on disk grew (sample), the process did not load them.
        engine.run(questions[0]["question"])
        rss3 = _current_rss_mib()
        result["memory"] = {
            "rss_before_mib": rss0,
            "rss_after_questions_mib": rss1,
            "rss_after_sample_mib": rss2,
            "rss_after_one_more_question_mib": rss3,
            "caches_on_disk": on_disk,
            "cache_dir_bytes": engine.kv.disk_bytes(),
        }
        print(
            f"  memory: RSS {rss0:.0f} -> {rss1:.0f} MiB over {len(rows)} questions; {on_disk} clip caches on disk "
            f"({engine.kv.disk_bytes() / 2**20:.0f} MiB); one more question: {rss3:.0f} MiB"
        )
        result["rows"] = rows
    return result


def _ingested(video: Path, data_dir: Path) -> bool:
    """True when the video's database is complete (so opening it will not start a long ingest)."""
    root = store_dir(Settings(data_dir=data_dir).videos_dir, video)
    if not (root / "db.sqlite").exists():
        return False
    with VideoStore.open(root) as store:
        return bool(store.get_meta("ingest_complete")) and all(s.done for s in store.layers())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--media", type=Path, default=Path(".cache/media"))
    ap.add_argument("--qa-data-dir", type=Path, default=Path(".cache/vidscout-qa"))
    ap.add_argument("--hour-data-dir", type=Path, default=Path(".cache/vidscout-hour"))
    ap.add_argument("--hour-minutes", type=float, default=60.0, help="Length of the long video built when needed.")
    ap.add_argument("--hour-video", type=Path, default=None,
                    help="Use this long video instead (ingested into --hour-data-dir if it is not yet), e.g. the "
                         "needle benchmark's hour.")  # fmt: skip
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--sample", type=int, default=40, help="Clips encoded to measure bytes and encode time.")
    ap.add_argument("--skip-qa", action="store_true")
    ap.add_argument("--skip-hour", action="store_true")
    ap.add_argument("--quick", action="store_true", help="4 questions, 4 sampled clips, a 5-minute long video.")
    add_json_option(ap, "kv_answer")
    args = ap.parse_args()
    if args.quick:
        args.limit, args.sample, args.hour_minutes = min(args.limit or 4, 4), min(args.sample, 4), 5.0
    import torch

    torch.set_num_threads(2)
    spec = json.loads((HERE / "qa_questions.json").read_text())
    questions = spec["questions"][: args.limit] if args.limit else spec["questions"]
    print(f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, {len(questions)} questions", flush=True)
    results: dict[str, Any] = {}
    if not args.skip_qa:
        qa_video = build_video(args.media, [Needle.model_validate(n) for n in spec["needles"]])
        if not _ingested(qa_video, args.qa_data_dir):
            print(f"qa: ingesting {qa_video.name} into {args.qa_data_dir} (once)", flush=True)
        results["qa"] = run_db("qa", qa_video, args.qa_data_dir, questions, args, gradable=True)
    if not args.skip_hour:
        long_video = args.hour_video or hour_video(args.media, args.hour_minutes)
        if not _ingested(long_video, args.hour_data_dir):
            print(f"hour: ingesting {long_video.name} into {args.hour_data_dir} (once; long)", flush=True)
        results["hour"] = run_db("hour", long_video, args.hour_data_dir, questions, args, gradable=False)
    results["peak_rss_mib"] = _rss_mib()
    write_json(json_path(args, "kv_answer"), results)


if __name__ == "__main__":
    main()
