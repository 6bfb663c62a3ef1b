"""`vidscout serve` over real loopback HTTP under hostile or careless clients: half-sent requests, hang-ups,
oversized bodies, an API key, paths in errors, and concurrent media requests against the pixel budget.

Servers here bind 127.0.0.1 port 0. Those that never reach a model use the test settings' lazy backends
(nothing loads); the concurrency tests use a Video-LLM that waits on an event, so overlaps are certain.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from pydantic import SecretStr

from tests.serve.conftest import NAME
from vidscout.errors import BackendError
from vidscout.models.base import ChatMessage, GenerationOptions, Image
from vidscout.models.openai import OpenAILLM
from vidscout.models.registry import Backends
from vidscout.serve import ChatServer, ChatService, ServeOptions
from vidscout.serve.server import exposure_warning
from vidscout.serve.vllm import check_server
from vidscout.settings import Settings
from vidscout.video.clip import encode_clip

KEY = "test-key-3f9a"


def _start(service: ChatService) -> Iterator[ChatServer]:
    srv = ChatServer("127.0.0.1", 0, service)
    srv.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _root(srv: ChatServer) -> str:
    return srv.url.removesuffix("/v1")


def _address(srv: ChatServer) -> tuple[str, int]:
    host, port = srv.socket.getsockname()[:2]
    return host, port


def _until_closed(sock: socket.socket, timeout_s: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection (fails the test after ``timeout_s``)."""
    sock.settimeout(timeout_s)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    return data


