"""`VideoLibrary` serves files under the allowed directories only, and says nothing of where other paths lead."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidscout.errors import AccessError, ConfigError
from vidscout.library import VideoLibrary
from vidscout.settings import Settings


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    allowed, secret = tmp_path / "allowed", tmp_path / "secret"
    (allowed / "talks").mkdir(parents=True)
    secret.mkdir()
    (allowed / "a.mp4").write_bytes(b"a")
    (allowed / "talks" / "b.MKV").write_bytes(b"b")
    (allowed / "notes.txt").write_text("not a video")
    (allowed / ".hidden.mp4").write_bytes(b"h")
    (secret / "s.mp4").write_bytes(b"s")
    (allowed / "link_out.mp4").symlink_to(secret / "s.mp4")
    (allowed / "dir_out").symlink_to(secret)
    (allowed / "link_in.mp4").symlink_to(allowed / "a.mp4")
    return allowed, secret


def _library(root: Path, tmp_path: Path) -> VideoLibrary:
    return VideoLibrary([root], Settings(data_dir=tmp_path / "data"))


def test_paths_inside_resolve_absolute_or_relative(tree: tuple[Path, Path], tmp_path: Path) -> None:
    allowed, _ = tree
    lib = _library(allowed, tmp_path)
    assert lib.resolve("a.mp4") == allowed / "a.mp4"
    assert lib.resolve(str(allowed / "talks" / "b.MKV")) == allowed / "talks" / "b.MKV"
    assert lib.resolve("link_in.mp4") == allowed / "a.mp4"  # a symlink that stays inside is fine


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("../secret/s.mp4", "'..' is not allowed"),
        ("talks/../a.mp4", "'..' is not allowed"),
        ("link_out.mp4", "not under the allowed directories"),
        ("dir_out/s.mp4", "not under the allowed directories"),
        ("dir_out/none.mp4", "not under the allowed directories"),  # no oracle for what exists out there
        ("missing.mp4", "no such video file"),
        ("talks", "no such video file"),  # a directory is not a video
        ("", "Give the path"),
    ],
)
def test_everything_else_is_refused_without_showing_where_it_leads(
    tree: tuple[Path, Path], tmp_path: Path, given: str, words: str
) -> None:
    allowed, secret = tree
    with pytest.raises(AccessError, match=words) as e:
        _library(allowed, tmp_path).resolve(given)
    assert str(secret) not in str(e.value)


def test_absolute_paths_outside_are_refused(tree: tuple[Path, Path], tmp_path: Path) -> None:
    allowed, secret = tree
    with pytest.raises(AccessError, match="not under the allowed directories"):
        _library(allowed, tmp_path).resolve(secret / "s.mp4")
    with pytest.raises(AccessError, match="not under the allowed directories"):
        _library(allowed, tmp_path).resolve("/etc/passwd")


def test_listing_skips_hidden_files_non_videos_and_links_leading_out(tree: tuple[Path, Path], tmp_path: Path) -> None:
    allowed, _ = tree
    names = [v.name for v in _library(allowed, tmp_path).videos()]
    assert names == ["a.mp4", "talks/b.MKV"]  # link_in.mp4 is a.mp4 again


def test_roots_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such directory"):
        VideoLibrary([tmp_path / "nope"], Settings(data_dir=tmp_path))
    with pytest.raises(ConfigError, match="--allow"):
        VideoLibrary([], Settings(data_dir=tmp_path))
