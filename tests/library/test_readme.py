"""The README's library example runs as written, on two short real videos."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.library.conftest import copy_videos

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_library_example_runs(short_set: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = [b for b in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S) if "vidscout.library(" in b]
    assert len(blocks) == 1
    copy_videos([short_set[1], short_set[2]], tmp_path / "lectures")  # street footage; a spoken sentence
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIDSCOUT_DATA_DIR", str(tmp_path / "data"))
    scope: dict[str, object] = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)
    report = scope["report"]
    assert [r.status for r in getattr(report, "rows", [])] == ["ingested", "ingested"]
    assert (tmp_path / "data" / "libraries" / "course" / "library.json").is_file()
