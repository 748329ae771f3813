"""`warnlink demo --serve` as a user runs it: one URL per party, serving until a signal;
with `--cot-port`, each party's picture as Cursor-on-Target over TCP too."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest


def _first_cot_event(url: str) -> bytes:
    """The first CoT event a TAK client connected to `url` (tcp://host:port) receives."""
    host, _, port = url.removeprefix("tcp://").rpartition(":")
    received = b""
    with socket.create_connection((host, int(port)), timeout=60) as client:
        while b"</event>" not in received:
            chunk = client.recv(65536)
            assert chunk, "the CoT feed closed before sending an event"
            received += chunk
    first = received.split(b"</event>")[0] + b"</event>"
    assert b'uid="warnlink.JPN.' in first
    return first


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_demo_serve_prints_urls_serves_and_ends_cleanly_on_a_signal(signum: int) -> None:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "warnlink", "demo", "--serve", "--port", "0"),
            *("--speed", "50", "--cot-port", "0"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        urls = {}
        for _ in range(6):
            name, _, url = process.stdout.readline().strip().partition(": ")
            urls[name] = url
        assert set(urls) == {
            f"{p} {what}" for p in ("ROK", "JPN", "USA") for what in ("display", "cot")
        }
        urls = {name.removesuffix(" display"): url for name, url in urls.items()}
        assert _first_cot_event(urls["JPN cot"]).startswith(b"<?xml version=")
        with urllib.request.urlopen(urls["JPN"] + "api/state", timeout=60) as response:
            state = json.load(response)
        assert state["party"] == "JPN"
        process.send_signal(signum)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
