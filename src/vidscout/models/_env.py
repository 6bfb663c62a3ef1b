"""Process-wide knobs the native runtimes read at import time; set them before importing torch & co."""

from __future__ import annotations

import os

from vidscout.errors import ModelUnavailableError


def prepare_runtime(*, offline: bool = True) -> None:
    """Set environment defaults for torch / onnxruntime / llama.cpp (user-set values win).

    ``OMP_WAIT_POLICY=PASSIVE`` stops OpenMP worker threads spin-waiting: on a busy 2-core machine
    spinning made a 0.5B planner call 17x slower. ``offline`` forbids Hugging Face hub access for
    backends whose weights ship in packages.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if offline:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def set_torch_threads(threads: int) -> None:
    """Cap torch's intra-op pool at ``threads`` (process-wide)."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def hub_hint() -> str:
    """Advice to append to a failed hub load when the process runs offline."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False"):
        return (
            " HF_HUB_OFFLINE is set (vidscout defaults it on for packaged models); "
            "export HF_HUB_OFFLINE=0 to allow downloads."
        )
    return ""


def missing_package(what: str, pip: str) -> ModelUnavailableError:
    """The error to raise (``from`` the ImportError) when an optional backend package is absent."""
    return ModelUnavailableError(f"{what} is not installed here. Run: pip install {pip}")
