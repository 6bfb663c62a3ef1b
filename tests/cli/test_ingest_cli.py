"""`vidscout ingest` / `info` as a user runs them, on good and bad inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vidscout.media import samples


@pytest.fixture(scope="module")
def bad(media_cache: Path) -> dict[str, Path]:
    return samples.bad_inputs(media_cache / "bad_inputs")


def _vidscout(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIDSCOUT_DATA_DIR": str(data_dir), "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "vidscout.cli.app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("zero_length", "empty"),
        ("not_video", "not a readable media file"),
        ("audio_only", "audio only"),
        ("missing", "No such file"),
    ],
)
def test_unusable_inputs_fail_cleanly_and_write_nothing(
    tmp_path: Path, bad: dict[str, Path], kind: str, message: str
) -> None:
    path = bad.get(kind, tmp_path / "missing video.mp4")
    r = _vidscout(tmp_path / "data", "ingest", str(path))
    assert r.returncode == 1, r.stderr
    assert message in " ".join(r.stderr.split())
    assert "Traceback" not in r.stderr + r.stdout
    assert not (tmp_path / "data" / "videos").exists() or not any((tmp_path / "data" / "videos").iterdir())


def test_usable_inputs_give_a_correct_database(tmp_path: Path, bad: dict[str, Path]) -> None:
    data = tmp_path / "data"
    results: dict[str, dict[str, object]] = {}
    for kind in ("unicode_path", "video_no_audio", "truncated", "corrupt"):
        r = _vidscout(data, "ingest", str(bad[kind]))
        assert "Traceback" not in r.stderr + r.stdout, (kind, r.stderr)
        assert r.returncode == 0, (kind, r.stderr)
        info = _vidscout(data, "info", str(bad[kind]), "--json")
        assert info.returncode == 0, info.stderr
        results[kind] = json.loads(info.stdout)
    full = results["unicode_path"]
    assert full["complete"] and full["speech"]["segments"], "the intact copy has speech"
    no_audio = results["video_no_audio"]
    assert no_audio["complete"] and no_audio["speech"]["segments"] == []
    assert "speech" not in {layer["name"] for layer in no_audio["layers"]}
    truncated = results["truncated"]
    assert truncated["complete"]
    assert truncated["covered_s"] < 0.8 * truncated["video"]["duration_s"]
    assert truncated["shots"][-1]["end_s"] == pytest.approx(truncated["covered_s"], abs=0.01)
    corrupt = results["corrupt"]
    assert corrupt["complete"] and corrupt["shots"]


def test_info_before_ingest_says_what_to_do(tmp_path: Path, bad: dict[str, Path]) -> None:
    r = _vidscout(tmp_path / "data", "info", str(bad["unicode_path"]))
    assert r.returncode == 1
    assert "run `vidscout ingest VIDEO` first" in " ".join(r.stderr.split())
