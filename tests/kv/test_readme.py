"""The README's KV example runs as written on real media with the real embedded models."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vidscout.media import samples

README = Path(__file__).resolve().parents[2] / "README.md"
REPO = Path(__file__).resolve().parents[2]


def test_readme_kv_example_runs(media_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video, _ = samples.speech_video(samples.vtest(media_cache), samples.librivox_clips()[:2],
                                    media_cache / "speech_vtest.mp4")  # fmt: skip
    blocks = [b for b in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S) if "answer_with_kv" in b]
    assert len(blocks) == 1
    # Share the converted model with the other KV tests instead of dequantising the GGUF again.
    (tmp_path / "weights").symlink_to(REPO / ".cache" / "vidscout-test" / "weights", target_is_directory=True)
    monkeypatch.setenv("VIDSCOUT_DATA_DIR", str(tmp_path))
    scope: dict[str, object] = {}
    exec(compile(blocks[0].replace('"movie.mp4"', repr(str(video))), "README.md", "exec"), scope)
    answer = scope["answer"]
    assert getattr(answer, "error", "x") is None and getattr(answer, "answer", "")
    assert list((tmp_path / "videos").glob("*/kv/*/segments/clip-*.safetensors"))  # caches were stored
