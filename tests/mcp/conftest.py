"""A directory of allowed videos (a real speech clip) and a data dir shared by the MCP tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, serving
from vidscout.media import samples


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


@pytest.fixture
def http_server(allowed_dir: Path, data_dir: Path) -> Iterator[str]:
    """``vidscout mcp --http PORT`` on loopback; yields its URL."""
    port = free_port()
    with serving(["mcp", "--allow", str(allowed_dir), "--data-dir", str(data_dir), "--http", str(port)], port):
        yield f"http://127.0.0.1:{port}/mcp"
