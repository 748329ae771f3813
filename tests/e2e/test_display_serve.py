"""`warnlink demo --serve` as a user runs it: one URL per party, serving until a signal."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

import pytest


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_demo_serve_prints_urls_serves_and_ends_cleanly_on_a_signal(signum: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "warnlink", "demo", "--serve", "--port", "0", "--speed", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        urls = {}
        for _ in range(3):
            party, _, url = process.stdout.readline().strip().partition(" display: ")
            urls[party] = url
        assert set(urls) == {"ROK", "JPN", "USA"}
        with urllib.request.urlopen(urls["JPN"] + "api/state", timeout=60) as response:
            state = json.load(response)
        assert state["party"] == "JPN"
        process.send_signal(signum)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
