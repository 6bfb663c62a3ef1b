"""A directory of allowed videos (a real speech clip) and a data dir shared by the MCP tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidscout.video import samples

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def allowed_dir(media_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``videos/speech.mp4`` (LibriVox speech over vtest.avi, "Mr. John Dashwood" at 1-8 s), a symlink leading out."""
    clip, _ = samples.speech_video(samples.vtest(media_cache), samples.librivox_clips()[:2],
                                   media_cache / "speech_vtest.mp4")  # fmt: skip
    root = tmp_path_factory.mktemp("allowed") / "videos"
    root.mkdir()
    shutil.copy(clip, root / "speech.mp4")
    (root / "escape.mp4").symlink_to(clip)  # a real video, but outside the allowed directory
    return root


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp-data")


def server_env() -> dict[str, str]:
    """The test's environment, with ``src`` importable in the server process."""
    path = os.pathsep.join(p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listened on 127.0.0.1:{port} within {timeout_s} s")


@pytest.fixture
def http_server(allowed_dir: Path, data_dir: Path) -> Iterator[str]:
    """``vidscout mcp --http PORT`` on loopback; yields its URL and stops it afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "vidscout.cli.app", "mcp", "--allow", str(allowed_dir), "--data-dir", str(data_dir),
           "--http", str(port)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=server_env(), stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc, timeout_s=60)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
