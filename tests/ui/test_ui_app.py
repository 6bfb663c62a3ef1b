"""The web app's HTTP surface in-process: listing, uploads, refusals (paths, hosts, other sites), media ranges."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from vidscout.library import VideoLibrary
from vidscout.settings import Settings
from vidscout.ui import build_app


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    videos, uploads = tmp_path / "videos", tmp_path / "uploads"
    videos.mkdir()
    uploads.mkdir()
    (videos / "a.mp4").write_bytes(bytes(range(256)) * 4)
    library = VideoLibrary([videos, uploads], Settings(data_dir=tmp_path / "data"))
    return TestClient(build_app(library, uploads), base_url="http://127.0.0.1:7860")


def test_lists_videos_and_serves_byte_ranges(client: TestClient, tmp_path: Path) -> None:
    listed = client.get("/api/videos").json()
    assert [v["name"] for v in listed["videos"]] == ["videos/a.mp4"]
    part = client.get("/media", params={"video": listed["videos"][0]["video"]}, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == bytes(range(10, 20))
    assert client.get("/").text.startswith("<!doctype html>")
    assert "seek" in client.get("/static/app.js").text


def test_uploads_keep_only_a_safe_file_name(client: TestClient, tmp_path: Path) -> None:
    saved = client.post("/api/upload", params={"name": "../../etc/clip one.MP4"}, content=b"data").json()
    assert saved["video"] == str((tmp_path / "uploads" / "clip one.MP4").resolve())
    again = client.post("/api/upload", params={"name": "clip one.MP4"}, content=b"data").json()
    assert again["name"] == "uploads/clip one-1.MP4"
    refused = client.post("/api/upload", params={"name": "run.sh"}, content=b"#!/bin/sh")
    assert refused.status_code == 400 and "Upload a video file" in refused.json()["error"]


def test_refuses_paths_outside_other_hosts_and_other_sites(client: TestClient) -> None:
    outside = client.get("/media", params={"video": "/etc/passwd"})
    assert outside.status_code == 403 and "not under the allowed directories" in outside.json()["error"]
    assert client.get("/frame", params={"video": "a.mp4", "t": "1"}).status_code == 404  # not opened yet
    assert client.get("/api/videos", headers={"Host": "attacker.example"}).status_code == 400  # DNS rebinding
    posted = client.post("/api/open", json={"video": "a.mp4"}, headers={"Origin": "http://attacker.example"})
    assert posted.status_code == 403


def test_a_failed_open_streams_an_error_event(client: TestClient) -> None:
    reply = client.post("/api/open", json={"video": "../a.mp4"}, headers={"Origin": "http://127.0.0.1:7860"})
    assert reply.status_code == 200
    event = reply.json()
    assert event["type"] == "error" and "'..' is not allowed in video paths" in event["message"]
