"""Chunked-weight assembly: atomic, sha256-verified, cached; on temp files and on the real 0.5B GGUF."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from vidscout.errors import BackendError, ModelUnavailableError
from vidscout.models import weights as w
from vidscout.settings import Settings


def _parts(tmp_path: Path) -> tuple[list[Path], str]:
    chunks = [b"alpha" * 1000, b"beta" * 3000, b"gamma" * 7]
    paths = []
    for i, chunk in enumerate(chunks):
        p = tmp_path / f"part{i}.bin"
        p.write_bytes(chunk)
        paths.append(p)
    return paths, hashlib.sha256(b"".join(chunks)).hexdigest()


def test_assemble_file_verifies_caches_and_reports_progress(tmp_path: Path) -> None:
    parts, sha = _parts(tmp_path)
    out = tmp_path / "out" / "model.bin"
    seen: list[tuple[int, int]] = []
    assert w.assemble_file(parts, out, sha256=sha, progress=lambda d, t: seen.append((d, t))) == out
    total = sum(p.stat().st_size for p in parts)
    assert out.read_bytes() == b"".join(p.read_bytes() for p in parts)
    assert seen[-1] == (total, total) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert out.with_name("model.bin.sha256-ok").read_text().strip() == sha
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "model.bin",
        "model.bin.sha256-ok",
    ]  # no temp files

    mtime = out.stat().st_mtime_ns
    parts[0].write_bytes(b"x" * parts[0].stat().st_size)  # same sizes: only the marker can vouch now
    w.assemble_file(parts, out, sha256=sha)
    assert out.stat().st_mtime_ns == mtime  # cached: not rewritten


def test_corrupt_parts_raise_and_leave_nothing_behind(tmp_path: Path) -> None:
    parts, sha = _parts(tmp_path)
    parts[1].write_bytes(b"corrupted")
    out = tmp_path / "out" / "model.bin"
    with pytest.raises(BackendError, match="sha256"):
        w.assemble_file(parts, out, sha256=sha)
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_missing_marker_or_wrong_size_reassembles(tmp_path: Path) -> None:
    parts, sha = _parts(tmp_path)
    out = tmp_path / "model.bin"
    out.write_bytes(b"stale")
    w.assemble_file(parts, out, sha256=sha)
    assert w.is_assembled(out, size=out.stat().st_size, sha256=sha)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == sha


def test_missing_packages_name_the_pip_command() -> None:
    fake = w.ChunkedWeights(
        key="fake",
        relpath="fake.bin",
        parts=(w.PartRef("vidscout_no_such_pkg_a", "no-such-pkg-a==1.0"), w.PartRef("json", "json")),
        sha256="0" * 64,
        size=1,
    )
    assert w.missing_distributions(fake) == ["no-such-pkg-a==1.0"]
    with pytest.raises(ModelUnavailableError, match=r"pip install no-such-pkg-a==1\.0"):
        w.assemble(fake, Path("/nonexistent"))


def test_real_qwen_05b_assembles_to_the_published_sha(models_settings: Settings) -> None:
    # First run concatenates 491 MB (~2 s) and hashes it; later runs hit the verified cache.
    path = w.assemble(w.QWEN_05B, models_settings.weights_dir)
    assert path.stat().st_size == w.QWEN_05B.size
    assert w.is_assembled(path, size=w.QWEN_05B.size, sha256=w.QWEN_05B.sha256)
    with path.open("rb") as f:
        assert f.read(4) == b"GGUF"
    assert w.sha256_file(path) == w.QWEN_05B.sha256  # re-hash for real, not just trust the marker
