from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from vidscout.cli.app import app
from vidscout.cli.render import search_hits, store_info
from vidscout.retrieval.search import Hit
from vidscout.types import TimeSpan


def _info() -> dict[str, object]:
    return {
        "store": "/data/videos/abc",
        "source_path": "/videos/talk.mp4",
        "video": {"duration_s": 3725.0, "width": 1280, "height": 720, "fps": 25.0, "audio_codec": "aac"},
        "complete": True,
        "indexes": {"frames": 1862, "text": 410},
        "layers": [
            {"name": "scan", "spec": "pyav", "done": True, "progress": 1.0, "seconds": 250.5,
             "stats": {"cuts": 88}},
            {"name": "speech", "spec": "faster-whisper:tiny.en", "done": False, "progress": 0.4,
             "seconds": 80.0, "stats": {}},
        ],
        "chapters": [{"index": 0, "start_s": 0.0, "end_s": 3725.0, "parent": None}],
        "shots": [
            {"index": i, "start_s": 10.0 * i, "end_s": 10.0 * (i + 1), "parent": 0} for i in range(5)
        ],
        "clips": [],
        "keyframes": 1862,
        "speech": {"coverage": 0.5, "seconds": 1862.0, "segments": [
            {"start_s": 3661.2, "end_s": 3664.0, "text": "open the red door", "words": []}]},
        "ocr": [{"t_s": 75.0, "text": "EXIT 42", "score": 0.98}],
    }  # fmt: skip


def test_store_info_renders_times_as_hms_and_truncates_long_tables() -> None:
    buf = StringIO()
    store_info(Console(file=buf, width=100, color_system=None), _info(), max_rows=3)
    text = buf.getvalue()
    assert "/videos/talk.mp4  01:02:05  1280x720 @ 25.00 fps  audio: aac" in text
    assert "Shots (5)" in text and "…" in text  # 5 shots, 3 rows shown
    assert "00:00:30" in text and "00:00:40" not in text.split("Speech")[0].split("Shots")[1]
    assert "01:01:01-01:01:04  open the red door" in text
    assert "00:01:15  EXIT 42" in text
    assert "40%" in text  # the unfinished layer shows its progress


def test_models_json_lists_every_role_of_both_profiles(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["models", "--json", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["profile"] for r in rows} == {"embedded", "vllm"}
    embedded = {r["role"]: r for r in rows if r["profile"] == "embedded"}
    assert set(embedded) == {
        "asr",
        "ocr",
        "tagger",
        "image_text",
        "text",
        "llm",
        "video_llm",
        "speaker",
        "image",
        "facts",
    }
    for role in ("asr", "ocr", "tagger", "image_text", "text", "speaker", "image", "facts"):
        assert embedded[role]["available"], embedded[role]
    vllm_llm = next(r for r in rows if r["profile"] == "vllm" and r["role"] == "llm")
    assert "{base_url}" not in vllm_llm["spec"] and "@http://" in vllm_llm["spec"]


def test_unknown_profile_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["models", "--profile", "cloud", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "profile" in result.output


def test_search_hits_list_each_hit_s_other_words_under_it() -> None:
    sign = Hit(source="bm25", kind="ocr", span=TimeSpan(start_s=220.0, end_s=235.0), doc_id=2, score=7.6,
               text="Call 313-4057", at=TimeSpan(start_s=228.0, end_s=230.0))  # fmt: skip
    tags = Hit(source="fused", kind="visual", span=TimeSpan(start_s=227.9, end_s=235.0), doc_id=1, score=0.11,
               text="website, menu | text on screen", others=(sign,))  # fmt: skip
    buf = StringIO()
    search_hits(Console(file=buf, width=160), [tags])
    rows = [line for line in buf.getvalue().splitlines() if "│" in line]  # the header is drawn with ┃
    assert "website, menu" in rows[0] and "00:03:47" in rows[0], buf.getvalue()
    assert "also ocr" in rows[1] and "Call 313-4057" in rows[1] and "00:03:48" in rows[1], buf.getvalue()
