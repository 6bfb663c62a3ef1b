"""The MCP server's pure parts: ingest progress that only grows, answer text, the ask arguments."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("mcp")

from vidscout.answering import STRATEGY_NAMES
from vidscout.cli.app import app
from vidscout.mcp.server import AskArgs, answer_text, ingest_progress
from vidscout.types import Answer, Evidence, TimeSpan


def test_ingest_progress_sums_layer_fractions_and_only_grows() -> None:
    sent: list[tuple[float, str]] = []
    progress = ingest_progress(lambda value, message: sent.append((value, message)))
    progress("scan", 30.0, 60.0)
    progress("scan", 60.0, 60.0)
    progress("tags", 8.0, 16.0)
    progress("frame_vectors", 8.0, 16.0)
    progress("tags", 8.0, 16.0)  # no growth: nothing sent
    progress("speech", 0.0, 0.0)  # an empty layer counts as done
    assert sent == [(0.5, "scan 50%"), (1.0, "scan 100%"), (1.5, "tags 50%"), (2.0, "frame_vectors 50%"),
                    (3.0, "speech 100%")]  # fmt: skip


def test_answer_text_carries_evidence_and_provenance() -> None:
    answer = Answer(question="q", answer="John Dashwood", option="B", option_source="planner", strategy="agent",
                    evidence=(Evidence(span=TimeSpan(start_s=1.0, end_s=8.0), note="speech"),), steps=3,
                    verified=False, forced=True, check_reason="the transcript names someone else")  # fmt: skip
    text = answer_text(answer)
    assert "Answer: John Dashwood" in text and "Option: B (chosen by planner)" in text
    assert "- 00:00:01-00:00:08 speech" in text
    assert "the self-check disagreed" in text and "forced" in text and "someone else" in text
    assert answer_text(Answer(question="q", answer="", error="server down")) == "No answer: server down"


def test_ask_offers_every_strategy() -> None:
    choices = typing.get_args(AskArgs.model_fields["strategy"].annotation)
    assert set(choices) == set(STRATEGY_NAMES)


def test_readme_client_config_launches_the_mcp_command() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    configs = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", readme, flags=re.S) if "mcpServers" in b]
    assert configs, "the README shows an mcpServers config"
    server = configs[0]["mcpServers"]["vidscout"]
    assert server["command"] == "vidscout" and server["args"][:2] == ["mcp", "--allow"]
    shown = CliRunner().invoke(app, [*server["args"], "--help"])
    assert shown.exit_code == 0 and "--allow" in shown.output and "--http" in shown.output
