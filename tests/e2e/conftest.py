"""Fixtures for the real-browser tests: `streamlit run app.py` on a free loopback port,
driven by Debian's Chromium through Playwright.

Needs `/usr/bin/chromium` (`make test-deps` installs it). Without it the tests are skipped,
except under CI (env CI set), where a missing browser is a failure. The server uses the
configured data cache and `trained_models/`, as a user's `make run` does.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from core.config import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",  # software WebGL, so the 3D viewer draws headless
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
START_TIMEOUT_S = 60
RENDER_TIMEOUT_MS = 60_000
# Tall enough for the whole home page: stMain scrolls inside a fixed-height view, so a
# full_page screenshot would still capture one viewport's worth.
VIEWPORT = {"width": 1400, "height": 2000}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    pytest.fail(f"streamlit did not answer within {START_TIMEOUT_S} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: run `make test-deps` (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A streamlit server on a free loopback port (one per test module); killed after."""
    tmp = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    streamlit = Path(sys.executable).with_name("streamlit")
    command = [
        str(streamlit) if streamlit.exists() else shutil.which("streamlit") or "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    env = dict(os.environ)
    log = tmp / "streamlit.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def page(chromium: Path, server_url: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            external: list[str] = []  # the studio works offline: nothing may leave loopback

            def guard(route) -> None:
                host = urlsplit(route.request.url).hostname or ""
                if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
                    route.continue_()
                else:
                    external.append(route.request.url)
                    route.abort()

            context.route("**/*", guard)
            page = context.new_page()
            page.external_requests = external  # read by tests/e2e/test_offline.py
            page.goto(server_url, wait_until="domcontentloaded")
            yield page
        finally:
            browser.close()


def wait_until_drawn(page) -> None:
    """Wait until the script run is over and lazily loaded elements have replaced their
    placeholders (stSkeleton: grey boxes, e.g. until a table's grid code has loaded)."""
    from playwright.sync_api import expect

    for placeholder in (
        "stAppSkeleton",
        "stSkeleton",
        "stSkeletonElement",
        "stStatusWidgetRunningIcon",
    ):
        expect(page.get_by_test_id(placeholder)).to_have_count(0, timeout=RENDER_TIMEOUT_MS)
    tables = page.get_by_test_id("stMain").get_by_test_id("stDataFrame")
    for i in range(tables.count()):
        if not tables.nth(i).is_visible():  # e.g. inside a collapsed expander: never drawn
            continue
        expect(tables.nth(i).get_by_test_id("glide-cell-0-0")).to_be_attached(
            timeout=RENDER_TIMEOUT_MS
        )


@pytest.fixture
def drawn():
    """The function that waits until a page is fully drawn (no skeletons, tables filled)."""
    return wait_until_drawn
