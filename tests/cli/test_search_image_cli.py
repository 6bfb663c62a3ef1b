"""``vidscout search --image``: argument errors before anything loads, and the appearances table."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from vidscout.cli.app import app
from vidscout.cli.render import image_hits
from vidscout.retrieval.images import Appearance
from vidscout.types import TimeSpan


def test_search_needs_a_query_or_an_image_but_not_both(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    for args in ([], ["words", "--image", str(tmp_path / "q.jpg")]):
        result = CliRunner().invoke(app, ["search", str(video), *args, "--data-dir", str(tmp_path)])
        assert result.exit_code == 2 and "Give either a QUERY or --image FILE" in result.output, result.output
    missing = CliRunner().invoke(app, ["search", str(video), "--image", str(tmp_path / "q.jpg")])
    assert missing.exit_code == 2 and "No image file at" in missing.output


def test_image_hits_table() -> None:
    buf = StringIO()
    hit = Appearance(span=TimeSpan(start_s=3600.0, end_s=3606.0), score=0.913, frames=3, best_t_s=3602.0)
    image_hits(Console(file=buf, width=100, color_system=None), [hit])
    row = next(line for line in buf.getvalue().splitlines() if "01:00:00" in line)
    assert "01:00:06" in row and "01:00:02" in row and "0.913" in row and "3" in row
    buf = StringIO()
    image_hits(Console(file=buf, width=100, color_system=None), [])
    assert "does not appear" in buf.getvalue()
