"""``vidscout mcp`` through the official SDK's own client: over stdio and over streamable HTTP on loopback.

A real video, real embedded models; one real agent question (about a minute on a CPU), the rest retrieval.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

mcp = pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters  # noqa: E402
from mcp_types import CallToolResult, ImageContent, TextContent  # noqa: E402

from tests.servers import server_env, vidscout_command  # noqa: E402

TOOLS = {"ingest", "chapters", "browse", "search", "transcript", "occurrences", "shown_while", "order", "recurrences",
         "zoom_in", "ask"}  # fmt: skip


def _text(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


async def _call(
    client: Client, name: str, args: dict[str, Any], progress: list[tuple[float, str]] | None = None
) -> CallToolResult:
    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        if progress is not None:
            progress.append((value, message or ""))

    return await client.call_tool(name, args, progress_callback=on_progress)


def test_stdio_lists_tools_ingests_with_progress_and_answers(allowed_dir: Path, data_dir: Path) -> None:
    command, *args = vidscout_command("mcp", "--allow", str(allowed_dir), "--data-dir", str(data_dir))
    params = StdioServerParameters(command=command, args=args, env=server_env())

    async def main() -> None:
        with anyio.fail_after(240):
            async with Client(params) as client:
                tools = {t.name: t for t in (await client.list_tools()).tools}
                assert set(tools) == TOOLS
                search_schema = tools["search"].input_schema
                assert search_schema["required"][:2] == ["video", "query"]
                assert "pattern" in json.dumps(search_schema["properties"]["start"])  # the agent's HH:MM:SS schema

                progress: list[tuple[float, str]] = []
                ready = await _call(client, "ingest", {"video": "speech.mp4"}, progress)
                assert not ready.is_error, _text(ready)
                assert "Ready:" in _text(ready) and ready.structured_content is not None
                values = [v for v, _ in progress]
                assert values and values == sorted(set(values)), progress  # MCP progress only grows
                layers = {m.split()[0] for _, m in progress}
                assert {"scan", "speech"} <= layers, layers

                found = await _call(client, "search", {"video": "speech.mp4", "query": "John Dashwood"})
                assert not found.is_error and "Dashwood" in _text(found) and "00:00:0" in _text(found)

                # The agent's fix-it messages, word for word.
                bad = await _call(client, "search", {"video": "speech.mp4", "query": "x", "top_k": 99})
                assert bad.is_error and "invalid arguments for search: top_k" in _text(bad)
                late = await _call(
                    client, "transcript", {"video": "speech.mp4", "start": "01:00:00", "end": "01:00:10"}
                )
                assert late.is_error and "outside the video" in _text(late)

                # Only videos under --allow: no '..', no absolute paths elsewhere, no symlinks leading out.
                outside = str(Path(sys.executable).resolve())
                for video, words in [
                    ("../videos/speech.mp4", "'..' is not allowed"),
                    (outside, "not under the allowed directories"),
                    ("escape.mp4", "not under the allowed directories"),
                    ("missing.mp4", "no such video file"),
                ]:
                    refused = await _call(client, "search", {"video": video, "query": "John"})
                    assert refused.is_error and words in _text(refused), (video, _text(refused))
                counted = await _call(client, "occurrences", {"video": "speech.mp4", "query": "Dashwood"})
                assert not counted.is_error and '"Dashwood" occurs 1 time(s)' in _text(counted), _text(counted)
                escape_target = str((allowed_dir / "escape.mp4").resolve())
                assert escape_target not in _text(await _call(client, "browse", {"video": "escape.mp4"}))

                steps: list[tuple[float, str]] = []
                question = "What is the full name of the man the narrator talks about?"
                answered = await _call(
                    client, "ask", {"video": "speech.mp4", "question": question, "max_steps": 4}, steps
                )
                assert not answered.is_error, _text(answered)
                answer = answered.structured_content
                assert answer is not None and "dashwood" in answer["answer"].lower(), answer
                assert answer["evidence"] and answer["evidence"][0]["span"]["start_s"] < 8.0
                assert answer["strategy"] == "agent"
                assert {"verified", "forced", "option_source", "check_reason"} <= set(answer)
                assert "Evidence:" in _text(answered) and "Provenance: strategy agent" in _text(answered)
                assert any(m.startswith("call ") for _, m in steps), steps  # the steps streamed as progress

                chapters = await _call(client, "chapters", {"video": "speech.mp4"})
                images = [c for c in chapters.content if isinstance(c, ImageContent)]
                assert "chapters:" in _text(chapters) and images and images[0].mime_type == "image/png"
                assert base64.b64decode(images[0].data)[:4] == b"\x89PNG"

    anyio.run(main)


def test_streamable_http_resources_and_retrieval_answer(http_server: str, allowed_dir: Path) -> None:
    async def main() -> None:
        with anyio.fail_after(120):
            async with Client(http_server) as client:
                assert {t.name for t in (await client.list_tools()).tools} == TOOLS
                answered = await _call(client, "ask", {"video": str(allowed_dir / "speech.mp4"),
                                                       "question": "Who is not an ill disposed young man?",
                                                       "strategy": "retrieval"})  # fmt: skip
                assert not answered.is_error, _text(answered)
                assert answered.structured_content and answered.structured_content["strategy"] == "retrieval"
                assert "Evidence:" in _text(answered)

                looked = await _call(client, "zoom_in", {"video": "speech.mp4", "start": "00:00:00", "end": "00:00:06",
                                                          "question": "What is seen?"})  # fmt: skip
                assert not looked.is_error and "zoom_in 00:00:00-00:00:06" in _text(looked), _text(looked)

                listing = await client.read_resource("vidscout://videos")
                videos = json.loads(listing.contents[0].text)["videos"]
                (entry,) = [v for v in videos if v["name"] == "speech.mp4"]
                assert entry["id"], videos  # ingested
                uris = {str(r.uri) for r in (await client.list_resources()).resources}
                sheet_uri = f"vidscout://videos/{entry['id']}/chapters.png"
                assert sheet_uri in uris and f"vidscout://videos/{entry['id']}/chapters" in uris
                sheet = (await client.read_resource(sheet_uri)).contents[0]
                assert sheet.mime_type == "image/png" and base64.b64decode(sheet.blob)[:4] == b"\x89PNG"
                one = (await client.read_resource(f"vidscout://videos/{entry['id']}/chapters/0.png")).contents[0]
                assert base64.b64decode(one.blob)[:4] == b"\x89PNG"

    anyio.run(main)
