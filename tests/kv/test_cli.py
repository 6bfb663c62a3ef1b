"""``vidscout ask --strategy``: unknown strategies are refused before any video is opened."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from vidscout.cli.app import app


def test_ask_rejects_an_unknown_strategy(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["ask", str(tmp_path / "missing.mp4"), "Who?", "--strategy", "psychic", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "'psychic' is not one of" in result.output
    assert not (tmp_path / "videos").exists()
