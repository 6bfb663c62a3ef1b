"""Where bench scripts write their results: small JSON files under bench/results/ (``--json`` overrides).

A ``--quick`` run writes ``<name>_quick.json`` instead (git-ignored), so a smoke run never replaces the
numbers of a full one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def add_json_option(ap: argparse.ArgumentParser, name: str) -> None:
    """``--json PATH``, defaulting to bench/results/<name>.json (<name>_quick.json with --quick)."""
    default = f"bench/results/{name}.json; {name}_quick.json with --quick"
    ap.add_argument("--json", type=Path, default=None, help=f"Results file (default {default}).")


def json_path(args: argparse.Namespace, name: str) -> Path:
    """The results file for this run."""
    if args.json is not None:
        return Path(args.json)
    return RESULTS / (f"{name}_quick.json" if getattr(args, "quick", False) else f"{name}.json")


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"results: {path}")
