"""Helpers for tests that start a vidscout server process on loopback and talk to it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def server_env() -> dict[str, str]:
    """The test's environment, with ``src`` importable in the server process."""
    path = os.pathsep.join(p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def vidscout_command(*args: str) -> list[str]:
    """``vidscout ARGS`` as run from this checkout."""
    return [sys.executable, "-m", "vidscout.cli.app", *args]


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(args: list[str], port: int, *, timeout_s: float = 60) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``vidscout ARGS`` until something listens on 127.0.0.1:``port``; stop it on exit."""
    proc = subprocess.Popen(vidscout_command(*args), env=server_env(), stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"vidscout {' '.join(args)} exited with {proc.returncode}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listened on 127.0.0.1:{port} within {timeout_s} s")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
