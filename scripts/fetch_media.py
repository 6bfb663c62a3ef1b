"""Fetch the sample videos used by the demo and the tests, and print their paths (one per line).

Run: python scripts/fetch_media.py [bbb|vtest|all] [--cache .cache/media]
Progress goes to stderr, so ``> file`` captures only the paths.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from vidscout.errors import VidScoutError
from vidscout.media.samples import big_buck_bunny, vtest

FETCHERS: dict[str, Callable[[Path], Path]] = {"bbb": big_buck_bunny, "vtest": vtest}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch sample videos and print their paths.")
    parser.add_argument("which", nargs="?", default="all", choices=[*FETCHERS, "all"])
    parser.add_argument("--cache", type=Path, default=Path(".cache/media"), help="cache folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    names = list(FETCHERS) if args.which == "all" else [args.which]
    try:
        for name in names:
            print(FETCHERS[name](args.cache))
    except VidScoutError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
