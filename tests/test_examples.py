"""The README's examples run as written, and `vidscout ask` answers a real question end to end.

Real media (LibriVox speech over vtest.avi footage), real embedded models, the real default planner.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vidscout.media import samples

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def speech_video(media_cache: Path) -> Path:
    clip, _ = samples.speech_video(samples.vtest(media_cache), samples.librivox_clips()[:2],
                                   media_cache / "speech_vtest.mp4")  # fmt: skip
    return clip


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder for the module: the first test to open the video ingests it, the other reuses the database."""
    return tmp_path_factory.mktemp("data")


def test_readme_python_example_runs(speech_video: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has a Python example"
    code = blocks[0].replace('"movie.mp4"', repr(str(speech_video)))
    monkeypatch.setenv("VIDSCOUT_DATA_DIR", str(data_dir))
    scope: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), scope)
    answer = scope["answer"]
    assert getattr(answer, "error", "x") is None and getattr(answer, "answer", "")


def test_ask_cli_answers_a_speech_question_with_evidence(speech_video: Path, data_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "VIDSCOUT_DATA_DIR": str(data_dir)}
    question = "What is the full name of the man the narrator talks about?"
    r = subprocess.run([sys.executable, "-m", "vidscout.cli.app", "ask", str(speech_video), question, "--json",
                        "--trajectory", str(tmp_path / "t.jsonl")],
                       env=env, capture_output=True, text=True, timeout=900)  # fmt: skip
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert "dashwood" in answer["answer"].lower(), answer
    assert answer["evidence"], answer
    first = answer["evidence"][0]["span"]
    assert first["start_s"] < 8.0  # "Mr. John Dashwood" is said in the first clip (1.0-7.9 s)
    lines = (tmp_path / "t.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["text"] == question and json.loads(lines[-1])["type"] == "answer"
