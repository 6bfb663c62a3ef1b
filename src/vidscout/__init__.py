"""vidscout: answer questions about hour-long videos and direct video generation.

``vidscout.open(path)`` ingests a video (once) and returns a `Video` with ``.ask()``,
``.search()`` and ``.chapters()``; see `vidscout.api`. ``vidscout.library(name)`` is a named library of
many videos, searched and asked as one; see `vidscout.library`. Heavy modules load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Settings", "Video", "__version__", "library", "open"]

if TYPE_CHECKING:
    from vidscout.api import Video, open
    from vidscout.library import open_library as library
    from vidscout.settings import Settings


def __getattr__(name: str) -> Any:
    # Lazy: `import vidscout` (and `vidscout --help`) must not import faiss, torch or PyAV.
    if name in ("Video", "open"):
        from vidscout import api

        return getattr(api, name)
    if name == "library":
        # The module itself is callable (vidscout.library("lectures")); importing it binds the attribute.
        import importlib

        return importlib.import_module("vidscout.library")
    if name == "Settings":
        from vidscout.settings import Settings

        return Settings
    raise AttributeError(f"module 'vidscout' has no attribute {name!r}")
