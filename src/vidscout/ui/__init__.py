"""vidscout as a local web app (``vidscout ui``): pick or upload a video, browse its chapters, ask and see the evidence.

A Starlette app and one static page (``pip install 'vidscout[ui]'``); answers come from the Python API alone.
"""

from __future__ import annotations

from vidscout.ui.app import UIOptions, build_app

__all__ = ["UIOptions", "build_app"]
