"""Pure parts, no model: vLLM request/response shapes (tests/cassettes/vllm), error hints, `vllm serve` lines,
and how `vidscout serve` reads media parts. Literal inputs, literal expectations."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from tests.serve.conftest import cassette
from vidscout.cli.app import app
from vidscout.errors import ConfigError, MediaError
from vidscout.models.base import ChatMessage, GenerationOptions
from vidscout.models.openai import OpenAILLM, rejection_hint, server_message
from vidscout.models.openai_video import OpenAIVideoLLM, VideoRequestOptions, spread
from vidscout.models.registry import make_video_llm
from vidscout.serve.media import MediaLimits, load_image, load_video
from vidscout.serve.protocol import ChatRequest
from vidscout.serve.vllm import parse_version, serve_plans, tool_parser
from vidscout.settings import ModelSpecs, Settings
from vidscout.video.clip import decode_clip, encode_clip


def _jpeg(value: int) -> str:
    ok, buf = cv2.imencode(".jpg", np.full((32, 48, 3), value, np.uint8))
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


def _fill(value: Any, payload: str) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, payload) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [_fill(v, payload) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value.replace("<JPEG>", payload) if isinstance(value, str) else value


@pytest.mark.parametrize("name", ["video_jpeg_request.json", "image_request.json", "video_url_request.json"])
def test_documented_requests_validate_as_chat_requests(name: str) -> None:
    req = ChatRequest.model_validate(_fill(cassette(name)["request"], _jpeg(100)))
    assert req.has_media() and req.messages[-1].role == "user"


def test_documented_jpeg_sequence_gives_frames_at_their_indices_over_fps() -> None:
    body = _fill(cassette("video_jpeg_request.json")["request"], _jpeg(100))
    url = body["messages"][1]["content"][0]["video_url"]["url"]
    frames, times = load_video(url, body["media_io_kwargs"]["video"], MediaLimits(num_frames=32))
    assert len(frames) == 2 and frames[0].shape == (32, 48, 3) and times == [65.0, 130.0]


def test_server_ceiling_truncates_frames_and_the_metadata_check_says_so() -> None:
    url = "data:video/jpeg;base64," + ",".join(_jpeg(v) for v in (10, 20, 30))
    meta = {"num_frames": 3, "fps": 2.0, "frames_indices": [0, 2, 4]}
    with pytest.raises(MediaError, match=r"frames_indices length \(3\) must match number of frames sent \(2\)"):
        load_video(url, meta, MediaLimits(num_frames=2))
    with pytest.raises(MediaError, match="total_num_frames \\(1\\) must be >= number of frames sent \\(3\\)"):
        load_video(url, {**meta, "total_num_frames": 1}, MediaLimits())
    frames, times = load_video(url, {"num_frames": -1}, MediaLimits(num_frames=0))
    assert times == [0.0, 1.0, 2.0] and len(frames) == 3  # no metadata: indices 0..n-1 at fps 1


def test_media_urls_that_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="does not fetch https:// media"):
        load_image("https://example.com/a.jpg", MediaLimits())
    with pytest.raises(MediaError, match="Cannot load local files without `--allowed-local-media-path`"):
        load_image((tmp_path / "a.jpg").as_uri(), MediaLimits())
    with pytest.raises(MediaError, match="not valid base64"):
        load_image("data:image/jpeg;base64,@@@", MediaLimits())
    with pytest.raises(MediaError, match="does not decode as an image"):
        load_image("data:image/png;base64," + base64.b64encode(b"nope").decode(), MediaLimits())
    with pytest.raises(MediaError, match="num_frames must be greater than 0 or -1"):
        load_video("data:video/mp4;base64,AAAA", {"num_frames": 0}, MediaLimits())


def test_file_urls_never_echo_a_server_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, secret = tmp_path / "media", tmp_path / "private"
    root.mkdir()
    secret.mkdir()
    (secret / "keys.mp4").write_bytes(b"\0")
    (root / "link.mp4").symlink_to(secret / "keys.mp4")  # a symlink out of the allowed directory
    (root / "sub").mkdir()
    monkeypatch.chdir(secret)
    limits = MediaLimits(allowed_local_media_path=root)
    urls = [
        (root / "link.mp4").as_uri(),
        "file://localhost/etc/passwd",
        (root / "sub" / ".." / ".." / "private" / "keys.mp4").as_uri(),
        "file://localhost/keys.mp4",
        (root / "missing.mp4").as_uri(),
        (root / "sub").as_uri(),
    ]
    messages = []
    for url in urls:
        with pytest.raises(MediaError) as e:
            load_video(url, {}, limits)
        messages.append(str(e.value))
    assert (
        messages[:4]
        == [
            "The file is outside the allowed directory: a file:// path must be a subpath of "
            "`--allowed-local-media-path` (after following symlinks)."
        ]
        * 4
    )
    assert messages[4:] == [
        "Cannot read the file under `--allowed-local-media-path`: no such file or directory.",
        "Cannot read the file under `--allowed-local-media-path`: is a directory.",
    ]
    assert not any(str(tmp_path) in m or "/etc" in m for m in messages)
    with pytest.raises(MediaError, match="must name a path on the server itself"):
        load_image("file://otherhost/share/a.jpg", limits)


def test_clip_round_trip_samples_like_vllm() -> None:
    frames = [np.full((64, 96, 3), 20 * i, np.uint8) for i in range(8)]
    data = encode_clip(frames, 4.0)
    got, times = decode_clip(data, num_frames=3)
    assert times == [0.0, 1.0, 1.75] and [round(f.mean() / 20) for f in got] == [0, 4, 7]
    _, by_rate = decode_clip(data, num_frames=-1, fps=2.0)
    assert by_rate == [0.0, 0.5, 1.0, 1.5]


def _sent(options: VideoRequestOptions, n: int) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=cassette("tool_call_response.json")["response"])

    llm = OpenAILLM("m", "http://gpu/v1", transport=httpx.MockTransport(handler))
    frames = [np.full((720, 1280, 3), 10 * i, np.uint8) for i in range(n)]
    OpenAIVideoLLM(llm, options).describe(frames, [0.5 * i for i in range(n)], "What happens?")
    return bodies


def test_video_mode_budget_pixels_and_uuids_are_stable() -> None:
    body = _sent(VideoRequestOptions(max_frames=4, max_pixels=224 * 224), 10)[0]
    video = body["media_io_kwargs"]["video"]
    assert video == {"num_frames": 4, "fps": 10.0, "frames_indices": [0, 15, 30, 45], "total_num_frames": 46,
                     "duration": 4.6}  # fmt: skip
    part = body["messages"][1]["content"][0]
    first = base64.b64decode(part["video_url"]["url"].split(",")[1])
    decoded = cv2.imdecode(np.frombuffer(first, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    h, w = decoded.shape[:2]
    assert h * w <= 224 * 224 and abs(w / h - 16 / 9) < 0.05
    again = _sent(VideoRequestOptions(max_frames=4, max_pixels=224 * 224), 10)[0]["messages"][1]["content"][0]
    assert part["uuid"] == again["uuid"] and len(part["uuid"]) == 32  # same frames -> same cache key
    assert spread(10, 4) == [0, 3, 6, 9] and spread(3, 8) == [0, 1, 2] and spread(5, 1) == [2]


def test_client_reads_a_documented_tool_call_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=cassette("tool_call_response.json")["response"])

    llm = OpenAILLM("m", "http://gpu/v1", transport=httpx.MockTransport(handler))
    reply = llm.complete([ChatMessage(role="user", content="find the car")], GenerationOptions())
    assert reply.finish_reason == "tool_calls" and reply.tool_calls[0].name == "search"
    assert reply.tool_calls[0].arguments == '{"query": "red car"}' and reply.prompt_tokens == 211


@pytest.mark.parametrize("case", cassette("errors.json")["errors"])
def test_every_documented_rejection_names_what_to_change(case: dict[str, Any]) -> None:
    message = server_message(json.dumps(case["body"]))
    assert message and "{" not in message[:1]
    assert case["flag"] in rejection_hint(case["status"], message)


def test_vllm_serve_lines_for_the_vllm_profile(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, profile="vllm", base_url="http://gpu:8000/v1")
    (plan,) = serve_plans(settings)
    assert plan.command() == (
        "vllm serve Qwen/Qwen2.5-VL-7B-Instruct --host 0.0.0.0 --port 8000 --max-model-len 32768 "
        '--limit-mm-per-prompt \'{"image": 16, "video": 1}\' --media-io-kwargs \'{"video": {"num_frames": 16}}\' '
        "--enable-auto-tool-choice --tool-call-parser hermes"
    )
    split = settings.model_copy(update={"models": ModelSpecs(
        llm="openai:Qwen/Qwen3-8B@http://gpu:8001/v1",
        video_llm="openai:Qwen/Qwen3-VL-8B-Instruct@http://gpu:8000/v1?max_frames=32&mode=clip&transport=file"
                  "&media_dir=/srv/clips")})  # fmt: skip
    planner, video = serve_plans(split, max_model_len=65536)
    assert planner.roles == ("llm",) and "--limit-mm-per-prompt" not in planner.argv
    assert planner.argv[-2:] == ("--tool-call-parser", "hermes") and "0.45" in planner.argv
    assert video.roles == ("video_llm",) and "--enable-auto-tool-choice" not in video.argv
    assert '{"video": {"num_frames": 32}}' in video.argv and video.argv[-2:] == (
        "--allowed-local-media-path", "/srv/clips")  # fmt: skip
    with pytest.raises(ConfigError, match="No role uses an OpenAI-compatible server"):
        serve_plans(Settings(data_dir=tmp_path))
    with pytest.raises(ConfigError, match="pass --tool-call-parser"):
        tool_parser("google/gemma-3-27b-it")
    assert parse_version("0.30.1") == (0, 30) and parse_version("v0.31.0rc1+cu128") == (0, 31)
    assert parse_version("dev") is None


def test_cli_vllm_prints_the_line_and_bad_specs_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDSCOUT_DATA_DIR", str(tmp_path))
    r = CliRunner().invoke(app, ["vllm", "--base-url", "http://gpu:9000/v1", "--local-media", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "vllm serve Qwen/Qwen2.5-VL-7B-Instruct --host 0.0.0.0 --port 9000" in r.output
    assert f"--allowed-local-media-path {tmp_path.resolve()}" in r.output
    r = CliRunner().invoke(app, ["vllm", "--check", "--base-url", "http://127.0.0.1:9/v1", "--json"])
    (check,) = json.loads(r.output)
    assert r.exit_code == 1 and not check["ok"] and check["detail"].startswith("Cannot reach http://127.0.0.1:9/v1/")
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ConfigError, match="Bad video_llm spec option 'mode'"):
        make_video_llm("openai:m@http://gpu/v1?mode=movie", settings)
    with pytest.raises(ConfigError, match=r"Unknown video_llm spec option\(s\) fps; valid: clip_fps"):
        make_video_llm("openai:m@http://gpu/v1?fps=2", settings)
