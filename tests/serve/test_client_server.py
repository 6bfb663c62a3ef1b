"""The OpenAI-compatible clients against a real `vidscout serve` over loopback HTTP (real models, real media).

Covers a caption request, zoom-ins (frames and clip), a tool-calling turn, a streamed answer, a 500, a
timeout, a refused connection and requests the server rejects; request bodies are checked on the wire
against the shapes transcribed from vLLM's docs (tests/cassettes/vllm).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from tests.db import db_rows
from tests.models.conftest import text_frame
from tests.serve.conftest import NAME, Recorder, cassette
from vidscout.errors import BackendError
from vidscout.memory.build import IngestOptions, ingest, store_dir
from vidscout.memory.store import VideoStore
from vidscout.models.base import ChatMessage, GenerationOptions
from vidscout.models.openai import OpenAILLM
from vidscout.models.openai_video import OpenAIVideoLLM, VideoRequestOptions
from vidscout.models.registry import Backends
from vidscout.serve import ChatServer, ChatService, ServeOptions
from vidscout.settings import ModelSpecs, Settings
from vidscout.tools.registry import ToolContext, VideoDeps
from vidscout.tools.zoom import ZoomArgs, zoom_in
from vidscout.video.decode import probe

SCENES = ("KITCHEN", "GARDEN", "OFFICE")  # 2 s each
TOOLS = [{"type": "function", "function": {
    "name": "search", "description": "Search the video for a moment.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string", "description": "What to look for."}},
                   "required": ["query"]}}}]  # fmt: skip


def _client(url: str, *, sleeps: list[float] | None = None, **kw: Any) -> OpenAILLM:
    return OpenAILLM(NAME, url, sleep=sleeps.append if sleeps is not None else (lambda _s: None), **kw)


def _shape(value: Any) -> Any:
    """Keys and value types, recursively (payloads and texts differ; the structure must not)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in sorted(value.items())}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [_shape(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__


@pytest.fixture(scope="module")
def scenes_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s at 8 fps: a word on screen per 2 s scene."""
    path = tmp_path_factory.mktemp("scenes") / "scenes.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=8)
        s.width, s.height, s.pix_fmt = 640, 200, "yuv420p"
        for word in SCENES:
            frame = text_frame([word])
            for _ in range(16):
                for pkt in s.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


@pytest.fixture(scope="module")
def indexed(scenes_video: Path, serve_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    videos = tmp_path_factory.mktemp("videos")
    ingest(scenes_video, videos, Backends(serve_settings))
    return videos


def _ctx(video: Path, videos: Path, settings: Settings, video_llm: str) -> Iterator[ToolContext]:
    specs = ModelSpecs(llm=settings.models.llm, video_llm=video_llm)
    backends = Backends(settings.model_copy(update={"models": specs}))
    with VideoStore.open(store_dir(videos, video)) as store:
        yield ToolContext(VideoDeps.open(video, store, backends))


def test_caption_request_sends_vllm_video_metadata_and_frame_times_come_back(server: ChatServer) -> None:
    wire = Recorder()
    llm = OpenAILLM(NAME, server.url, transport=wire)
    video = OpenAIVideoLLM(llm, VideoRequestOptions(mode="video"))
    reply = video.describe([text_frame(["EXIT 42"]), text_frame(["KITCHEN"])], [65.0, 130.0], "What is written?")
    # The server saw both frames at their real times: the metadata (frames_indices / fps) round-tripped.
    assert "[00:01:05] labels:" in reply and '"EXIT 42"' in reply.split("[00:02:10]")[0], reply
    assert '"KITCHEN"' in reply.split("[00:02:10]")[1], reply
    body = wire.bodies[0]
    documented = cassette("video_jpeg_request.json")["request"]
    assert _shape(body) == _shape(documented)
    assert body["media_io_kwargs"]["video"]["frames_indices"] == [650, 1300]
    assert body["mm_processor_kwargs"] == {"do_sample_frames": False}
    assert body["messages"][1]["content"][0]["video_url"]["url"].count(",") == 2  # prefix comma + one separator


def test_zoom_in_with_frames_through_the_server(
    server: ChatServer, scenes_video: Path, indexed: Path, serve_settings: Settings
) -> None:
    spec = f"openai:{NAME}@{server.url}?mode=frames&max_frames=4"
    for ctx in _ctx(scenes_video, indexed, serve_settings, spec):
        result = zoom_in(ctx, ZoomArgs(start=2.0, end=4.0, question="What is written on screen?"))
        assert result.model.startswith("openai:") and len(result.frame_times_s) == 16
        assert '"GARDEN"' in result.description and "KITCHEN" not in result.description, result.description
        assert "[00:00:02]" in result.description and "[00:00:03]" in result.description
        assert "zoom_in 00:00:02-00:00:04: 16 frames" in result.to_observation()


def test_zoom_in_sends_the_span_as_a_clip_file(
    server: ChatServer, scenes_video: Path, indexed: Path, serve_settings: Settings, media_root: Path
) -> None:
    spec = f"openai:{NAME}@{server.url}?mode=clip&max_frames=4&transport=file&media_dir={media_root / 'clips'}"
    for ctx in _ctx(scenes_video, indexed, serve_settings, spec):
        result = zoom_in(ctx, ZoomArgs(start=4.0, end=6.0, question="What is written on screen?"))
        assert '"OFFICE"' in result.description and "GARDEN" not in result.description, result.description
        assert "sent as a video clip" in result.to_observation()
    clips = list((media_root / "clips").glob("clip-*.mp4"))
    assert len(clips) == 1 and probe(clips[0]).duration_s == pytest.approx(2.0, abs=0.6)


def test_tool_calling_turn_and_the_follow_up(server: ChatServer) -> None:
    wire = Recorder()
    llm = OpenAILLM(NAME, server.url, transport=wire)
    question = ChatMessage(role="user", content="Find the moment where the red car appears. Use the search tool.")
    reply = llm.complete([question], GenerationOptions(tools=TOOLS, max_tokens=64))
    assert reply.finish_reason == "tool_calls" and [c.name for c in reply.tool_calls] == ["search"]
    assert "red car" in reply.tool_calls[0].arguments
    assert wire.bodies[0]["tools"] == TOOLS and wire.bodies[0]["tool_choice"] == "auto"
    call = reply.tool_calls[0]
    turn = [
        question,
        ChatMessage(role="assistant", content="", tool_calls=[
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}]),
        ChatMessage(role="tool", tool_call_id=call.id, content="[00:04:10-00:04:18] a red car parks by the door"),
        ChatMessage(role="user", content="When does the red car appear? Answer with the time, no tool."),
    ]  # fmt: skip
    follow = llm.complete(turn, GenerationOptions(max_tokens=48))
    assert "00:04:10" in follow.text  # the planner read the tool message the server rendered


def test_streamed_answer_equals_the_completed_one(server: ChatServer) -> None:
    llm = _client(server.url)
    messages = [ChatMessage(role="user", content="Name three primary colours, comma separated.")]
    options = GenerationOptions(max_tokens=24)
    deltas = list(llm.stream(messages, options))
    assert len(deltas) > 2
    assert "".join(deltas).strip() == llm.complete(messages, options).text.strip() != ""


def test_a_500_is_retried_with_backoff_then_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(np.random.default_rng(0).bytes(4096))
    settings = Settings(data_dir=tmp_path, models=ModelSpecs(llm=f"gguf:{broken}"))
    srv = ChatServer("127.0.0.1", 0, ChatService(Backends(settings), ServeOptions(served_model_names=(NAME,))))
    srv.start()
    try:
        sleeps: list[float] = []
        with pytest.raises(BackendError, match=r"answered 500.*does not look like a valid GGUF"):
            _client(srv.url, sleeps=sleeps, max_retries=2).complete(
                [ChatMessage(role="user", content="hi")], GenerationOptions(max_tokens=4)
            )
        assert len(sleeps) == 2 and sleeps[1] > sleeps[0]
    finally:
        srv.shutdown()
        srv.server_close()


def test_timeout_and_refused_connection(server: ChatServer) -> None:
    sleeps: list[float] = []
    slow = _client(server.url, sleeps=sleeps, timeout_s=0.2, max_retries=1)
    with pytest.raises(BackendError, match=r"did not answer within 0.2 s \(1 attempt\)"):
        slow.complete([ChatMessage(role="user", content="Write a long poem about rivers.")],
                      GenerationOptions(max_tokens=40))  # fmt: skip
    assert sleeps == []  # a read timeout is not re-sent: the server is still working on the first request
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps.clear()
    with pytest.raises(BackendError, match=r"Cannot reach http://127.0.0.1:\d+/v1 \(ConnectError.*4 attempts"):
        _client(f"http://127.0.0.1:{port}/v1", sleeps=sleeps).complete([ChatMessage(role="user", content="hi")],
                                                                       GenerationOptions())  # fmt: skip
    assert len(sleeps) == 3


def test_rejected_requests_name_the_flag_to_change_and_are_not_retried(server: ChatServer, tmp_path: Path) -> None:
    sleeps: list[float] = []
    llm = _client(server.url, sleeps=sleeps)
    frames = [text_frame([f"F{i}"]) for i in range(12)]
    five = OpenAIVideoLLM(llm, VideoRequestOptions(mode="frames", max_frames=5))
    with pytest.raises(BackendError, match=r"answered 400.*At most 4 image\(s\).*raise --limit-mm-per-prompt"):
        five.describe(frames[:5], [float(i) for i in range(5)], "What is written?")
    twelve = OpenAIVideoLLM(llm, VideoRequestOptions(mode="video", max_frames=12))
    with pytest.raises(BackendError, match=r"frames_indices length \(12\) must match number of frames sent \(8\).*"
                                           r"raise num_frames in `vllm serve --media-io-kwargs"):  # fmt: skip
        twelve.describe(frames, [float(i) for i in range(12)], "What is written?")
    with pytest.raises(BackendError, match=r"answered 400.*maximum context length is 4096.*raise --max-model-len"):
        llm.complete([ChatMessage(role="user", content="word " * 5000)], GenerationOptions(max_tokens=16))
    outside = tmp_path / "x.mp4"
    outside.write_bytes(b"\0")
    part = {"type": "video_url", "video_url": {"url": outside.as_uri()}}
    with pytest.raises(BackendError, match=r"must be a subpath of `--allowed-local-media-path`"):
        llm.complete([ChatMessage(role="user", content=[part])], GenerationOptions(max_tokens=4))
    other = OpenAILLM("Qwen/Qwen3-VL-8B-Instruct", server.url, sleep=sleeps.append)
    with pytest.raises(BackendError, match=r"answered 404.*does not exist.*vidscout vllm --check"):
        other.complete([ChatMessage(role="user", content="hi")], GenerationOptions(max_tokens=4))
    assert sleeps == []


def test_ingest_captions_every_clip_through_the_server(
    server: ChatServer, scenes_video: Path, serve_settings: Settings, tmp_path: Path
) -> None:
    """A served Video-LLM captions each clip at ingest (auto); the captions reach the text index; off removes them."""
    spec = f"openai:{NAME}@{server.url}?mode=video&max_frames=4"
    backends = Backends(serve_settings.model_copy(update={"models": ModelSpecs(llm=serve_settings.models.llm,
                                                                                  video_llm=spec)}))  # fmt: skip
    ingest(scenes_video, tmp_path, backends)
    with VideoStore.open(store_dir(tmp_path, scenes_video)) as store:
        clips = store.segments("clip")
        caps = db_rows(store, "SELECT start_s, end_s, text FROM captions ORDER BY start_s")
        assert len(caps) == len(clips) >= 1
        layer = store.layer("captions")
        assert layer is not None and layer.done and layer.spec.startswith("openai:")
        for a, b, text in caps:
            shown = [w for i, w in enumerate(SCENES) if 2.0 * i < b and a < 2.0 * (i + 1)]
            assert any(w in text.upper() for w in shown), (a, b, shown, text)
        visual = " ".join(r[0] for r in db_rows(store, "SELECT text FROM docs WHERE kind = 'visual'"))
        assert all(text in visual for _, _, text in caps)
    ingest(scenes_video, tmp_path, backends, options=IngestOptions(captions="off"))
    with VideoStore.open(store_dir(tmp_path, scenes_video)) as store:
        assert store.layer("captions") is None and store.count("captions") == 0
        visual = " ".join(r[0] for r in db_rows(store, "SELECT text FROM docs WHERE kind = 'visual'"))
        assert not any(text in visual for _, _, text in caps)
