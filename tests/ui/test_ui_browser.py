"""``vidscout ui`` in headless Chromium: open a real video, ask, check the evidence thumbnails and the seek.

The system's Chromium and chromedriver (Debian ``chromium``, ``chromium-driver``); loopback only, and the page
must request nothing but the app's own URLs. Set VIDSCOUT_UI_SCREENSHOT=path to keep the screenshot.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, serving
from vidscout.media import samples

webdriver = pytest.importorskip("selenium.webdriver")

from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver")

QUESTION = "What if he had married a more amiable woman?"  # said at 22.4-28.4 s, in the clip from 17.875 s


@pytest.fixture
def app_url(media_cache: Path, tmp_path: Path) -> Iterator[str]:
    clip, _ = samples.speech_video(samples.vtest(media_cache), samples.librivox_clips(),
                                   media_cache / "speech_vtest_all.mp4")  # fmt: skip
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(clip, videos / "talk.mp4")
    port = free_port()
    with serving(["ui", "--allow", str(videos), "--data-dir", str(tmp_path / "data"), "--port", str(port)], port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--mute-audio",
                "--window-size=1440,1100", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _requested_urls(driver: WebDriver) -> list[str]:
    urls: list[str] = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _loaded(driver: WebDriver, selector: str) -> bool:
    return bool(driver.execute_script(
        "const imgs = [...document.querySelectorAll(arguments[0])];"
        "return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0);", selector))  # fmt: skip


def test_ask_in_the_browser_shows_evidence_and_seeks(app_url: str, browser: WebDriver, tmp_path: Path) -> None:
    wait = WebDriverWait(browser, 180)
    browser.get(app_url)
    wait.until(lambda d: any("talk.mp4" in o.text for o in Select(d.find_element(By.ID, "video-select")).options))
    Select(browser.find_element(By.ID, "video-select")).select_by_visible_text("videos/talk.mp4")
    browser.find_element(By.ID, "open-btn").click()

    wait.until(lambda d: d.find_element(By.ID, "ask-btn").is_enabled())  # ingested (first time: ~20 s)
    layers = {e.get_attribute("data-layer") for e in browser.find_elements(By.CSS_SELECTOR, "#progress .layer")}
    assert {"scan", "speech"} <= layers, layers
    wait.until(lambda d: _loaded(d, "#chapters .thumbs img"))
    assert browser.execute_script("return document.getElementById('player').error") is None

    browser.find_element(By.ID, "question").send_keys(QUESTION)
    Select(browser.find_element(By.ID, "strategy")).select_by_value("retrieval")
    browser.find_element(By.ID, "ask-btn").click()
    wait.until(lambda d: d.find_element(By.ID, "answer-card").is_displayed())
    assert "amiable" in browser.find_element(By.ID, "answer").text
    assert browser.find_elements(By.CSS_SELECTOR, "#steps li[data-type=tool_call]")  # the steps streamed in
    assert "strategy: retrieval" in browser.find_element(By.ID, "provenance").text
    wait.until(lambda d: _loaded(d, "#evidence img"))

    wait.until(lambda d: d.execute_script("return document.getElementById('player').readyState") >= 1)
    seek = browser.find_element(By.CSS_SELECTOR, "#evidence button.seek")
    target = float(seek.get_attribute("data-t") or "nan")
    assert target > 10, target  # a timestamp worth seeking to
    seek.click()
    wait.until(lambda d: abs(d.execute_script("return document.getElementById('player').currentTime") - target) < 0.1)

    shot = Path(os.environ.get("VIDSCOUT_UI_SCREENSHOT") or tmp_path / "ui.png")
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000

    foreign = [u for u in _requested_urls(browser) if not u.startswith((app_url, "data:", "blob:"))]
    assert not foreign, foreign  # nothing from a CDN, fonts or analytics
