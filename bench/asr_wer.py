"""Transcript word error rate of `vidscout ingest` on real speech over real footage.

The video lays every LibriVox clip of Debian's pocketsphinx-testdata (with its reference
transcript) at known times over OpenCV's vtest.avi; each ASR backend ingests it into a fresh
database, and the words whose timestamps fall in each clip's window are scored against it.

Run: python bench/asr_wer.py [--models faster-whisper:tiny.en,faster-whisper:base]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import tempfile
from pathlib import Path

from vidscout.eval.metrics import word_error_rate
from vidscout.media import samples
from vidscout.memory.build import ingest, store_dir
from vidscout.memory.store import VideoStore
from vidscout.models.probe import availability
from vidscout.models.registry import Backends
from vidscout.settings import ModelSpecs, Settings


def main() -> None:
    """Ingest the speech video once per ASR backend and print WER per clip and overall."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", default="faster-whisper:tiny.en,faster-whisper:base")
    ap.add_argument("--cache", type=Path, default=Path(".cache/media"))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    clips = samples.librivox_clips()
    video, truth = samples.speech_video(samples.vtest(args.cache), clips, args.cache / "speech_vtest_all.mp4")
    results: list[dict[str, object]] = []
    print(f"{video.name}: {len(truth)} LibriVox clips, {sum(e - s for s, e, _ in truth):.1f} s of speech")
    print(f"{'model':<26}{'clip':>5}{'WER':>8}{'sub':>5}{'del':>5}{'ins':>5}{'words':>7}  hypothesis")
    for spec in args.models.split(","):
        ok, why = availability(spec)
        if not ok:
            print(f"{spec:<26} skipped: {why}")
            continue
        with tempfile.TemporaryDirectory() as data:
            settings = Settings(data_dir=Path(data), models=ModelSpecs(asr=spec))
            report = ingest(video, settings.videos_dir, Backends(settings))
            with VideoStore.open(store_dir(settings.videos_dir, video)) as store:
                rows = store.query("SELECT words FROM speech ORDER BY start_s")
        words = [w for r in rows for w in json.loads(r[0])]
        asr_s = next(layer.seconds for layer in report.layers if layer.name == "speech")
        all_ref, all_hyp = [], []
        for i, (start, end, ref) in enumerate(truth):
            hyp = " ".join(w[0] for w in words if start - 0.3 <= (w[1] + w[2]) / 2 <= end + 0.3)
            r = word_error_rate(ref, hyp)
            all_ref.append(ref)
            all_hyp.append(hyp)
            print(f"{spec:<26}{i:>5}{r.wer:>8.3f}{r.substitutions:>5}{r.deletions:>5}{r.insertions:>5}"
                  f"{r.ref_words:>7}  {hyp[:60]}")  # fmt: skip
        total = word_error_rate(" ".join(all_ref), " ".join(all_hyp))
        stray = sum(1 for w in words if not any(s - 0.3 <= (w[1] + w[2]) / 2 <= e + 0.3 for s, e, _ in truth))
        head = f"{spec:<26}{'all':>5}{total.wer:>8.3f}{total.substitutions:>5}{total.deletions:>5}"
        tail = f"speech layer {asr_s:.1f} s; words outside clips: {stray}"
        print(f"{head}{total.insertions:>5}{total.ref_words:>7}  {tail}")
        results.append({"model": spec, "wer": total.wer, "speech_layer_s": asr_s, "stray_words": stray})
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
