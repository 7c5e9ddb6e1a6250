"""``dynamote playground`` as a person runs it: prints the URL, serves the page, stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from bot.cli import main

pytestmark = pytest.mark.runs_long  # the playground as a process

START_SECONDS = 90


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_it_prints_the_url_serves_the_page_and_stops_on_ctrl_c() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "playground", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        url = ""
        for line in process.stdout:  # blocks until the next line: an event, not a clock
            if "dynamote playground: open " in line:
                url = line.split("open ", 1)[1].split()[0]
                break
        assert url == f"http://127.0.0.1:{port}/"
        with urllib.request.urlopen(url, timeout=10) as page:
            assert b"/static/app.js" in page.read()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_port_out_of_range_is_refused_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["playground", "--port", "70000"]) == 2
    assert "--port 70000: give a port between 1 and 65535" in capsys.readouterr().err


def test_a_port_in_use_is_refused_with_exit_2_and_says_so() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "playground", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
            check=False,
        )
    assert result.returncode == 2
    assert f"cannot listen on port {port}" in result.stderr
