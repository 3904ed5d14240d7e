"""The server a user starts with `make run` listens on this machine only, looks nothing up
on the internet, and keeps tracebacks (with server paths) out of the browser."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from core.config import REPO_ROOT

CONFIG = REPO_ROOT / ".streamlit" / "config.toml"


def test_config_binds_localhost_and_hides_tracebacks():
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert config["server"]["address"] == "localhost"
    assert ".venv" in config["server"]["folderWatchBlacklist"]
    assert config["client"]["showErrorDetails"] == "none"
    assert config["browser"]["gatherUsageStats"] is False


@pytest.mark.slow
def test_started_server_prints_only_a_local_url(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    streamlit = Path(sys.executable).with_name("streamlit")
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(streamlit), "run", "app.py", "--server.headless", "true"]
            + ["--server.port", str(port)],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 300  # generous: a busy machine starts slowly
        while "URL" not in log.read_text() and server.poll() is None:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        time.sleep(2)  # the URL lines are printed together
        text = log.read_text()
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert f"http://localhost:{port}" in text, text
    assert "Network URL" not in text and "External URL" not in text, text
