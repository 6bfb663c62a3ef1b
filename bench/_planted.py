"""Options shared by the benches that draw planted videos from seeds: which seeds, sizes, length, media cache."""

from __future__ import annotations

import argparse
import random
from pathlib import Path


def add_planted_options(ap: argparse.ArgumentParser, *, fresh: int, duration_s: float) -> None:
    """``--seeds``, ``--fresh``, ``--sizes``, ``--duration`` and ``--cache``."""
    ap.add_argument("--seeds", default="", help="Comma-separated seeds (default: --fresh new ones).")
    ap.add_argument("--fresh", type=int, default=fresh, help="How many fresh seeds to draw when --seeds is not given.")
    ap.add_argument("--sizes", default="640x360,1280x720")
    ap.add_argument("--duration", type=float, default=duration_s, help="Seconds per video.")
    ap.add_argument("--cache", type=Path, default=Path(".cache/media"))


def planted_seeds(args: argparse.Namespace) -> list[int]:
    """``--seeds``, or ``--fresh`` seeds drawn from the OS (printed by the caller, so a run can be repeated)."""
    return [int(s) for s in args.seeds.split(",") if s] or [
        random.SystemRandom().randrange(10**6) for _ in range(args.fresh)
    ]


def planted_sizes(args: argparse.Namespace) -> list[tuple[int, int]]:
    """``--sizes`` as (width, height) pairs."""
    return [(int(w), int(h)) for w, h in (s.split("x") for s in args.sizes.split(","))]
