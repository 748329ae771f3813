"""`warnlink up --port`: every party's node process serves its display on its own port."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.nats, pytest.mark.slow]

PATIENCE_S = 60.0  # a guard against a hang, never expected to elapse


def _free_base_port(count: int = 3) -> int:
    """A port whose next `count - 1` ports are free too (checked, not reserved)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise AssertionError("no free run of ports")


def _state(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url + "api/state", timeout=2.0) as response:
            state: dict[str, Any] = json.load(response)
    except (urllib.error.URLError, ConnectionError):
        return None
    return state


def test_up_serves_each_party_display_with_its_links_up(tmp_path: Path) -> None:
    base = _free_base_port()
    up = subprocess.Popen(
        [sys.executable, "-m", "warnlink", "up", "--data", str(tmp_path), "--port", str(base)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        urls = {p: f"http://127.0.0.1:{base + i}/" for i, p in enumerate(("ROK", "JPN", "USA"))}
        deadline = time.monotonic() + PATIENCE_S
        for party, url in urls.items():
            while True:
                assert time.monotonic() < deadline, f"{party}'s display never showed its links up"
                state = _state(url)
                if state and all(link["state"] == "up" for link in state["links"]):
                    break
                time.sleep(0.5)
            assert state["party"] == party
            peers = ["JPN", "ROK"] if party == "USA" else ["USA"]
            assert [link["peer"] for link in state["links"]] == peers
        up.send_signal(signal.SIGINT)
        assert up.wait(PATIENCE_S) == 0
    finally:
        if up.poll() is None:
            up.terminate()
            up.wait(PATIENCE_S)