def _response(sock: socket.socket, timeout_s: float = 2.0) -> bytes:
    """One whole HTTP response (head and Content-Length body) from a raw socket."""
    sock.settimeout(timeout_s)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _head(path: str, length: int | None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _mp4_url(n: int = 4) -> str:
    frames = [np.full((240, 320, 3), 30 * i, np.uint8) for i in range(n)]
    return "data:video/mp4;base64," + base64.b64encode(encode_clip(frames, 4.0)).decode()


def _video_request(url: str) -> dict[str, Any]:
    part = {"type": "video_url", "video_url": {"url": url}}
    return {"model": NAME, "messages": [{"role": "user", "content": [part, {"type": "text", "text": "What?"}]}]}


@pytest.fixture(scope="module")
def guarded(serve_settings: Settings) -> Iterator[ChatServer]:
    """Short deadlines and small bodies; no request here reaches a model."""
    options = ServeOptions(
        served_model_names=(NAME,), header_timeout_s=2.0, body_timeout_s=2.0, keep_alive_s=1,
        max_body_bytes=64 << 10, max_text_body_bytes=4096, max_body_bytes_in_flight=150 << 10,
    )  # fmt: skip
    yield from _start(ChatService(Backends(serve_settings), options))


def test_half_sent_requests_time_out_and_the_server_keeps_answering(guarded: ChatServer) -> None:
    t0 = time.monotonic()
    bodies = [socket.create_connection(_address(guarded)) for _ in range(20)]
    heads = [socket.create_connection(_address(guarded)) for _ in range(20)]
    for s in bodies:
        s.sendall(_head("/v1/chat/completions", 1000) + b'{"messages"')  # 11 of 1000 bytes, then silence
    for s in heads:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
    with httpx.Client(timeout=2.0) as client:  # 40 stalled clients hold no worker: others are answered at once
        assert client.get(f"{_root(guarded)}/health").status_code == 200
        r = client.post(f"{guarded.url}/chat/completions", json={"model": "nope", "messages": [{"role": "user"}]})
        assert r.status_code == 404 and "does not exist" in r.json()["error"]["message"]
    assert time.monotonic() - t0 < 1.5  # the stalled ones are still waiting (2 s deadlines)
    for s in bodies:
        answer = _until_closed(s)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b"did not arrive within 2 s (11 of 1000 bytes came)" in answer
    assert all(_until_closed(s) == b"" for s in heads)  # closed without an answer: no request to answer
    assert time.monotonic() - t0 < 6.0
    with httpx.Client(timeout=2.0) as client:
        assert client.get(f"{_root(guarded)}/health").status_code == 200


def test_body_limits(guarded: ChatServer) -> None:
    with socket.create_connection(_address(guarded)) as s:  # refused on the header, before any body is sent
        s.sendall(_head("/v1/chat/completions", 300 << 20))
        answer = _response(s)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"the limit is 65536" in answer
    text = {"model": NAME, "messages": [{"role": "user", "content": "word " * 1000}]}
    with httpx.Client(timeout=2.0) as client:
        r = client.post(f"{guarded.url}/chat/completions", json=text)
        assert r.status_code == 413, r.text
        assert "a request without images or videos may be at most 4096 bytes" in r.json()["error"]["message"]
        chunked = client.post(f"{guarded.url}/chat/completions", content=iter([json.dumps(text).encode()]))
        assert chunked.status_code == 411
        r = client.post(f"{guarded.url}/chat/completions/", content=b"{")  # a trailing slash is the same route
        assert r.status_code == 400 and r.json()["error"]["type"] == "BadRequestError"
        r = client.get(f"{guarded.url}/chat/completions")
        assert r.status_code == 404 and r.json()["error"]["message"].startswith("No route GET /v1/chat/completions")


def test_bodies_in_flight_share_one_budget(guarded: ChatServer) -> None:
    # Two 60 KB bodies arriving slowly hold 120 KB of the 150 KB budget: a third big one waits its turn (429),
    # a small one still passes; once the slow ones time out, the big one is read.
    slow = [socket.create_connection(_address(guarded)) for _ in range(2)]
    for s in slow:
        s.sendall(_head("/v1/chat/completions", 60_000) + b"{")
    time.sleep(0.2)
    with httpx.Client(timeout=3.0) as client:
        big = b'{"messages": []}' + b" " * 59_984
        r = client.post(f"{guarded.url}/chat/completions", content=big)
        assert r.status_code == 429 and r.headers["retry-after"] == "1", r.text
        assert "holds 120000 bytes of other requests; this one's 60000 would pass its 153600" in r.text
        assert client.post(f"{guarded.url}/chat/completions", content=b'{"messages": []}').status_code == 400
        assert all(_until_closed(s).startswith(b"HTTP/1.1 408 ") for s in slow)
        assert client.post(f"{guarded.url}/chat/completions", content=big).status_code == 400


def test_client_hang_ups_are_quiet_and_free_the_model(server: ChatServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="vidscout.serve.server")
    body = json.dumps({"model": NAME, "max_tokens": 48, "messages": [
        {"role": "user", "content": "Write a long poem about rivers."}]}).encode()  # fmt: skip
    with socket.create_connection(_address(server)) as s:  # gone halfway through the body
        s.sendall(_head("/v1/chat/completions", len(body)) + body[: len(body) // 2])
    with socket.create_connection(_address(server)) as s:  # gone while the model answers
        s.sendall(_head("/v1/chat/completions", len(body)) + body)
    with httpx.Client(timeout=60.0) as client:  # gone after the first streamed event
        streamed = {**json.loads(body), "stream": True}
        with client.stream("POST", f"{server.url}/chat/completions", json=streamed) as r:
            assert r.status_code == 200
            first = next(r.iter_lines())
            assert first.startswith("data: ")
        # Both abandoned answers released the model: a new request is answered.
        t0 = time.monotonic()
        r = client.post(f"{server.url}/chat/completions", json={"model": NAME, "max_tokens": 4, "messages": [
            {"role": "user", "content": "Say hi."}]})  # fmt: skip
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
        assert time.monotonic() - t0 < 30.0
    deadline = time.monotonic() + 5.0
    while "client went away while sending its request" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "client went away while sending its request" in caplog.text
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert not loud, [r.getMessage() for r in loud]


@pytest.fixture(scope="module")
def keyed(serve_settings: Settings) -> Iterator[ChatServer]:
    options = ServeOptions(served_model_names=(NAME, "Qwen/Qwen2.5-VL-7B-Instruct"), api_key=SecretStr(KEY))
    yield from _start(ChatService(Backends(serve_settings), options))


def test_api_key_is_required_on_v1_routes(keyed: ChatServer) -> None:
    with httpx.Client(timeout=2.0) as client:
        assert client.get(f"{_root(keyed)}/health").status_code == 200  # probes need no key (as vLLM)
        assert client.get(f"{_root(keyed)}/version").json()["server"] == "vidscout"
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}, {"X-Api-Key": KEY}):
            r = client.get(f"{keyed.url}/models", headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            assert r.json()["error"]["type"] == "AuthenticationError" and KEY not in r.text
            assert client.post(f"{keyed.url}/chat/completions", content=b"{", headers=headers).status_code == 401
        ok = {"Authorization": f"Bearer {KEY}"}
        assert client.get(f"{keyed.url}/models", headers=ok).json()["data"][0]["id"] == NAME
        assert client.post(f"{keyed.url}/chat/completions", content=b"{", headers=ok).status_code == 400
    # vidscout's own client sends Settings.api_key (VIDSCOUT_API_KEY) as the bearer token.
    settings = Settings(profile="vllm", base_url=keyed.url, api_key=KEY)
    assert check_server(settings, probe=False)[0].ok
    (refused, *_) = check_server(settings.model_copy(update={"api_key": "EMPTY"}), probe=False)
    assert not refused.ok and "answered 401" in refused.detail


def test_the_server_key_comes_from_settings_and_an_open_host_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDSCOUT_SERVE_API_KEY", "from-env")
    key = Settings().serve_api_key
    assert key is not None and key.get_secret_value() == "from-env" and "from-env" not in repr(Settings())
    open_opts = ServeOptions(served_model_names=(NAME,), allowed_local_media_path="/srv/clips")
    warning = exposure_warning("0.0.0.0", open_opts)
    assert warning and "without an API key" in warning and "--allowed-local-media-path" in warning
    assert exposure_warning("192.168.1.5", open_opts) and exposure_warning("myhost.lan", open_opts)
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert exposure_warning(host, open_opts) is None
    assert exposure_warning("0.0.0.0", open_opts.model_copy(update={"api_key": SecretStr("k")})) is None


def test_errors_over_http_name_no_server_path(server: ChatServer, media_root: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "secret.mp4"
    target.parent.mkdir()
    target.write_bytes(b"\0")
    link = media_root / "innocent.mp4"
    link.symlink_to(target)
    llm = OpenAILLM(NAME, server.url, sleep=lambda _s: None)
    try:
        for url in (link.as_uri(), "file://localhost/secret.mp4", (media_root / "gone.mp4").as_uri()):
            part = {"type": "video_url", "video_url": {"url": url}}
            with pytest.raises(BackendError, match="answered 400") as e:
                llm.complete([ChatMessage(role="user", content=[part])], GenerationOptions(max_tokens=4))
            message = str(e.value)
            assert str(tmp_path) not in message and str(media_root) not in message and str(Path.cwd()) not in message
    finally:
        link.unlink()


class _GatedVideoLLM:
    """A Video-LLM that answers only once its gate opens, counting the calls that run at once."""

    name = "gated"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Semaphore(0)
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def describe(self, frames: Sequence[Image], times_s: Sequence[float], prompt: str) -> str:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.entered.release()
        try:
            assert self.gate.wait(20.0)
            return f"{len(frames)} frames of {frames[0].shape[1]}x{frames[0].shape[0]}"
        finally:
            with self._lock:
                self.running -= 1


class _GatedModels:
    """`Models` with the gated Video-LLM; these tests send media only, so the planner is never built."""

    def __init__(self, video_llm: _GatedVideoLLM) -> None:
        self._video_llm = video_llm

    @property
    def llm(self) -> Any:
        raise AssertionError("media requests do not use the planner")

    @property
    def video_llm(self) -> _GatedVideoLLM:
        return self._video_llm

    def spec(self, role: str) -> str:
        return f"gated:{role}"


@pytest.mark.parametrize("in_flight", [1.5, 2.0])
def test_concurrent_media_share_the_pixel_budget_and_take_turns(in_flight: float) -> None:
    video_llm = _GatedVideoLLM()
    per_request = 4 * 320 * 240
    options = ServeOptions(served_model_names=(NAME,), max_request_pixels=per_request,
                           max_pixels_in_flight=int(in_flight * per_request))  # fmt: skip
    body = {**_video_request(_mp4_url(8)), "media_io_kwargs": {"video": {"num_frames": 4}}}
    for srv in _start(ChatService(_GatedModels(video_llm), options)):
        with httpx.Client(timeout=30.0) as client, ThreadPoolExecutor(2) as pool:
            url = f"{srv.url}/chat/completions"
            first: Future[httpx.Response] = pool.submit(client.post, url, json=body)
            assert video_llm.entered.acquire(timeout=20.0)  # the first holds its 4 frames inside the model
            if in_flight < 2:
                r = client.post(url, json=body)
                assert r.status_code == 429 and r.headers["retry-after"] == "1"
                assert "holds 0.3M pixels of decoded media for other requests" in r.json()["error"]["message"]
                video_llm.gate.set()
                assert first.result().json()["choices"][0]["message"]["content"] == "4 frames of 320x240"
                assert client.post(url, json=body).status_code == 200  # the budget was given back
            else:
                second = pool.submit(client.post, url, json=body)  # fits: decodes, then waits for the model
                assert not video_llm.entered.acquire(timeout=1.0)  # ... which is busy with the first
                video_llm.gate.set()
                assert first.result().status_code == 200 and second.result().status_code == 200
            assert video_llm.most_at_once == 1


def test_requests_past_the_queue_get_429() -> None:
    video_llm = _GatedVideoLLM()
    options = ServeOptions(served_model_names=(NAME,), max_waiting=0)
    for srv in _start(ChatService(_GatedModels(video_llm), options)):
        with httpx.Client(timeout=30.0) as client, ThreadPoolExecutor(1) as pool:
            url = f"{srv.url}/chat/completions"
            first = pool.submit(client.post, url, json=_video_request(_mp4_url()))
            assert video_llm.entered.acquire(timeout=20.0)
            r = client.post(url, json=_video_request(_mp4_url()))
            assert r.status_code == 429 and "1 requests are already running or waiting" in r.text
            assert client.get(f"{_root(srv)}/health").status_code == 200
            video_llm.gate.set()
            assert first.result().status_code == 200
