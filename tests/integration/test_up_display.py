"""`warnlink up --port`: every party's node process serves its display on its own port,
over mutual TLS: a browser needs an operator certificate of that party's CA."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from warnlink.security.certs import CERTS_DIR, client_ssl_context

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


def _state(url: str, tls: ssl.SSLContext) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url + "api/state", timeout=2.0, context=tls) as response:
            state: dict[str, Any] = json.load(response)
    except (urllib.error.URLError, ConnectionError):
        return None
    return state


def _refused(url: str, tls: ssl.SSLContext) -> bool:
    try:
        with urllib.request.urlopen(url + "api/state", timeout=5.0, context=tls):
            return False
    except (urllib.error.URLError, ConnectionError, ssl.SSLError):
        return True


def test_up_serves_each_party_display_with_its_links_up(tmp_path: Path) -> None:
    base = _free_base_port()
    up = subprocess.Popen(
        [sys.executable, "-m", "warnlink", "up", "--data", str(tmp_path), "--port", str(base)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        urls = {p: f"https://127.0.0.1:{base + i}/" for i, p in enumerate(("ROK", "JPN", "USA"))}
        deadline = time.monotonic() + PATIENCE_S
        certs = tmp_path / CERTS_DIR
        for party, url in urls.items():
            while True:
                assert time.monotonic() < deadline, f"{party}'s display never showed its links up"
                tls = client_ssl_context(certs, party, "operator") if certs.exists() else None
                state = None if tls is None else _state(url, tls)
                if state and all(link["state"] == "up" for link in state["links"]):
                    break
                time.sleep(0.5)
            assert state["party"] == party
            peers = ["JPN", "ROK"] if party == "USA" else ["USA"]
            assert [link["peer"] for link in state["links"]] == peers
        # Another party's operator, and a browser with no certificate, are refused.
        jpn_operator = client_ssl_context(certs, "JPN", "operator")
        assert _refused(urls["ROK"], jpn_operator)
        anonymous = ssl.create_default_context(cafile=str(certs / "ROK" / "ca.pem"))
        anonymous.check_hostname = False
        assert _refused(urls["ROK"], anonymous)
        up.send_signal(signal.SIGINT)
        assert up.wait(PATIENCE_S) == 0
    finally:
        if up.poll() is None:
            up.terminate()
            up.wait(PATIENCE_S)
