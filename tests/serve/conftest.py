"""One real `vidscout serve` on loopback for the whole module set: the 0.5B planner GGUF and the composite Video-LLM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from vidscout.models.registry import Backends
from vidscout.serve import ChatServer, ChatService, ServeOptions
from vidscout.settings import ModelSpecs, Settings

REPO = Path(__file__).resolve().parents[2]
CASSETTES = REPO / "tests" / "cassettes" / "vllm"
NAME = "vidscout-embedded"
PLANNER = "gguf:qwen2.5-coder-0.5b?n_ctx=4096"  # the 0.5B keeps the suite fast; `vidscout serve` defaults to the 1.5B


def cassette(name: str) -> dict[str, Any]:
    return json.loads((CASSETTES / name).read_text())


@pytest.fixture(scope="session")
def serve_settings() -> Settings:
    # The persistent weights cache the model tests use, so the GGUF is assembled once per checkout.
    return Settings(data_dir=REPO / ".cache" / "vidscout-test", models=ModelSpecs(llm=PLANNER))


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("served-media")


@pytest.fixture(scope="session")
def server(serve_settings: Settings, media_root: Path) -> Iterator[ChatServer]:
    options = ServeOptions(
        served_model_names=(NAME, "Qwen/Qwen2.5-VL-7B-Instruct"),
        limit_mm_per_prompt={"image": 4, "video": 1},
        video_num_frames=8,
        allowed_local_media_path=str(media_root),
    )
    yield from serving(ChatService(Backends(serve_settings), options))


def serving(service: ChatService) -> Iterator[ChatServer]:
    """Warm ``service``, serve it on a free loopback port for the fixture's life, then shut it down."""
    service.warm()
    srv = ChatServer("127.0.0.1", 0, service)
    srv.start()
    yield srv
    srv.shutdown()
    srv.server_close()


class Recorder(httpx.HTTPTransport):
    """A real HTTP transport that keeps each request body (JSON) it sends, to check shapes on the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.bodies.append(json.loads(request.read()))
        return super().handle_request(request)
