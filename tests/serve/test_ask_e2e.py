"""`vidscout ask --profile vllm --base-url …` answers through a real `vidscout serve` (the default 1.5B planner).

Slow (minutes on a busy 2-core box): run with ``pytest -m slow tests/serve/test_ask_e2e.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve.conftest import REPO, serving
from vidscout.media import samples
from vidscout.models.registry import Backends
from vidscout.serve import ChatServer, ChatService, ServeOptions
from vidscout.settings import Settings


@pytest.fixture(scope="module")
def planner_server() -> Iterator[ChatServer]:
    settings = Settings(data_dir=REPO / ".cache" / "vidscout-test")  # the embedded defaults: 1.5B + composite
    service = ChatService(Backends(settings), ServeOptions(served_model_names=("Qwen/Qwen2.5-VL-7B-Instruct",)))
    yield from serving(service)


@pytest.mark.slow
def test_ask_with_the_vllm_profile_answers_through_vidscout_serve(
    planner_server: ChatServer, media_cache: Path, tmp_path: Path
) -> None:
    video, _ = samples.speech_video(samples.vtest(media_cache), samples.librivox_clips()[:2],
                                    media_cache / "speech_vtest.mp4")  # fmt: skip
    # CLIP and Whisper base are the vllm profile's GPU-host picks; no CLIP weights exist offline.
    env = {**os.environ, "VIDSCOUT_DATA_DIR": str(tmp_path), "VIDSCOUT_MODELS__ASR": "faster-whisper:tiny.en",
           "VIDSCOUT_MODELS__IMAGE_TEXT": "projected-tags"}  # fmt: skip
    question = "What is the full name of the man the narrator talks about?"
    r = subprocess.run([sys.executable, "-m", "vidscout.cli.app", "ask", str(video), question, "--json",
                        "--profile", "vllm", "--base-url", planner_server.url],
                       env=env, capture_output=True, text=True, timeout=1500)  # fmt: skip
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert "dashwood" in answer["answer"].lower(), answer
    assert answer["evidence"] and answer["evidence"][0]["span"]["start_s"] < 8.0, answer
