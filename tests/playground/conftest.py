"""The playground running in a thread, and a headless Chromium driven by Selenium.

The browser tests need Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them) and ``selenium`` (the dev extra); without them they skip and say which is missing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.playground.run import run_playground

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
# Without the background-networking flags Chromium tries to reach Google at start, which a
# closed network refuses; nothing the tests load leaves 127.0.0.1.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,900",
)


@dataclass
class RunningPlayground:
    url: str
    stop: threading.Event
    thread: threading.Thread
    codes: list[int]


@pytest.fixture(scope="module")
def playground() -> Iterator[RunningPlayground]:
    """``dynamote playground --port 0`` in a thread; deployments get ready after 1 s."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DYNAMOTE_SIM_READY_AFTER", "1")
        stop, urls, codes = threading.Event(), [], []
        started = threading.Event()

        def run() -> None:
            try:
                codes.append(run_playground(port=0, stop=stop, out=urls, started=started))
            finally:
                started.set()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        assert started.wait(90), "the playground did not start within 90 s"
        assert urls, f"the playground stopped before serving (exit {codes})"
        yield RunningPlayground(urls[0], stop, thread, codes)
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the playground did not stop"


def _browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401, PLC0415
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    if not any(shutil.which(name) for name in CHROMIUM):
        return "no chromium on PATH (apt-get install chromium chromium-driver)"
    if not shutil.which("chromedriver"):
        return "no chromedriver on PATH (apt-get install chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _browser_missing()
    if missing:
        pytest.skip(f"browser tests need a headless Chromium: {missing}")
    from selenium import webdriver  # noqa: PLC0415
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    profile = tempfile.mkdtemp(prefix="dynamote-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = next(shutil.which(n) for n in CHROMIUM if shutil.which(n)) or ""
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests save their screenshots: DYNAMOTE_SCREENSHOTS when set (the
    README's are made with ``DYNAMOTE_SCREENSHOTS=docs/screenshots``), else a temporary
    folder, so that a test run leaves the work tree as it was."""
    chosen = os.environ.get("DYNAMOTE_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
